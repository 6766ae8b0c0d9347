"""Plain data: volumes, series, studies. NumPy only."""

from __future__ import annotations

from workstation.core.progress import Cancelled, ProgressFn
from workstation.core.study import FrameRef, LoadProblem, Patient, Series, Study
from workstation.core.volume import Volume, VolumeSeries

__all__ = [
    "Cancelled",
    "FrameRef",
    "LoadProblem",
    "Patient",
    "ProgressFn",
    "Series",
    "Study",
    "Volume",
    "VolumeSeries",
]
