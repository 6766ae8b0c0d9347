"""Normal ranges shown beside the results, read from ``resources/cardiac/reference_ranges.json``.

A range is the published mean +- 1.96 SD of healthy adults of the patient's sex; with
the sex unknown both are given.  The file names its sources (see its README).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Optional

from workstation.core.paths import resource_file

Z95 = 1.96


@dataclass(frozen=True)
class NormalRange:
    """A reference interval of one value for one sex."""

    lo: float
    hi: float
    unit: str
    sex: str
    source: str

    def contains(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def text(self) -> str:
        return f"{self.lo:.0f}-{self.hi:.0f} {self.unit}".replace(" %", "%")


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The reference file's contents."""
    return json.loads(resource_file("cardiac", "reference_ranges.json").read_text(encoding="utf-8"))


def ranges(key: str, sex: str) -> list[NormalRange]:
    """The ranges of ``key`` (e.g. ``lv_ef_pct``) for ``sex`` (``M``/``F``; both when unknown)."""
    entry = table()["ranges"].get(key)
    if entry is None:
        return []
    sexes = [sex] if sex in ("M", "F") else ["M", "F"]
    return [NormalRange(entry[s][0] - Z95 * entry[s][1], entry[s][0] + Z95 * entry[s][1], entry["unit"], s,
                        entry["source"]) for s in sexes if s in entry]


def range_text(key: str, sex: str) -> str:
    """``"107-217 ml"`` (or ``"M 107-217 ml / F 84-186 ml"`` when the sex is unknown); ``"-"`` without one."""
    found = ranges(key, sex)
    if not found:
        return "-"
    if len(found) == 1:
        return found[0].text()
    return " / ".join(f"{r.sex} {r.text()}" for r in found)


def flag(key: str, sex: str, value: Optional[float]) -> str:
    """``"low"``, ``"high"`` or ``""`` against the sex's range (nothing when the sex is unknown)."""
    found = ranges(key, sex)
    if value is None or len(found) != 1:
        return ""
    r = found[0]
    return "low" if value < r.lo else "high" if value > r.hi else ""


def sources_used() -> list[str]:
    """Full citations of every source the table uses."""
    data = table()
    keys = dict.fromkeys(entry["source"] for entry in data["ranges"].values())
    return [f"{data['sources'][k]}" for k in keys]
