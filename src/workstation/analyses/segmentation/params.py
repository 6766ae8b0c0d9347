"""Parameters of a segmentation run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from workstation.core.params import Params, param

DEFAULT_MODEL = "chest-organs"


@dataclass(frozen=True)
class SegmentationParams(Params):
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

    model: str = param(DEFAULT_MODEL, label="Model", panel=False)
    overlap: float = param(0.25, lo=0.0, hi=0.9, step=0.05, label="Tile overlap")
    batch_size: int = param(2, lo=1, hi=64, label="Batch size")
    blending: str = param("gaussian", choices=("gaussian", "constant"), label="Blending", panel=False)
    models_dir: Optional[str] = param(None, panel=False)
