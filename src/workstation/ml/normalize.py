"""Intensity normalisation a model's manifest asks for (NumPy or CuPy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from workstation.compute.arrays import array_module
from workstation.ml.manifest import Normalization


def normalize(array: Any, norm: Normalization) -> Any:
    """Map raw values (HU for CT) to network input, float32.

    Parameters
    ----------
    array
        Image values in physical units, NumPy or CuPy.
    norm
        ``ct-window``: ``(clip(v, lo, hi) - lo) / (hi - lo)`` in [0, 1].
        ``zscore``: optional clip to [lo, hi], then ``(v - mean) / std`` with the
        manifest's mean/std or, when absent, the image's own.
        ``minmax``: ``(v - a) / (b - a)`` clipped to [0, 1] where a, b are the image's
        min and max, or its ``lo``/``hi`` percentiles when given.
    """
    xp = array_module(array)
    v = array.astype(xp.float32, copy=False)
    if norm.type == "ct-window":
        lo, hi = float(norm.lo), float(norm.hi)  # type: ignore[arg-type]
        return (xp.clip(v, lo, hi) - lo) / (hi - lo)
    if norm.type == "zscore":
        if norm.lo is not None or norm.hi is not None:
            v = xp.clip(v, -np.inf if norm.lo is None else norm.lo, np.inf if norm.hi is None else norm.hi)
        mean = float(v.mean()) if norm.mean is None else norm.mean
        std = float(v.std()) if norm.std is None else norm.std
        return (v - mean) / max(std, 1e-8)
    if norm.type == "minmax":
        if norm.lo is not None and norm.hi is not None:
            a = float(xp.percentile(v, norm.lo))
            b = float(xp.percentile(v, norm.hi))
        else:
            a, b = float(v.min()), float(v.max())
        return xp.clip((v - a) / max(b - a, 1e-8), 0.0, 1.0)
    raise ValueError(f"unknown normalization {norm.type!r}")


def normalized_value(value: float, norm: Normalization) -> float:
    """Where a fixed raw value (say air, -1000 HU) lands; 0 for image-dependent schemes."""
    if norm.type == "ct-window":
        lo, hi = float(norm.lo), float(norm.hi)  # type: ignore[arg-type]
        return (min(max(value, lo), hi) - lo) / (hi - lo)
    if norm.type == "zscore" and norm.mean is not None and norm.std is not None:
        v = value
        if norm.lo is not None:
            v = max(v, norm.lo)
        if norm.hi is not None:
            v = min(v, norm.hi)
        return (v - norm.mean) / norm.std
    return 0.0

