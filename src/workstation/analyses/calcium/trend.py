"""Calcium scores of one patient over time, and whether they progressed.

Progression is flagged with the square-root method of Hokanson et al. (AJR Am J
Roentgenol 2004;182:1327-1332): ``sqrt(new) - sqrt(old) >= 2.5`` exceeds the
interscan variability of the Agatston score.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

HOKANSON_LIMIT = 2.5
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class ScorePoint:
    """One scan: its date and total Agatston score (study UID to drop duplicates)."""

    when: date
    agatston: float
    study_uid: str = ""


@dataclass(frozen=True)
class Change:
    """Change between two consecutive scans."""

    start: date
    end: date
    absolute: float
    per_year: Optional[float]
    sqrt_difference: float
    progressed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "absolute": self.absolute,
            "per_year": self.per_year,
            "sqrt_difference": self.sqrt_difference,
            "progressed": self.progressed,
        }


def hokanson_progressed(old: float, new: float, limit: float = HOKANSON_LIMIT) -> bool:
    """True when ``sqrt(new) - sqrt(old) >= limit``."""
    return math.sqrt(max(new, 0.0)) - math.sqrt(max(old, 0.0)) >= limit


def changes(points: Sequence[ScorePoint]) -> list[Change]:
    """Changes between consecutive scans in date order (same-study duplicates dropped)."""
    seen: set[str] = set()
    ordered: list[ScorePoint] = []
    for p in sorted(points, key=lambda p: p.when):
        if p.study_uid and p.study_uid in seen:
            continue
        seen.add(p.study_uid)
        ordered.append(p)
    out = []
    for old, new in zip(ordered[:-1], ordered[1:]):
        years = (new.when - old.when).days / DAYS_PER_YEAR
        delta = new.agatston - old.agatston
        out.append(
            Change(
                start=old.when,
                end=new.when,
                absolute=delta,
                per_year=delta / years if years > 0 else None,
                sqrt_difference=math.sqrt(max(new.agatston, 0.0)) - math.sqrt(max(old.agatston, 0.0)),
                progressed=hokanson_progressed(old.agatston, new.agatston),
            )
        )
    return out


def _parse_date(value: Any) -> Optional[date]:
    if not value:
        return None
    text = str(value).replace("-", "")
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


def points_from_records(records: Iterable[dict[str, Any]], patient_id: str) -> list[ScorePoint]:
    """Score points of ``patient_id`` from calcium.json records (others are skipped)."""
    out = []
    for rec in records:
        if str(rec.get("patient_id", "")) != patient_id:
            continue
        when = _parse_date(rec.get("study_date"))
        if when is None or rec.get("agatston_total") is None:
            continue
        out.append(ScorePoint(when, float(rec["agatston_total"]), str(rec.get("study_uid", ""))))
    return out


def load_records(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read calcium.json files (folders are searched recursively); unreadable ones are skipped."""
    records = []
    for path in paths:
        p = Path(path)
        files = sorted(p.rglob("calcium.json")) if p.is_dir() else [p]
        for f in files:
            try:
                data = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                records.append(data)
    return records


def describe(changes_: Sequence[Change]) -> str:
    """One line per interval: dates, change, change per year, Hokanson flag."""
    lines = []
    for c in changes_:
        rate = f", {c.per_year:+.1f}/year" if c.per_year is not None else ""
        flag = "progression" if c.progressed else "no significant progression"
        lines.append(f"{c.start.isoformat()} -> {c.end.isoformat()}: {c.absolute:+.1f}{rate} "
                     f"(sqrt diff {c.sqrt_difference:.2f}: {flag})")
    return "\n".join(lines)


def history(
    patient_id: str, study_date: str, agatston_total: float, study_uid: str, search: Iterable[str | Path]
) -> list[Change]:
    """Changes between earlier calcium.json records of ``patient_id`` and this result."""
    if not patient_id:
        return []
    points = points_from_records(load_records(search), patient_id)
    points = [p for p in points if not (study_uid and p.study_uid == study_uid)]
    when = _parse_date(study_date)
    if when is None or not points:
        return []
    return changes([*points, ScorePoint(when, agatston_total, study_uid)])
