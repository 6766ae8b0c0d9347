"""Parameters of the mammography CAD."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from workstation.core.params import Params, param


@dataclass(frozen=True)
class MammoCadParams(Params):
    """Operating point and mark limits.

    Attributes
    ----------
    score_threshold
        Detector score a mark needs; ``None``: the model's stated operating point.
    iou_threshold
        Marks of one class overlapping more than this (intersection over union) are merged.
    max_per_view
        Most marks shown on one view.
    """

    score_threshold: Optional[float] = param(None, lo=0.01, hi=0.99, step=0.01, label="Score threshold",
                                             none_text="model's operating point")
    iou_threshold: float = param(0.3, lo=0.0, hi=1.0, step=0.05, label="Overlap merge (IoU)")
    max_per_view: int = param(5, lo=1, hi=50, label="Marks per view")
