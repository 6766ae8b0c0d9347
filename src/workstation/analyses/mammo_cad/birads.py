"""A suggested BI-RADS assessment category from CAD findings, worded as decision support.

The CAD never assigns a category; it suggests one for the radiologist to review.
Mapping (per breast, then the most actionable breast for the exam):

* no mark at or above the operating threshold -> **1, negative**;
* one or more marks -> **0, incomplete**: additional imaging evaluation and/or
  comparison with prior examinations;
* a mark of score >= ``SUSPICIOUS_SCORE`` of the same type in *both* the CC and the
  MLO view of one breast (a finding seen in two projections) -> **4, suspicious**.

Exam order of precedence: 4, then 0, then 1.  Categories 2, 3, 5 and 6 need
information the CAD does not have (priors, morphology review, pathology) and are never
suggested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

SUSPICIOUS_SCORE = 0.6

WORDING: dict[int, str] = {
    1: "BI-RADS 1 - negative: no CAD marks at the operating threshold",
    0: "BI-RADS 0 - incomplete: additional imaging evaluation and/or comparison with prior "
       "examinations is suggested",
    4: "BI-RADS 4 - suspicious abnormality: a finding is marked in both projections; tissue "
       "diagnosis should be considered",
}
_PRECEDENCE = (4, 0, 1)


@dataclass(frozen=True)
class Suggestion:
    """A suggested category and its sentence, per breast and for the exam."""

    category: int
    text: str
    per_breast: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category, "text": self.text, "per_breast": dict(self.per_breast)}


def _breast_category(findings: Sequence[Any], side: str) -> int:
    mine = [f for f in findings if f.laterality == side]
    if not mine:
        return 1
    for kind in ("mass", "calcification"):
        strong = {f.position for f in mine if f.kind == kind and f.score >= SUSPICIOUS_SCORE}
        if {"CC", "MLO"} <= strong:
            return 4
    return 0


def suggest(findings: Sequence[Any]) -> Suggestion:
    """Suggested category for findings with ``laterality``, ``position``, ``kind``, ``score``."""
    per_breast = {side: _breast_category(findings, side) for side in ("R", "L")}
    category = next(c for c in _PRECEDENCE if c in per_breast.values())
    sides = [s for s, c in per_breast.items() if c == category and c != 1]
    where = f" ({' and '.join('right' if s == 'R' else 'left' for s in sides)} breast)" if sides else ""
    text = f"Suggested for radiologist review: {WORDING[category]}{where}. Not for clinical use."
    return Suggestion(category, text, per_breast)
