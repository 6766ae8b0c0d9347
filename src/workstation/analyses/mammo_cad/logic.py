"""Mammography CAD: four views in, marked findings and a suggested category out (no Qt).

Pipeline per exam: chest-wall side (header, else pixels) -> preprocessing of every view
on the backend (:mod:`.preprocess`) -> one batched ONNX inference (:mod:`.detect`) ->
peak decoding inside the breast mask -> per-class NMS -> boxes mapped back to original
pixels and mm -> suggested BI-RADS category (:mod:`.birads`).  Not for clinical use.
:func:`estimate_memory` gives the device bytes a run needs.
"""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from workstation.analyses.inputs import provenance
from workstation.analyses.mammo_cad.birads import suggest
from workstation.analyses.mammo_cad.detect import CLASSES, MODEL_NAME, STRIDE, Detector, decode
from workstation.analyses.mammo_cad.loader import MammoExam, MammoImage
from workstation.analyses.mammo_cad.nms import batched_nms
from workstation.analyses.mammo_cad.params import MammoCadParams
from workstation.analyses.mammo_cad.preprocess import ViewGeometry, chest_wall_on_left, fit_scale, preprocess_view, resize
from workstation.analyses.mammo_cad.result import Finding, MammoCadResult, ViewInfo
from workstation.analyses.mammo_cad.views import detector_flip, display_flip
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report

DEFAULT_THRESHOLD = 0.3


def location_of(image: MammoImage, box_px: tuple[float, float, float, float], chest_wall_left: bool) -> str:
    """Depth third from the chest wall and, when PatientOrientation says, upper/lower or outer/inner."""
    rows, cols = image.pixels.shape
    cx, cy = (box_px[0] + box_px[2]) / 2, (box_px[1] + box_px[3]) / 2
    depth = cx / cols if chest_wall_left else 1 - cx / cols
    third = ("posterior", "middle", "anterior")[min(int(depth * 3), 2)]
    parts = [f"{third} third"]
    col_dir = image.patient_orientation[1] if len(image.patient_orientation) > 1 else ""
    top_half = cy < rows / 2
    if image.position == "MLO" and col_dir[:1] in ("F", "H"):
        upper = top_half if col_dir[:1] == "F" else not top_half
        parts.insert(0, "upper" if upper else "lower")
    elif image.position == "CC" and col_dir[:1] in ("L", "R"):
        down_medial = col_dir[:1] != image.laterality  # R breast, columns run L: down is inner
        parts.insert(0, "outer" if top_half == down_medial else "inner")
    return ", ".join(parts)


def _chest_wall(image: MammoImage, backend: Backend) -> bool:
    if image.chest_wall_left is not None:
        return image.chest_wall_left
    img = backend.asarray(image.pixels, dtype=backend.xp.float32)
    return chest_wall_on_left(resize(img, fit_scale(image.pixels.shape), backend), backend)


def _threshold(params: MammoCadParams, detector: Detector) -> float:
    if params.score_threshold is not None:
        return float(params.score_threshold)
    return float(detector.entry.metrics.get("score_threshold", DEFAULT_THRESHOLD))


def run(exam: MammoExam, params: MammoCadParams, backend: Backend,
        progress: Optional[ProgressFn] = None, detector: Optional[Detector] = None) -> MammoCadResult:
    """Detect masses and calcification clusters on every view of ``exam``."""
    if not exam.images:
        raise ValueError("the exam holds no images")
    xp = backend.xp
    timings: dict[str, float] = {}
    report(progress, 0.0, "Loading the detector")
    detector = detector or Detector(backend)
    threshold = _threshold(params, detector)
    t0 = time.perf_counter()
    report(progress, 0.1, "Preprocessing")
    inputs, masks, geoms, walls = [], [], [], []
    for image in exam.images:
        left = _chest_wall(image, backend)
        x, m, g = preprocess_view(image.pixels, flip=detector_flip(left), spacing_mm=image.spacing_mm, backend=backend)
        inputs.append(x[None])
        masks.append(m)
        geoms.append(g)
        walls.append(left)
    batch = xp.ascontiguousarray(xp.stack(inputs))
    backend.synchronize()
    t1 = time.perf_counter()
    report(progress, 0.4, "Detecting")
    hm, size, off = detector(batch)
    backend.synchronize()
    t2 = time.perf_counter()
    report(progress, 0.8, "Post-processing")
    cands = decode(hm, size, off, backend, score_threshold=threshold, mask=xp.stack(masks))
    findings = _findings(exam, cands, geoms, walls, params)
    t3 = time.perf_counter()
    timings.update(preprocess=t1 - t0, inference=t2 - t1, postprocess=t3 - t2, total=t3 - t0)
    views = tuple(ViewInfo(im.key, tuple(im.pixels.shape), im.spacing_mm, w, display_flip(im.laterality, w),
                           im.sop_instance_uid) for im, w in zip(exam.images, walls))
    report(progress, 1.0, f"{len(findings)} findings")
    return MammoCadResult(tuple(findings), suggest(findings), views, detector.entry.name, detector.entry.version,
                          detector.device, threshold,
                          provenance("mammo-cad", params, detector.device, exam, model=detector.entry),
                          tuple(exam.warnings), timings)


def estimate_memory(exam: MammoExam, params: MammoCadParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device.

    The views are resized one at a time: the largest one's anti-aliasing blur (float32)
    and, on a GPU, its float32 copy there (the exam is float32 on the host already);
    every view then contributes its network input, breast mask and three output maps;
    the model's session holds about four times its file (weights, activations, the
    provider's arena).
    """
    from workstation.analyses.mammo_cad.preprocess import INPUT_SHAPE
    from workstation.ml.registry import get_model

    largest = max((int(im.pixels.size) for im in exam.images), default=0) * 4
    pixels = int(np.prod(INPUT_SHAPE))
    per_view = pixels * 4 + pixels + 3 * len(CLASSES) * 4 * pixels // STRIDE**2
    model = 4 * get_model(MODEL_NAME).file.stat().st_size
    return (2 if backend.is_gpu else 1) * largest + len(exam.images) * per_view + model


def _findings(exam: MammoExam, cands: list[Any], geoms: list[ViewGeometry], walls: list[bool],
              params: MammoCadParams) -> list[Finding]:
    findings: list[Finding] = []
    for image, cand, geom, left in zip(exam.images, cands, geoms, walls):
        keep = batched_nms(cand.boxes, cand.scores, cand.classes, params.iou_threshold)[: params.max_per_view]
        boxes_px = geom.input_to_original(cand.boxes[keep])
        rows, cols = geom.shape
        boxes_px[:, [0, 2]] = np.clip(boxes_px[:, [0, 2]], 0, cols)
        boxes_px[:, [1, 3]] = np.clip(boxes_px[:, [1, 3]], 0, rows)
        boxes_mm = geom.pixels_to_mm(boxes_px)
        for bpx, bmm, score, cls in zip(boxes_px, boxes_mm, cand.scores[keep], cand.classes[keep]):
            box = tuple(float(v) for v in bpx)
            findings.append(Finding(len(findings) + 1, image.key, image.laterality, image.position,
                                    CLASSES[int(cls)], float(score), box,  # type: ignore[arg-type]
                                    tuple(float(v) for v in bmm), location_of(image, box, left),  # type: ignore[arg-type]
                                    image.sop_instance_uid))
    return findings
