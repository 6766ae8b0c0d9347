"""Risk categories of a total Agatston score, and CAC-DRS.

* Risk categories (Rumberger et al., Mayo Clin Proc 1999;74:243-252): 0 (no
  identifiable plaque), 1-10 (minimal), 11-100 (mild), 101-400 (moderate),
  > 400 (extensive).
* CAC-DRS (Hecht et al., J Cardiovasc Comput Tomogr 2018;12:185-191): A0 for a
  score of 0, A1 for 1-99, A2 for 100-299, A3 for >= 300, followed by ``/N`` and the
  number of coronary vessels with calcium (LM, LAD, LCX, RCA; 1-4).  Fractional
  totals between 0 and 1 count as A1.
"""

from __future__ import annotations

from typing import Mapping

CORONARY_VESSELS = ("LM", "LAD", "LCX", "RCA")

RISK_LABELS = {
    "0": "no identifiable plaque",
    "1-10": "minimal plaque",
    "11-100": "mild plaque",
    "101-400": "moderate plaque",
    ">400": "extensive plaque",
}


def risk_category(agatston_total: float) -> str:
    """``"0"``, ``"1-10"``, ``"11-100"``, ``"101-400"`` or ``">400"``."""
    if agatston_total < 0:
        raise ValueError(f"an Agatston score cannot be negative ({agatston_total})")
    if agatston_total == 0:
        return "0"
    if agatston_total <= 10:
        return "1-10"
    if agatston_total <= 100:
        return "11-100"
    if agatston_total <= 400:
        return "101-400"
    return ">400"


def n_vessels(per_artery_agatston: Mapping[str, float]) -> int:
    """Number of the four coronary vessels with a non-zero score."""
    return sum(1 for v in CORONARY_VESSELS if per_artery_agatston.get(v, 0.0) > 0)


def cac_drs(agatston_total: float, vessels: int) -> str:
    """CAC-DRS category, e.g. ``"A0"`` or ``"A2/N3"``."""
    if agatston_total < 0:
        raise ValueError(f"an Agatston score cannot be negative ({agatston_total})")
    if agatston_total == 0:
        return "A0"
    if agatston_total < 100:
        grade = "A1"
    elif agatston_total < 300:
        grade = "A2"
    else:
        grade = "A3"
    return f"{grade}/N{max(1, min(4, vessels))}"
