"""Cardiac function of a short-axis cine: segment every plane, then measure (pure; the backend handed in).

The cine goes to the backend's device once; segmentation (:mod:`.segment`, ONNX
Runtime on the same GPU when its CUDA provider is there, reading and writing device
memory) and post-processing (:mod:`.measure`) keep it there; only per-plane tables
and the final labels come back.  :func:`remeasure` measures labels the reader edited
(or new limits, ED/ES phases) without running the network again.
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import numpy as np

from workstation.analyses.cardiac_function.measure import Measurement, measure
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import CineInput
from workstation.analyses.cardiac_function.result import CardiacResult
from workstation.analyses.inputs import provenance
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report, scaled
from workstation.ml.manifest import ModelEntry


def _model(params: CardiacParams) -> ModelEntry:
    from workstation.ml.registry import get_model

    entry = get_model(params.model, params.models_dir)
    if entry.task != "segmentation-2d":
        raise ValueError(f"model {entry.name!r} is a {entry.task} model, not a 2D (cine) segmentation model")
    return entry


def cine_array(cine: CineInput, backend: Backend) -> Any:
    """The cine ``(phases, slices, rows, cols)`` as float32 on the backend's device (one upload)."""
    xp = backend.xp
    out = xp.empty(cine.shape, dtype=xp.float32)
    for t, volume in enumerate(cine.series.volumes):
        out[t] = backend.asarray(volume.array)
    return out


def run(cine: CineInput, params: CardiacParams, backend: Backend,
        progress: Optional[ProgressFn] = None) -> CardiacResult:
    """Segment the cine with the model of ``params`` and measure both ventricles.

    Raises
    ------
    ValueError
        A phase or slice given in ``params`` outside the cine, or a model that is not a cine model.
    workstation.ml.ModelError
        A model file that fails its checks, or whose labels do not name the three structures.
    """
    from workstation.analyses.cardiac_function.segment import segment_cine, session_predictor
    from workstation.ml.session import get_session

    entry = _model(params)
    report(progress, 0.0, f"loading model {entry.name}")
    session = get_session(entry, backend)
    warnings = []
    if backend.is_gpu and not session.on_gpu:
        warnings.append("ONNX Runtime has no CUDA provider here: inference ran on the CPU")
    if entry.modality and entry.modality.upper() != cine.reference.modality.upper():
        warnings.append(f"model {entry.name} expects {entry.modality}, the cine is {cine.reference.modality}")
    t0 = time.perf_counter()
    image = cine_array(cine, backend)
    backend.synchronize()
    upload = time.perf_counter() - t0
    seg = segment_cine(image, cine.pixel_spacing, entry, session_predictor(session, entry), backend,
                       batch_size=params.batch_size, progress=scaled(progress, 0.05, 0.85))
    del image
    t0 = time.perf_counter()
    report(progress, 0.85, "measuring")
    found = measure(seg.labels, cine, params, backend)
    timings = {"upload": upload, **seg.timings_s, "postprocess": time.perf_counter() - t0}
    report(progress, 1.0, "done")
    device = backend.label if session.on_gpu or not backend.is_gpu else "cpu"
    return _result(found, cine, params, entry, device, tuple(warnings), (), timings,
                   {"providers": list(session.providers)})


def remeasure(labels: np.ndarray, cine: CineInput, params: CardiacParams, backend: Backend, *,
              model: ModelEntry, device: str, edited: Sequence[tuple[int, int]] = ()) -> CardiacResult:
    """Measure ``labels`` ``(phases, slices, rows, cols)``, e.g. after the reader edited contours.

    ``edited`` lists the ``(phase, slice)`` planes changed by hand; they are named in the
    result and its provenance.
    """
    t0 = time.perf_counter()
    found = measure(backend.asarray(labels), cine, params, backend)
    return _result(found, cine, params, model, device, (), tuple(edited),
                   {"postprocess": time.perf_counter() - t0}, {})


def _result(found: Measurement, cine: CineInput, params: CardiacParams, entry: ModelEntry, device: str,
            warnings: tuple[str, ...], edited: tuple[tuple[int, int], ...], timings: dict[str, float],
            extra: dict[str, Any]) -> CardiacResult:
    notes = warnings + found.warnings
    if edited:
        notes += (f"contours edited by the reader on {len(edited)} plane(s)",)
    method = {**found.method, **extra}
    return CardiacResult(
        lv=found.lv, rv=found.rv, lv_curve_ml=found.lv_curve_ml, rv_curve_ml=found.rv_curve_ml,
        myo_curve_ml=found.myo_curve_ml, times_s=cine.times_s, timed=cine.timed, lv_limits=found.lv_limits,
        rv_limits=found.rv_limits, base_high=found.base_high, segments=found.segments, labels=found.labels,
        model=entry.name, version=entry.version, device=device, method=method, intended_use=entry.intended_use,
        warnings=tuple(dict.fromkeys(notes)), edited_planes=edited, timings_s=timings,
        provenance=provenance("cardiac-function", params, device, cine, model=entry),
    )


def estimate_memory(cine: CineInput, params: CardiacParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device: the largest of its phases.

    Held from upload to the end of segmentation: the float32 cine.  Localising adds the
    standard deviation's temporaries over the middle half of the slices (two float32
    copies of them).  Inference adds the model-grid planes (float32) and their class
    scores (K float32 each) plus one batch of logits and softmax temporaries; the label
    phase keeps planes and scores and adds the labels made from them, their canonical
    copy and the resampling slabs.  Measurement holds the labels, the cleaned copy of
    their cropped extent and the labelling temporaries (int32 component images, masks,
    fill-holes buffers: about 24 bytes per cropped pixel).  10 % more covers the array
    libraries' smaller temporaries.  The ONNX Runtime session's own memory is not counted.
    """
    entry = _model(params)
    n_t, n_z, rows, cols = cine.shape
    planes = n_t * n_z
    pixels = planes * rows * cols
    tile = int(np.prod(entry.input.tile))
    k = entry.n_classes
    image = 4 * pixels
    localise = 2 * 4 * n_t * (n_z - 2 * (n_z // 4)) * rows * cols
    model_grid = planes * tile * 4 * (1 + k)
    batch = params.batch_size * tile * 4 * (3 * k + 1)
    cover = [int(np.ceil((t - 1) * m / p)) + 1 for t, m, p in zip(entry.input.tile, entry.input.spacing,
                                                                   cine.pixel_spacing)]
    window = planes * min(cover[0], rows) * min(cover[1], cols)
    slabs = 2 * 8 * (2 * k * cover[0] * entry.input.tile[1] * 4 + 4 * cover[0] * cover[1])
    labels = model_grid + 2 * pixels + window + slabs
    cropped = planes * min(cover[0] + 6, rows) * min(cover[1] + 6, cols)
    measurement = 2 * pixels + cropped * 24
    return int(1.1 * max(image + localise, image + model_grid + batch, image + labels, measurement))
