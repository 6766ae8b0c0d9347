"""Greedy non-maximum suppression of boxes, per class.

Boxes are ``(x0, y0, x1, y1)`` with exclusive far edges, so a box's area is
``(x1 - x0) * (y1 - y0)``.  The IoU matrix is computed on the backend holding the
boxes; the greedy pass (a few dozen candidates) runs on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workstation.compute.arrays import to_host


def iou_matrix(a: Any, b: Any, xp: Any = np) -> Any:
    """Intersection over union of every box in ``a`` (n, 4) with every box in ``b`` (m, 4)."""
    a = xp.asarray(a, dtype=xp.float64).reshape(-1, 4)
    b = xp.asarray(b, dtype=xp.float64).reshape(-1, 4)
    ix0 = xp.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = xp.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = xp.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = xp.minimum(a[:, None, 3], b[None, :, 3])
    inter = xp.clip(ix1 - ix0, 0, None) * xp.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return xp.where(union > 0, inter / xp.where(union > 0, union, 1), 0.0)


def nms(boxes: Any, scores: Any, iou_threshold: float = 0.3, xp: Any = np) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, highest score first.

    A box is dropped when its IoU with an already kept, higher-scoring box exceeds
    ``iou_threshold``.  Ties in score keep the lower index first.
    """
    scores_h = to_host(scores, np.float64).reshape(-1)
    if scores_h.size == 0:
        return np.zeros(0, dtype=np.intp)
    order = np.argsort(-scores_h, kind="stable")
    iou = iou_matrix(boxes, boxes, xp)
    iou_h = to_host(iou)
    suppressed = np.zeros(scores_h.size, dtype=bool)
    keep: list[int] = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou_h[i] > iou_threshold
    return np.asarray(keep, dtype=np.intp)


def batched_nms(boxes: Any, scores: Any, classes: Any, iou_threshold: float = 0.3, xp: Any = np) -> np.ndarray:
    """NMS within each class separately; returns kept indices sorted by score."""
    cls = to_host(classes).reshape(-1)
    scores_h = to_host(scores, np.float64).reshape(-1)
    keep: list[int] = []
    for c in np.unique(cls):
        idx = np.flatnonzero(cls == c)
        sel = nms(boxes[idx] if xp is np else boxes[xp.asarray(idx)], scores_h[idx], iou_threshold, xp)
        keep.extend(int(i) for i in idx[sel])
    return np.asarray(sorted(keep, key=lambda i: (-scores_h[i], i)), dtype=np.intp)
