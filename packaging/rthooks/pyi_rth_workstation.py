"""Runtime hook of the packaged workstation (runs before the application imports).

* Qt: VisPy and pyqtgraph use PySide6.
* CuPy (cuda flavor): the CUDA libraries and headers of the NVIDIA wheels live in
  ``_internal/nvidia``.  ``CUDA_PATH`` points CuPy (through cuda-pathfinder) at
  ``nvidia/cu13`` for libraries and kernel headers, and compiled kernels are cached in
  the user's cache folder: CuPy's instead of ``~/.cupy``, the driver's PTX JIT cache
  (``CUDA_CACHE_PATH``) instead of ``~/.nv/ComputeCache``.
* ONNX Runtime (cuda flavor): its CUDA provider library has no run-time search path,
  so when an NVIDIA driver is present the CUDA and cuDNN libraries are loaded here,
  globally, before ONNX Runtime needs them.  Without a driver nothing is loaded and the
  application runs on the CPU.
"""

import ctypes
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")


def _cache_home() -> Path:
    value = os.environ.get("XDG_CACHE_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".cache"


def _setup_cuda(nvidia: Path) -> None:
    cu13 = nvidia / "cu13"
    if "CUDA_PATH" in os.environ:
        os.environ["WORKSTATION_HOST_CUDA_PATH"] = os.environ["CUDA_PATH"]
    os.environ["CUDA_PATH"] = str(cu13)
    os.environ.pop("CUDA_HOME", None)
    os.environ.setdefault("CUPY_CACHE_DIR", str(_cache_home() / "workstation" / "cupy"))
    os.environ.setdefault("CUDA_CACHE_PATH", str(_cache_home() / "workstation" / "nv-compute"))
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return  # no NVIDIA driver: CPU only, nothing to load
    order = ("libcudart.so.*", "libnvrtc.so.*", "libnvJitLink.so.*", "libcublasLt.so.*", "libcublas.so.*",
             "libcurand.so.*", "libcufft.so.*", "libcusparse.so.*", "libcusolver.so.*")
    for pattern in order:
        for lib in sorted((cu13 / "lib").glob(pattern)):
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
    for lib in sorted((nvidia / "cudnn" / "lib").glob("libcudnn*.so.*")):
        try:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
        except OSError:
            pass


_bundle = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
if (_bundle / "nvidia" / "cu13").is_dir():
    _setup_cuda(_bundle / "nvidia")
