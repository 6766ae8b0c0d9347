"""Vessel names suggested from a vessel's course, and the CAD-RADS category of a set of vessels.

Directions are DICOM LPS (``+x`` patient left, ``+y`` posterior, ``+z`` head).  From the
vessel's start (its ostium, or a branch point): the right coronary artery runs to the
patient's right and down the right atrioventricular groove; on the left, a short
vessel is the left main, the LAD runs anteriorly and down the interventricular groove
toward the apex, the LCX to the left and posteriorly in the left atrioventricular
groove.  The user's name always wins; these are suggestions.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

NAMES: tuple[str, ...] = ("LM", "LAD", "LCX", "RCA", "D1", "D2", "OM1", "OM2", "PDA", "PLV", "Ramus", "other")
#: A left vessel shorter than this is the left main.
LM_MAX_MM = 20.0


def suggest(centreline_mm: NDArray[np.float64], root_mm: Optional[Sequence[float]] = None) -> str:
    """LM, LAD, LCX or RCA from where the vessel goes (relative to the aortic root when known)."""
    c = np.asarray(centreline_mm, dtype=np.float64)
    start = np.asarray(root_mm, dtype=np.float64) if root_mm is not None else c[0]
    course = c[-1] - c[0]
    length = float(np.sum(np.linalg.norm(np.diff(c, axis=0), axis=1)))
    side = float(np.mean(c[:, 0]) - start[0])
    if side < -5.0 or (root_mm is None and course[0] < -0.3 * np.linalg.norm(course)):
        return "RCA"
    if length < LM_MAX_MM:
        return "LM"
    return "LAD" if course[1] < 0.3 * course[0] else "LCX"


def unique(names: Iterable[str]) -> list[str]:
    """``names`` with repeats numbered (``LAD``, ``LAD 2``...), so every vessel has its own key."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


#: Which main vessel's territory a named vessel belongs to.
TERRITORY = {"LM": "LM", "LAD": "LAD", "D": "LAD", "LCX": "LCX", "OM": "LCX", "Ramus": "LCX", "RCA": "RCA",
             "PDA": "RCA", "PLV": "RCA"}


def territory(name: str) -> str:
    """``LAD`` for LAD, D1, "LAD 2"...; ``""`` for names outside the table."""
    base = name.split()[0] if name.split() else ""
    return TERRITORY.get(base, TERRITORY.get(base.rstrip("0123456789"), ""))


def cad_rads(max_percent: dict[str, float], occluded: Iterable[str] = ()) -> str:
    """CAD-RADS 2.0 stenosis category (Cury et al., JCCT 16:536, 2022) of the analysed vessels.

    ``max_percent`` maps vessel names to their worst percent diameter stenosis.  4B:
    left main >= 50 % or three-vessel >= 70 %; 4A: 70-99 %; 3: 50-69 %; 2: 25-49 %;
    1: 1-24 %; 0: none; 5: an occlusion.
    """
    if any(True for _ in occluded):
        return "5"
    worst = max(max_percent.values(), default=0.0)
    severe = {territory(name) for name, pct in max_percent.items() if pct >= 70.0}
    left_main = any(territory(name) == "LM" and pct >= 50.0 for name, pct in max_percent.items())
    if left_main or {"LAD", "LCX", "RCA"} <= severe:
        return "4B"
    for threshold, category in ((70.0, "4A"), (50.0, "3"), (25.0, "2"), (1.0, "1")):
        if worst >= threshold:
            return category
    return "0"
