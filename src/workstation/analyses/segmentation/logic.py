"""Organ segmentation of a CT volume with an ONNX model from the model registry.

Steps: reorient and resample the study to the model's grid and normalise it as the
manifest says, run the network tile by tile (Gaussian-blended sliding window), turn
the class scores into labels on the study grid (argmax of linearly resampled
probabilities), then measure each structure's volume (ml) and mean HU.  The arrays
stay on the backend's device from upload to the final label map; ONNX Runtime reads
and writes GPU memory directly when both run on the GPU.

Partial results: when the progress callback takes them
(:func:`~workstation.core.progress.publish`), each slab of final labels on the study
grid is published as ``Partial("labels", region, {"labels": uint8 block})`` while the
scores are turned into labels.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.inputs import provenance
from workstation.analyses.segmentation.params import SegmentationParams
from workstation.analyses.segmentation.prepare import SegmentationInput
from workstation.analyses.segmentation.result import Structure, SegmentationResult
from workstation.compute.arrays import array_module, to_host
from workstation.compute.backend import Backend
from workstation.core.progress import Partial, ProgressFn, publish, report, scaled, wants_partials
from workstation.core.volume import Volume

def _volume_of(data: Volume | SegmentationInput) -> Volume:
    if isinstance(data, SegmentationInput):
        return data.volume
    if isinstance(data, Volume):
        return data
    raise TypeError(f"segmentation needs a Volume or SegmentationInput, got {type(data).__name__}")


def _labels_publisher(progress: Optional[ProgressFn], backend: Backend) -> Any:
    """Publishes each slab of final study-grid labels as ``Partial("labels", region, {"labels": ...})``
    (host uint8), or ``None`` when nobody listens."""
    if not wants_partials(progress):
        return None

    def on_region(labels: Any, region: tuple[tuple[int, int], ...]) -> None:
        block = backend.asnumpy(labels[tuple(slice(a, b) for a, b in region)]).astype(np.uint8, copy=False)
        publish(progress, Partial("labels", region, {"labels": block}))

    return on_region


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
    labels = labels_to_study(prob, grid, ndi, on_region=_labels_publisher(progress, backend))
    structures = measure(labels, image, entry.labels, volume.voxel_volume_mm3)
    labels_h = backend.asnumpy(labels).astype(np.uint8, copy=False)
    timings["postprocess"] = time.perf_counter() - t0
    report(progress, 1.0, "done")
    for s in structures:
        if s.voxels == 0:
            warnings.append(f"{s.name} was not found")
    device = backend.label if session.on_gpu or not backend.is_gpu else "cpu"
    return SegmentationResult(
        model=entry.name, version=entry.version, labels=labels_h, structures=structures,
        names=dict(entry.labels), device=device,
        intended_use=entry.intended_use, warnings=tuple(warnings), timings_s=timings,
        provenance=provenance("segmentation", params, device, data, model=entry),
    )


#: Bytes the label refinement holds for border voxels (scores and their indices).
REFINE_BYTES = 40 * 2**20
#: Bytes per foreground voxel when measuring: its flat index and label (int64), its value as float64.
MEASURE_BYTES = 26


def estimate_memory(data: Volume | SegmentationInput, params: SegmentationParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device: the largest of its three phases.

    Held throughout: the CT's copy there (none on the CPU) and the normalised float32
    image on the model grid.  Inference adds the blended class scores and weights
    (``K + 1`` float32 per model-grid voxel) and one batch of tiles in and out; the
    label phase keeps the scores and adds the uint8 labels on the study grid and the
    refinement's slabs; measuring keeps scores and labels and adds
    :data:`MEASURE_BYTES` per foreground voxel (counted on a subsample above -500 HU).
    The model session's own memory (ONNX Runtime's arena) is not counted.
    """
    from workstation.ml.registry import get_model
    from workstation.ml.resample import usable_cores

    volume = _volume_of(data)
    entry = get_model(params.model, params.models_dir)
    n = int(np.prod(volume.shape))
    a = volume.array
    resident = backend.is_gpu and isinstance(a, backend.xp.ndarray)
    held = (n * a.dtype.itemsize if backend.is_gpu and not resident else 0)
    model_shape = [int(np.ceil(d * s / m)) for d, s, m in zip(volume.shape, volume.spacing, entry.input.spacing)]
    grid = int(np.prod(model_shape))
    held += 4 * grid
    k = entry.n_classes
    scores = k * 4 * grid
    tile = int(np.prod(entry.input.tile))
    inference = scores + 4 * grid + params.batch_size * tile * 4 * (entry.input.channels + 2 * k)
    slices = 64 if backend.is_gpu else 8
    workers = 1 if backend.is_gpu else min(usable_cores(), 8)
    slab = workers * 2 * k * slices * volume.shape[1] * model_shape[2] * 4
    labels = scores + n + slab + REFINE_BYTES
    sample = to_host(a[::4, ::4, ::4])
    fg = float(np.count_nonzero(sample > -500)) / max(sample.size, 1)
    measure_phase = scores + n + int(MEASURE_BYTES * fg * n)
    return held + max(inference, labels, measure_phase)


def dice(a: NDArray[Any], b: NDArray[Any], label: int) -> float:
    """Dice overlap of ``label`` between two label maps (1.0 when both lack it)."""
    x, y = a == label, b == label
    total = int(x.sum()) + int(y.sum())
    return 1.0 if total == 0 else 2.0 * int((x & y).sum()) / total

