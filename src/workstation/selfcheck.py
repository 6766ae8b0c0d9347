"""``workstation --self-check``: check offline that this installation can do its work.

Decodes JPEG 2000, RLE and JPEG-lossless DICOM samples through the pylibjpeg plugins
and compares them with the uncompressed pixels, verifies the shipped models (checksum
and tensors through ONNX Runtime), reads the MESA reference, looks for the Qt platform
plugins and VisPy shaders, builds a PDF, names the compute device and the CUDA
libraries found, checks that the user's folders (settings, data, cache, logs, demo) can
be written and, in a packaged build, that no library searches for libraries outside the
application folder.  Prints one line per check; exit status 0 when all passed.  A
missing GPU is reported, not a failure.
"""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path
from typing import Callable

log = logging.getLogger("workstation.selfcheck")
Check = Callable[[], str]
DECODE_CASES = (  # (compressed sample, uncompressed reference, what)
    ("MR_small_jp2klossless.dcm", "MR_small.dcm", "JPEG 2000 lossless (openjpeg)"),
    ("MR_small_RLE.dcm", "MR_small.dcm", "RLE lossless (pylibjpeg-rle)"),
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm", "JPEG lossless SV1 (libjpeg)"),
)


def check_dicom_decoders() -> str:
    import numpy as np
    import pydicom
    from pydicom.pixels import pixel_array
    from pylibjpeg.utils import get_pixel_data_decoders

    folder = Path(pydicom.data.__file__).parent / "test_files"
    decoders = get_pixel_data_decoders()
    done = []
    for sample, reference, what in DECODE_CASES:
        got = pixel_array(str(folder / sample), decoding_plugin="pylibjpeg")
        want = pixel_array(str(folder / reference), decoding_plugin="pydicom" if "RLE" not in reference else "")
        if got.shape != want.shape or not np.array_equal(got, want):
            raise RuntimeError(f"{what}: decoded pixels differ from {reference}")
        done.append(what)
    return f"{len(decoders)} pylibjpeg transfer syntaxes; decoded {', '.join(done)}"


def check_models() -> str:
    from workstation.ml.registry import builtin_models_dir, list_models, verify

    entries = list_models()
    if not entries:
        raise RuntimeError(f"no models found in {builtin_models_dir()}")
    for entry in entries:
        verify(entry)
    return f"{len(entries)} verified in {builtin_models_dir()}: {', '.join(e.name for e in entries)}"


def check_onnxruntime() -> str:
    import onnxruntime as ort

    providers = ort.get_available_providers()
    return f"onnxruntime {ort.__version__}, providers {', '.join(providers)}"


def _flavor() -> str:
    from workstation.core.paths import build_info

    return str(build_info().get("flavor", "source"))


def check_device() -> str:
    from workstation.compute.backend import select_backend

    text = select_backend("auto").describe()
    try:
        import cupy
    except ImportError as exc:
        if _flavor() == "cuda":
            raise RuntimeError(f"CuPy does not import in the cuda build: {exc}") from exc
        return f"{text}; CuPy not in this build"
    from cupy import _environment

    runtime = cupy.cuda.runtime.runtimeGetVersion()
    nvrtc = ".".join(str(v) for v in cupy.cuda.nvrtc.getVersion())
    headers = Path(_environment.get_cuda_path() or "") / "include"
    ptx = _compile_probe_kernel(headers, Path(cupy.__file__).parent / "_core" / "include")
    return (f"{text}; CuPy {cupy.__version__}, CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}, "
            f"NVRTC {nvrtc} compiles a kernel with the CUDA and CuPy headers ({ptx} bytes of PTX)")


def _compile_probe_kernel(cuda_include: Path, cupy_include: Path) -> int:
    """Compile a small kernel with NVRTC (no GPU needed): proves the headers are found."""
    from cupy_backends.cuda.libs import nvrtc

    source = ('#include <cuda_fp16.h>\n#include <cupy/carray.cuh>\n'
              'extern "C" __global__ void probe(__half* x) { x[0] = __float2half(1.0f); }\n')
    program = nvrtc.createProgram(source, "probe.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(program, [f"-I{cuda_include}", f"-I{cupy_include}",
                                           "--gpu-architecture=compute_75", "-std=c++17"])
        except Exception as exc:
            log_text = nvrtc.getProgramLog(program)[:500]
            raise RuntimeError(f"NVRTC cannot compile with {cuda_include}: {log_text}") from exc
        return len(nvrtc.getPTX(program))
    finally:
        nvrtc.destroyProgram(program)


def check_cuda_provider() -> str:
    """Load the bundled CUDA and cuDNN libraries, and ONNX Runtime's CUDA provider when a driver is there."""
    import ctypes

    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return "not in this build (cpu flavor)"
    nvidia = Path(ort.__file__).resolve().parents[1] / "nvidia"
    libs = sorted((nvidia / "cu13" / "lib").glob("lib*.so.*"), key=lambda p: ("Lt" not in p.name, p.name))
    libs += sorted((nvidia / "cudnn" / "lib").glob("libcudnn*.so.*"))
    if not libs:
        raise RuntimeError(f"no CUDA libraries in {nvidia}")
    try:
        ctypes.CDLL("libcuda.so.1")
        driver = True
    except OSError:
        driver = False
    for lib in libs:
        try:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:  # a frozen build wraps the loader's message in __cause__
            if driver or "libcuda.so.1" not in f"{exc} {exc.__cause__}":
                raise
    if not driver:
        return (f"{len(libs)} bundled CUDA/cuDNN libraries load (those linking the driver excepted); "
                "no NVIDIA driver (libcuda.so.1), so the CUDA provider is not used")
    capi = Path(ort.__file__).parent / "capi"
    ctypes.CDLL(str(capi / "libonnxruntime_providers_cuda.so"))
    return f"{len(libs)} bundled CUDA/cuDNN libraries and the CUDA provider load"


def check_mesa_reference() -> str:
    from workstation.analyses.calcium.chd_risk import load_equation
    from workstation.analyses.calcium.mesa import load_reference, reference_path

    load_reference()
    load_equation()
    return f"CAC percentiles and CHD risk equation in {reference_path().parent}"


def check_display_files() -> str:
    import vispy
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    missing = [n for n in ("libqxcb.so", "libqoffscreen.so") if not (plugins / n).is_file()]
    if missing:
        raise RuntimeError(f"Qt platform plugins missing in {plugins}: {', '.join(missing)}")
    shaders = list((Path(vispy.__file__).parent / "glsl").rglob("*.glsl"))
    if not shaders:
        raise RuntimeError("VisPy shaders (vispy/glsl) missing")
    return f"Qt platforms xcb and offscreen, {len(shaders)} VisPy shaders"


def check_reports() -> str:
    import io

    import dask
    import distributed
    import highdicom
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "self-check")
    pdf.save()
    if not buffer.getvalue().startswith(b"%PDF"):
        raise RuntimeError("reportlab wrote no PDF")
    return f"PDF {len(buffer.getvalue())} bytes; highdicom {highdicom.__version__}, dask {dask.__version__}, " \
        f"distributed {distributed.__version__}"


def check_user_folders() -> str:
    from workstation.core import paths

    problems = paths.folder_problems()
    if problems:
        raise RuntimeError("; ".join(problems))
    return ", ".join(f"{f.role} {f.path}" for f in paths.user_folder_table()) + " writable"


def check_search_paths() -> str:
    """No ELF file of the bundle looks for libraries outside it (RPATH/RUNPATH)."""
    from workstation.core import elf
    from workstation.core.paths import build_info

    if not getattr(sys, "frozen", False) and not build_info():
        return "source checkout: nothing bundled to check"
    root = Path(sys.executable).resolve().parent
    count, found = elf.outside(root)
    if found:
        shown = "; ".join(f"{f.file.relative_to(root)} {f.kind} {f.entry!r}" for f in found[:3])
        raise RuntimeError(f"{len(found)} search-path entries lead outside {root}: {shown}")
    return f"{count} ELF files, every RPATH/RUNPATH entry inside {root}"


CHECKS: tuple[tuple[str, Check], ...] = (
    ("DICOM decoders", check_dicom_decoders),
    ("models", check_models),
    ("ONNX Runtime", check_onnxruntime),
    ("ONNX Runtime CUDA", check_cuda_provider),
    ("compute device", check_device),
    ("MESA reference", check_mesa_reference),
    ("Qt and VisPy files", check_display_files),
    ("reports and batch", check_reports),
    ("user folders", check_user_folders),
    ("library search paths", check_search_paths),
)


def main() -> int:
    """Run every check, print the results, return 0 when all passed."""
    from workstation.core import paths
    from workstation.core.logs import setup_logging, shutdown_logging

    log_file = setup_logging("selfcheck", console_level=logging.CRITICAL)
    try:
        return _run_checks(paths.version_string(), log_file)
    finally:
        shutdown_logging()


def _run_checks(version: str, log_file: object) -> int:
    from workstation.core import paths

    print(f"workstation {version} on {platform.platform()}")
    print(f"executable {sys.executable}; log folder {paths.log_dir()}")
    failed = 0
    for name, check in CHECKS:
        try:
            detail, ok = check(), True
        except Exception as exc:  # every failure is reported, the next check still runs
            detail, ok = f"{type(exc).__name__}: {exc}", False
            log.error("self-check %s failed", name, exc_info=True)
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    log.info("self-check: %d of %d passed", len(CHECKS) - failed, len(CHECKS))
    where = f"tracebacks in {log_file}" if log_file else "no log file could be written"
    print("self-check passed" if not failed else f"self-check FAILED ({failed} of {len(CHECKS)}); {where}")
    return 0 if not failed else 1
