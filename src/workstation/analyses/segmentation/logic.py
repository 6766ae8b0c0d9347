"""Organ segmentation of a CT volume with an ONNX model from the model registry.

Steps: reorient and resample the study to the model's grid and normalise it as the
manifest says, run the network tile by tile (Gaussian-blended sliding window), turn
the class scores into labels on the study grid (argmax of linearly resampled
probabilities), then measure each structure's volume (ml) and mean HU.  The arrays
stay on the backend's device from upload to the final label map; ONNX Runtime reads
and writes GPU memory directly when both run on the GPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.compute.arrays import array_module, to_host
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.study import Series
from workstation.core.volume import Volume

DEFAULT_MODEL = "chest-organs"


@dataclass(frozen=True)
class SegmentationParams:
    """Parameters of a segmentation run.

    Attributes
    ----------
    model
        Registry name of the model (built-in or from the user's models folder).
    overlap
        Fraction of a tile shared with its neighbours, in [0, 0.9].
    batch_size
        Tiles per network call.
    blending
        ``gaussian`` or ``constant`` weighting of overlapping tiles.
    models_dir
        The user's models folder (``WORKSTATION_MODELS_DIR`` wins when set).
    """

    model: str = DEFAULT_MODEL
    overlap: float = 0.25
    batch_size: int = 2
    blending: str = "gaussian"
    models_dir: Optional[str] = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.overlap <= 0.9:
            raise ValueError(f"overlap must be within [0, 0.9], got {self.overlap}")
        if not 1 <= self.batch_size <= 64:
            raise ValueError(f"batch_size must be within [1, 64], got {self.batch_size}")


@dataclass(frozen=True)
class SegmentationInput:
    """A CT volume and, when it came from DICOM, its series (for DICOM SEG export)."""

    volume: Volume
    series: Optional[Series] = None


@dataclass(frozen=True)
class Structure:
    """One segmented structure: label value, name, size and mean value."""

    label: int
    name: str
    voxels: int
    volume_ml: float
    mean_hu: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "voxels": self.voxels,
                "volume_ml": round(self.volume_ml, 3), "mean_hu": round(self.mean_hu, 2)}


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Labels on the study grid (``uint8``, NumPy) and per-structure measurements."""

    model: str
    version: str
    labels: NDArray[np.uint8]
    structures: tuple[Structure, ...]
    names: Mapping[int, str]
    device: str
    intended_use: str = "Not for clinical use"
    warnings: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "analysis": "segmentation",
            "model": self.model,
            "version": self.version,
            "intended_use": self.intended_use,
            "device": self.device,
            "structures": [s.to_json() for s in self.structures],
            "warnings": list(self.warnings),
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
        }


def _volume_of(data: Volume | SegmentationInput) -> Volume:
    if isinstance(data, SegmentationInput):
        return data.volume
    if isinstance(data, Volume):
        return data
    raise TypeError(f"segmentation needs a Volume or SegmentationInput, got {type(data).__name__}")


def measure(labels: Any, values: Any, names: Mapping[int, str], voxel_mm3: float) -> tuple[Structure, ...]:
    """Voxel count, volume (ml) and mean value of each label (NumPy or CuPy inputs).

    Background voxels are dropped first, then one ``bincount`` counts and one sums.
    """
    xp = array_module(labels)
    flat = labels.reshape(-1)
    fg = xp.flatnonzero(flat)
    lab = flat[fg].astype(xp.int64)
    n = max(names, default=0) + 1
    counts = xp.bincount(lab, minlength=n)
    sums = xp.bincount(lab, weights=values.reshape(-1)[fg].astype(xp.float64), minlength=n)
    counts_h, sums_h = to_host(counts), to_host(sums)
    out = []
    for label, name in sorted(names.items()):
        c = int(counts_h[label]) if label < len(counts_h) else 0
        mean = float(sums_h[label] / c) if c else float("nan")
        out.append(Structure(label, name, c, c * voxel_mm3 / 1000.0, mean))
    return tuple(out)


def run(data: Volume | SegmentationInput, params: SegmentationParams, backend: Backend,
        progress: Optional[ProgressFn] = None) -> SegmentationResult:
    """Segment the structures a model knows in a CT volume.

    Parameters
    ----------
    data
        The CT (HU) as a :class:`Volume` or :class:`SegmentationInput`.
    params
        Model name and tiling options.
    backend
        Where arrays live; the ONNX session runs on the same device when its CUDA
        provider is available, otherwise on the CPU (a warning says so).
    progress
        ``progress(fraction, message)``; raise from it to cancel.

    Returns
    -------
    SegmentationResult
    """
    from workstation.ml.preprocess import labels_to_study, to_model_grid
    from workstation.ml.registry import get_model
    from workstation.ml.session import get_session
    from workstation.ml.tiling import sliding_window_inference

    volume = _volume_of(data)
    warnings: list[str] = []
    entry = get_model(params.model, params.models_dir)
    if entry.task != "segmentation-3d":
        raise ValueError(f"model {entry.name!r} is a {entry.task} model, not a 3D segmentation model")
    if entry.modality and volume.modality and entry.modality.upper() != volume.modality.upper():
        warnings.append(f"model {entry.name} expects {entry.modality}, the volume is {volume.modality}")
    report(progress, 0.0, f"loading model {entry.name}")
    session = get_session(entry, backend)
    if backend.is_gpu and not session.on_gpu:
        warnings.append("ONNX Runtime has no CUDA provider here: inference ran on the CPU")
    xp, ndi = backend.xp, backend.ndimage
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    image = backend.asarray(volume.array)
    net_in, grid = to_model_grid(image, volume.spacing, volume.direction, entry.input, ndi)
    backend.synchronize()
    timings["preprocess"] = time.perf_counter() - t0
    report(progress, 0.1, "segmenting")

    t0 = time.perf_counter()
    name = entry.input.name

    def predictor(batch: Any) -> Any:
        logits = session.run({name: batch})
        scores = next(iter(logits.values()))
        scores = backend.asarray(scores)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = xp.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    prob = sliding_window_inference(net_in[None], entry.input.tile, params.overlap, predictor,
                                    batch_size=params.batch_size, blending=params.blending,
                                    progress=scaled(progress, 0.1, 0.85))
    backend.synchronize()
    timings["inference"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report(progress, 0.85, "resampling labels to the study grid")
    labels = labels_to_study(prob, grid, ndi)
    structures = measure(labels, image, entry.labels, volume.voxel_volume_mm3)
    labels_h = backend.asnumpy(labels).astype(np.uint8, copy=False)
    timings["postprocess"] = time.perf_counter() - t0
    report(progress, 1.0, "done")
    for s in structures:
        if s.voxels == 0:
            warnings.append(f"{s.name} was not found")
    return SegmentationResult(
        model=entry.name, version=entry.version, labels=labels_h, structures=structures,
        names=dict(entry.labels), device=backend.label if session.on_gpu or not backend.is_gpu else "cpu",
        intended_use=entry.intended_use, warnings=tuple(warnings), timings_s=timings,
    )


def dice(a: NDArray[Any], b: NDArray[Any], label: int) -> float:
    """Dice overlap of ``label`` between two label maps (1.0 when both lack it)."""
    x, y = a == label, b == label
    total = int(x.sum()) + int(y.sum())
    return 1.0 if total == 0 else 2.0 * int((x & y).sum()) / total

