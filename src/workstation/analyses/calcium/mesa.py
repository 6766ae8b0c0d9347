"""MESA coronary calcium percentile: exact lookup in the published reference values.

``resources/calcium/mesa_cac_reference.json`` holds, for each race (white, black,
hispanic, chinese), sex and whole-year age 45-84, the share of people with CAC > 0 and,
for each percentile n = 1..99, the smallest Agatston score the official MESA CAC
reference calculator assigns to it (McClelland et al., Circulation 2006).  The
percentile of a score is the largest n whose smallest score is <= the score (0 when
none); a score of 0 has percentile 0.  Ages outside 45-84 are outside the reference and
get no number.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Optional

RACES = ("white", "black", "hispanic", "chinese")
SEXES = {"M": "male", "F": "female"}
REFERENCE_FILE = "mesa_cac_reference.json"
AGE_RANGE = (45, 84)

#: Spellings of DICOM Ethnic Group (0010,2160, free text) taken as a MESA group.
#: "Asian" is not mapped: MESA's group is Chinese-American only.
_ETHNIC_GROUP_WORDS = {
    "white": "white", "caucasian": "white", "european": "white",
    "black": "black", "african": "black", "afro": "black",
    "hispanic": "hispanic", "latino": "hispanic", "latina": "hispanic", "latinx": "hispanic",
    "chinese": "chinese",
}


def resource_path(name: str) -> Path:
    """A calcium reference file shipped with the program (package data, else the repository)."""
    try:
        packaged = Path(str(resources.files("workstation") / "resources" / "calcium" / name))
        if packaged.is_file():
            return packaged
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - unusual loaders
        pass
    return Path(__file__).resolve().parents[4] / "resources" / "calcium" / name


def reference_path() -> Path:
    """The shipped MESA CAC reference file."""
    return resource_path(REFERENCE_FILE)


@lru_cache(maxsize=4)
def load_reference(path: Optional[str] = None) -> dict[str, Any]:
    """Parsed and checked reference (cached); a clear error names the file when it is bad."""
    file = Path(path) if path else reference_path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        lo, hi = (int(a) for a in data["ages"])
        for race in RACES:
            for sex in SEXES.values():
                for age in range(lo, hi + 1):
                    group = data["groups"][race][sex][str(age)]
                    mins = [int(v) for v in group["min_score_for_percentile_1_to_99"]]
                    if len(mins) != 99 or any(b < a for a, b in zip(mins, mins[1:])):
                        raise ValueError(f"{race}/{sex}/{age}: 99 non-decreasing scores expected")
                    float(group["nonzero_pct"])
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: the MESA reference file is missing") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{file}: not a valid MESA reference ({type(exc).__name__}: {exc})") from None
    return data


def citation(reference: Optional[dict[str, Any]] = None) -> str:
    """The publication and the source of the values, for results and reports."""
    ref = reference if reference is not None else load_reference()
    return f"{ref['publication']} Values: {ref['source_of_values']}"


def normalise_sex(sex: Optional[str]) -> Optional[str]:
    """``"M"``, ``"F"`` or ``None`` from DICOM PatientSex or common spellings."""
    if not sex:
        return None
    value = str(sex).strip().upper()
    if value in ("M", "MALE", "MAN"):
        return "M"
    if value in ("F", "FEMALE", "WOMAN", "W"):
        return "F"
    return None


def normalise_race(race: Optional[str]) -> Optional[str]:
    """One of :data:`RACES` from a parameter or DICOM Ethnic Group, else ``None``.

    Free text such as "Caucasian", "African American" or "Hispanic/Latino" is matched
    by word; text naming several groups, or none of MESA's four, gives ``None``.
    """
    if not race:
        return None
    words = "".join(c if c.isalpha() else " " for c in str(race).lower()).split()
    found = {_ETHNIC_GROUP_WORDS[w] for w in words if w in _ETHNIC_GROUP_WORDS}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class MesaPercentile:
    """The percentile of one score, or why there is none.

    ``percentile`` is an integer 0-99 or ``None``; ``message`` says why it is ``None``
    (age or sex unknown, age outside 45-84, race not given).  With the race unknown,
    ``by_race`` gives the percentile for each of MESA's four groups, so the span is seen.
    """

    percentile: Optional[int]
    race: Optional[str]
    nonzero_prevalence_pct: Optional[float]
    message: str = ""
    by_race: dict[str, int] = field(default_factory=dict)

    @property
    def race_statement(self) -> str:
        """Which reference group was used; MESA covers only four groups."""
        groups = ", ".join(RACES)
        if self.race:
            return f"MESA {self.race} reference (MESA covers only {groups})"
        return f"race not given (MESA covers only {groups})"


def _lookup(group: dict[str, Any], score: float) -> int:
    if score <= 0:
        return 0
    mins = group["min_score_for_percentile_1_to_99"]
    n = 0
    for i, smallest in enumerate(mins, start=1):
        if smallest <= score:
            n = i
        else:
            break
    return n


def percentile(
    agatston_total: float,
    age: Optional[float],
    sex: Optional[str],
    race: Optional[str] = None,
    reference: Optional[dict[str, Any]] = None,
) -> MesaPercentile:
    """MESA percentile of ``agatston_total`` for a whole-year ``age``, ``sex`` and ``race``.

    Parameters
    ----------
    agatston_total
        Total Agatston score.
    age
        Age in years; the whole-year age (floor) selects the group.
    sex, race
        DICOM-style sex (``M``/``F``) and one of :data:`RACES` (or Ethnic Group text).
    """
    ref = reference if reference is not None else load_reference()
    sex_key = normalise_sex(sex)
    race_key = normalise_race(race)
    if age is None or not math.isfinite(float(age)):
        return MesaPercentile(None, race_key, None, "age unknown")
    if sex_key is None:
        return MesaPercentile(None, race_key, None, "sex unknown")
    whole = int(math.floor(float(age)))
    lo, hi = (int(a) for a in ref["ages"])
    if not lo <= whole <= hi:
        return MesaPercentile(None, race_key, None, f"age {whole} is outside the MESA reference ({lo}-{hi} years)")
    sex_name = SEXES[sex_key]
    groups = {r: ref["groups"][r][sex_name][str(whole)] for r in RACES}
    if race_key is None:
        by_race = {r: _lookup(g, agatston_total) for r, g in groups.items()}
        return MesaPercentile(None, None, None, "race not given: choose one of " + ", ".join(RACES), by_race)
    group = groups[race_key]
    return MesaPercentile(_lookup(group, agatston_total), race_key, float(group["nonzero_pct"]))
