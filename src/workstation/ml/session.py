"""ONNX Runtime sessions, one per (model, device), with GPU tensors bound in place.

:func:`get_session` verifies the model (:func:`workstation.ml.registry.verify`), builds
an ``InferenceSession`` with the best execution provider for the device (TensorRT
where present, then CUDA, then the CPU), runs it once on zeros to warm it up and
caches it.  :meth:`ModelSession.run` takes NumPy or CuPy arrays: CuPy inputs are bound
to the session by their device pointer (I/O binding) and outputs are written into
CuPy arrays, so tensors already on the GPU never pass through host memory.

Environment: ``WORKSTATION_ORT_THREADS`` caps CPU threads (0: ONNX Runtime decides);
``WORKSTATION_ORT_TENSORRT=0`` skips the TensorRT provider.  TensorRT is only asked
for when its runtime library (``libnvinfer``) loads: onnxruntime-gpu lists the provider
whether or not TensorRT is installed, and a failed attempt prints a long error.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import threading
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from workstation.compute.arrays import is_device_array, to_host
from workstation.compute.backend import Backend, GpuError, parse_device
from workstation.ml.manifest import ModelEntry, ModelError
from workstation.ml.registry import verify

log = logging.getLogger(__name__)

_cache: dict[tuple[str, str, str], "ModelSession"] = {}
_lock = threading.Lock()


def _device_string(device: str | Backend | None) -> tuple[str, int]:
    if isinstance(device, Backend):
        return ("cuda", int(device.device_id or 0)) if device.is_gpu else ("cpu", 0)
    kind, index = parse_device(device or "cpu")
    return ("cpu", 0) if kind == "auto" else (kind, index)


@functools.lru_cache(maxsize=1)
def tensorrt_runtime_present() -> bool:
    """Whether TensorRT's runtime library can be loaded in this process."""
    for name in ("libnvinfer.so.10", "libnvinfer.so"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def provider_list(kind: str, device_id: int = 0) -> list[Any]:
    """Execution providers to ask for, best first, among those this ONNX Runtime has."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    providers: list[Any] = []
    if kind == "cuda":
        wants_trt = os.environ.get("WORKSTATION_ORT_TENSORRT", "1") != "0"
        if "TensorrtExecutionProvider" in available and wants_trt and tensorrt_runtime_present():
            cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "workstation" / "trt"
            providers.append(("TensorrtExecutionProvider", {
                "device_id": device_id, "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(cache), "trt_fp16_enable": False}))
        if "CUDAExecutionProvider" in available:
            providers.append(("CUDAExecutionProvider", {
                "device_id": device_id, "cudnn_conv_algo_search": "HEURISTIC",
                "do_copy_in_default_stream": True}))
    providers.append("CPUExecutionProvider")
    return providers


class ModelSession:
    """An ONNX Runtime session for one model on one device.

    Attributes
    ----------
    entry : ModelEntry
    device : str
        ``cpu`` or ``cuda:N``: where the session was asked to run.
    providers : list of str
        What ONNX Runtime actually uses, best first; ``on_gpu`` is True when CUDA or
        TensorRT is among them.
    """

    def __init__(self, entry: ModelEntry, kind: str, device_id: int = 0) -> None:
        import onnxruntime as ort

        self.entry = entry
        self.device = f"cuda:{device_id}" if kind == "cuda" else "cpu"
        self.device_id = device_id
        options = ort.SessionOptions()
        options.log_severity_level = 3
        threads = int(os.environ.get("WORKSTATION_ORT_THREADS", "0") or 0)
        if threads > 0:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = self._create(ort, options, provider_list(kind, device_id))
        self.providers: list[str] = list(self._session.get_providers())
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]
        self._output_shapes = {o.name: list(o.shape) for o in self._session.get_outputs()}
        self._output_types = {o.name: _numpy_dtype(o.type) for o in self._session.get_outputs()}
        if kind == "cuda" and not self.on_gpu:
            log.warning("model %s: no CUDA provider in this ONNX Runtime, running on the CPU", entry.name)
        self._lock = threading.Lock()
        self.warm_up()

    def _create(self, ort: Any, options: Any, providers: list[Any]) -> Any:
        path = str(self.entry.file)
        while True:
            try:
                return ort.InferenceSession(path, sess_options=options, providers=providers)
            except Exception as exc:
                if len(providers) == 1:
                    raise ModelError(f"model {self.entry.name!r}: ONNX Runtime cannot load {path} ({exc})") from exc
                dropped = providers.pop(0)
                log.warning("model %s: provider %s failed (%s); trying the next", self.entry.name,
                            dropped if isinstance(dropped, str) else dropped[0], exc)

    @property
    def on_gpu(self) -> bool:
        return any(p in ("CUDAExecutionProvider", "TensorrtExecutionProvider") for p in self.providers)

    def warm_up(self) -> None:
        """One inference on zeros of batch 1, so the first real call is not slow."""
        spec = self.entry.input
        x = np.zeros((1, spec.channels, *spec.tile), dtype=np.dtype(spec.dtype))
        self.run({spec.name: x})

    def predict(self, x: Any) -> Any:
        """Run the model's first input -> first output (NumPy in NumPy out, CuPy in CuPy out)."""
        return self.run({self.input_names[0]: x}, [self.output_names[0]])[self.output_names[0]]

    def run(self, inputs: Mapping[str, Any], output_names: Optional[Sequence[str]] = None) -> dict[str, Any]:
        """Run the network.

        Parameters
        ----------
        inputs
            Input name -> array.  All NumPy, or all CuPy on this session's GPU.
        output_names
            Outputs wanted (default: all).

        Returns
        -------
        dict
            Output name -> array: NumPy arrays for NumPy inputs, CuPy arrays (on the
            device, never copied through the host) for CuPy inputs on a GPU session.
        """
        names = list(output_names or self.output_names)
        arrays = list(inputs.values())
        on_device = bool(arrays) and all(is_device_array(a) for a in arrays)
        try:
            with self._lock:
                if on_device and self.on_gpu:
                    return self._run_bound(inputs, names)
                host = {k: np.ascontiguousarray(to_host(v)) for k, v in inputs.items()}
                outs = self._session.run(names, host)
        except Exception as exc:
            if self.on_gpu:  # let the job rerun on the CPU (compute.backend.run_with_cpu_fallback)
                raise GpuError(f"model {self.entry.name!r} failed on {self.device}: {exc}") from exc
            raise
        result = dict(zip(names, outs))
        if on_device:  # a CPU session fed CuPy arrays: hand back CuPy arrays
            import cupy

            result = {k: cupy.asarray(v) for k, v in result.items()}
        return result

    def _run_bound(self, inputs: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
        import cupy

        binding = self._session.io_binding()
        keep = []
        batch = None
        with cupy.cuda.Device(self.device_id):
            for name, value in inputs.items():
                arr = cupy.ascontiguousarray(value)
                keep.append(arr)
                batch = arr.shape[0] if batch is None else batch
                binding.bind_input(name, "cuda", self.device_id, arr.dtype.type, list(arr.shape), arr.data.ptr)
            outputs: dict[str, Any] = {}
            for name in names:
                shape = [batch if not isinstance(d, int) and i == 0 else d
                         for i, d in enumerate(self._output_shapes[name])]
                dtype = self._output_types[name]
                if all(isinstance(d, int) for d in shape):
                    out = cupy.empty(shape, dtype=dtype)
                    binding.bind_output(name, "cuda", self.device_id, dtype.type, shape, out.data.ptr)
                    outputs[name] = out
                else:
                    binding.bind_output(name, "cuda", self.device_id)
            cupy.cuda.get_current_stream().synchronize()
            self._session.run_with_iobinding(binding)
            binding.synchronize_outputs()
            for name, value in zip(names, binding.get_outputs()):
                if name not in outputs:
                    outputs[name] = _ortvalue_to_cupy(value, self.device_id, self._output_types[name])
        return {n: outputs[n] for n in names}


def _numpy_dtype(onnx_type: str) -> np.dtype:
    """NumPy dtype of an ONNX tensor type string such as ``tensor(float)``."""
    name = onnx_type[len("tensor("):-1] if onnx_type.startswith("tensor(") else onnx_type
    return np.dtype({"float": "float32", "double": "float64"}.get(name, name))


def _ortvalue_to_cupy(value: Any, device_id: int, dtype: np.dtype) -> Any:
    """Copy an ONNX Runtime device tensor into a CuPy array (device to device)."""
    import cupy

    shape = tuple(value.shape())
    nbytes = int(np.prod(shape)) * dtype.itemsize
    memory = cupy.cuda.UnownedMemory(value.data_ptr(), nbytes, value, device_id)
    return cupy.ndarray(shape, dtype=dtype, memptr=cupy.cuda.MemoryPointer(memory, 0)).copy()


def get_session(entry: ModelEntry, device: str | Backend | None = "cpu") -> ModelSession:
    """The cached session for ``entry`` on ``device`` (``cpu``, ``cuda``, ``cuda:N`` or a Backend).

    The model is verified (checksum and tensors) before its first session is built.
    """
    kind, index = _device_string(device)
    key = (entry.name, entry.sha256, f"{kind}:{index}")
    with _lock:
        session = _cache.get(key)
        if session is None:
            verify(entry)
            session = ModelSession(entry, kind, index)
            _cache[key] = session
        return session


def clear_sessions() -> None:
    """Drop every cached session (frees GPU memory held by ONNX Runtime)."""
    with _lock:
        _cache.clear()
