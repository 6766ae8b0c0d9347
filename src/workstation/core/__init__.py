"""Plain data: volumes, series, studies and their non-image objects, overlays. NumPy only."""

from __future__ import annotations

from workstation.core.progress import Cancelled, ProgressFn
from workstation.core.study import FrameRef, LoadProblem, NonImageObject, Patient, Series, Study
from workstation.core.volume import Volume, VolumeSeries

__all__ = [
    "Cancelled",
    "FrameRef",
    "LoadProblem",
    "NonImageObject",
    "Patient",
    "ProgressFn",
    "Series",
    "Study",
    "Volume",
    "VolumeSeries",
]
