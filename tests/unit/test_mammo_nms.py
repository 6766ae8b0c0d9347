"""NMS against a brute-force reference; IoU against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.analyses.mammo_cad.nms import batched_nms, iou_matrix, nms


def _iou_ref(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _nms_ref(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Textbook greedy NMS: repeatedly take the best remaining box, drop its overlaps."""
    remaining = list(range(len(scores)))
    keep = []
    while remaining:
        best = max(remaining, key=lambda i: (scores[i], -i))
        keep.append(best)
        remaining = [i for i in remaining if i != best and _iou_ref(list(boxes[best]), list(boxes[i])) <= thr]
    return keep


def test_iou_hand_values() -> None:
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [2, 2, 4, 4], [0, 0, 2, 2], [0, 0, 1, 2]])
    assert iou_matrix(a, b)[0] == pytest.approx([1 / 7, 0.0, 1.0, 0.5])


@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (60, 2))
    wh = rng.uniform(5, 30, (60, 2))
    boxes = np.hstack([xy, xy + wh])
    scores = rng.random(60)
    for thr in (0.1, 0.3, 0.6):
        assert list(nms(boxes, scores, thr)) == _nms_ref(boxes, scores, thr)


def test_batched_nms_keeps_overlaps_of_other_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.0]])
    scores = np.array([0.9, 0.8, 0.7])
    keep = batched_nms(boxes, scores, np.array([0, 0, 1]), 0.3)
    assert list(keep) == [0, 2]
    assert list(nms(np.zeros((0, 4)), np.zeros(0))) == []
