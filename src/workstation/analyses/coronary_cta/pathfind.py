"""Minimal-cost paths through the vessel between user points.

The cost of travelling 1 mm through a voxel is ``1 / (eps + V * I)``: ``V`` the
vesselness normalised to its largest value in the region, ``I`` a smooth step from 0
to 1 around the lumen threshold (a logistic of width 10 % of the lumen contrast).  It
is low on the axis of a contrast-filled vessel, high in fat, myocardium and at
calcium (which is bright but blob-like), and finite everywhere, so a path still
crosses an occlusion.  The cost is computed on the backend's device; the path search
is scikit-image's ``MCP_Geometric`` (Dijkstra with diagonal moves weighted by their
length, anisotropic voxels through ``sampling``) on the host, between consecutive
points (start, waypoints, end).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.compute.arrays import array_module

#: Speed floor: one millimetre outside any vessel costs 1 / EPS.
EPS = 1e-3


def cost_map(hu: Any, vesselness: Any, lumen_threshold_hu: float, lumen_hu: float) -> Any:
    """The travel cost per mm (float32, on the arrays' device) of every voxel of a region."""
    xp = array_module(hu, vesselness)
    peak = float(vesselness.max())
    v = vesselness / np.float32(peak) if peak > 0 else vesselness
    width = max(0.1 * abs(lumen_hu - lumen_threshold_hu), 1.0)
    step = 1.0 / (1.0 + xp.exp(-(hu.astype(xp.float32) - np.float32(lumen_threshold_hu)) / np.float32(width)))
    return (1.0 / (EPS + v * step)).astype(xp.float32)


def minimal_path(cost: NDArray[Any], spacing: Sequence[float], points: Sequence[Sequence[int]]) -> NDArray[np.int64]:
    """Voxel indices (n, 3) of the cheapest path through ``points`` (voxel indices, in order).

    Raises ``ValueError`` when a point lies outside ``cost`` or no path joins two points.
    """
    from skimage.graph import MCP_Geometric

    shape = np.asarray(cost.shape)
    idx = [tuple(int(v) for v in p) for p in points]
    for p in idx:
        if np.any(np.asarray(p) < 0) or np.any(np.asarray(p) >= shape):
            raise ValueError(f"point {p} lies outside the search region {tuple(shape)}")
    mcp = MCP_Geometric(np.ascontiguousarray(cost, dtype=np.float64), fully_connected=True,
                        sampling=tuple(float(s) for s in spacing))
    path: list[tuple[int, ...]] = [idx[0]]
    for start, end in zip(idx[:-1], idx[1:]):
        costs, _ = mcp.find_costs([start], [end])
        if not np.isfinite(costs[end]):
            raise ValueError(f"no path joins {start} and {end}")
        segment = mcp.traceback(end)
        path.extend(tuple(int(v) for v in p) for p in segment[1:])
    return np.asarray(path, dtype=np.int64)
