"""LV blood pool, LV myocardium and RV blood pool on every slice and phase of a cine (ONNX, 2D).

One window of the model's tile is placed on every plane of the cine: first around the
moving part of the images (:func:`~.localize.heart_centre`), then, after a pilot run on
the middle slices of two phases, around what the model found there.  Each phase's
planes are normalised together as the manifest says (a phase is one 3D case, as
nnU-Net trained on ACDC saw it), run in batches, and the class scores come back as
labels on the study pixels (:mod:`workstation.ml.planes`).  The model's own label
numbers are mapped by name to :data:`LV_BLOOD`, :data:`LV_MYO` and :data:`RV_BLOOD`, so a
model that numbers them otherwise (ACDC: 1 RV, 2 myocardium, 3 LV) plugs in unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from workstation.analyses.cardiac_function.localize import heart_centre, labels_centre
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report
from workstation.ml.manifest import ModelEntry, ModelError

LV_BLOOD, LV_MYO, RV_BLOOD = 1, 2, 3
#: Names a manifest may give each structure (lower case, ``-`` and ``_`` read as spaces).
ALIASES = {
    LV_BLOOD: ("lv blood pool", "lv", "lv cavity", "left ventricle", "lv blood", "left ventricular cavity"),
    LV_MYO: ("lv myocardium", "myocardium", "myo", "lv myo", "left ventricular myocardium"),
    RV_BLOOD: ("rv blood pool", "rv", "rv cavity", "right ventricle", "rv blood", "right ventricular cavity"),
}
PILOT_PHASES = 2


def label_map(entry: ModelEntry) -> dict[int, int]:
    """Model label -> canonical label (:data:`LV_BLOOD`, :data:`LV_MYO`, :data:`RV_BLOOD`).

    Raises
    ------
    ModelError
        When the manifest does not name all three structures.
    """
    found: dict[int, int] = {}
    for value, name in entry.labels.items():
        key = " ".join(str(name).lower().replace("-", " ").replace("_", " ").split())
        for canonical, names in ALIASES.items():
            if key in names:
                found[int(value)] = canonical
    missing = [ALIASES[c][0] for c in ALIASES if c not in found.values()]
    if missing:
        raise ModelError(f"model {entry.name!r} names no {', '.join(missing)} among its labels "
                         f"{dict(entry.labels)}; a cine model needs LV blood pool, LV myocardium and RV blood pool")
    return found


@dataclass
class Segmentation:
    """Canonical labels ``(phases, slices, rows, cols)`` (uint8, on the backend) and how they were made."""

    labels: Any
    centre_rc: tuple[float, float]
    timings_s: dict[str, float] = field(default_factory=dict)


Predictor = Callable[[Any], Any]


def segment_cine(cine: Any, pixel_spacing: Sequence[float], entry: ModelEntry, predict: Predictor,
                 backend: Backend, *, batch_size: int = 32, progress: Optional[ProgressFn] = None) -> Segmentation:
    """Label every plane of ``cine`` ``(phases, slices, rows, cols)`` (already on the backend).

    ``predict(batch)`` maps ``(B, 1, *tile)`` float32 to ``(B, K, *tile)`` logits on the
    same device kind as its input.
    """
    from workstation.ml.planes import plane_window

    xp, ndi = backend.xp, backend.ndimage
    mapping = label_map(entry)
    n_t, n_z, rows, cols = cine.shape
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    guess = heart_centre(cine, pixel_spacing, ndi)
    middle = slice(n_z // 3, max(n_z - n_z // 3, n_z // 3 + 1))
    pilot_phases = np.unique(np.linspace(0, n_t - 1, min(PILOT_PHASES, n_t)).round().astype(int)).tolist()
    pilot = cine[pilot_phases][:, middle]
    window = plane_window((rows, cols), pixel_spacing, entry.input, guess)
    found = labels_centre(_labels(pilot, window, entry, predict, backend, batch_size, None))
    centre = found if found is not None else guess
    window = plane_window((rows, cols), pixel_spacing, entry.input, centre)
    backend.synchronize()
    timings["localise"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw = _labels(cine, window, entry, predict, backend, batch_size, progress)
    backend.synchronize()
    timings["inference"] = time.perf_counter() - t0
    table = xp.zeros(256, dtype=xp.uint8)
    for model_label, canonical in mapping.items():
        table[model_label] = canonical
    return Segmentation(table[raw], centre, timings)


def _labels(cine: Any, window: Any, entry: ModelEntry, predict: Predictor, backend: Backend, batch_size: int,
            progress: Optional[ProgressFn]) -> Any:
    """Model labels ``(phases, slices, rows, cols)`` of ``cine`` seen through ``window``."""
    from workstation.ml.planes import labels_to_planes, to_model_planes

    xp, ndi = backend.xp, backend.ndimage
    n_t, n_z, rows, cols = cine.shape
    planes = to_model_planes(cine.reshape(n_t * n_z, rows, cols), window, ndi)
    normalise_phases(planes, n_z, entry)
    scores: Any = None
    total = planes.shape[0]
    for first in range(0, total, batch_size):
        logits = backend.asarray(predict(planes[first:first + batch_size, None]))
        if scores is None:  # class first: the layout the labels are resampled from
            scores = xp.empty((logits.shape[1], total, *logits.shape[2:]), dtype=xp.float32)
        e = xp.exp(logits - logits.max(axis=1, keepdims=True))
        scores[:, first:first + logits.shape[0]] = xp.moveaxis(e / e.sum(axis=1, keepdims=True), 1, 0)
        report(progress, min(first + batch_size, total) / total, f"segmenting {min(first + batch_size, total)}/{total}")
    labels = labels_to_planes(scores, window)
    return labels.reshape(n_t, n_z, rows, cols)


def normalise_phases(planes: Any, slices_per_phase: int, entry: ModelEntry) -> None:
    """Normalise each phase's planes together, in place, as the model's manifest asks."""
    from workstation.ml.normalize import normalize

    for start in range(0, planes.shape[0], slices_per_phase):
        group = planes[start:start + slices_per_phase]
        group[...] = normalize(group, entry.input.normalization)


def session_predictor(session: Any, entry: ModelEntry) -> Predictor:
    """``predict(batch)`` through an ONNX session's first output."""
    name = entry.input.name

    def predict(batch: Any) -> Any:
        return next(iter(session.run({name: batch}).values()))

    return predict


def structure_names() -> Mapping[int, str]:
    """Canonical label -> display name."""
    return {LV_BLOOD: "LV blood pool", LV_MYO: "LV myocardium", RV_BLOOD: "RV blood pool"}
