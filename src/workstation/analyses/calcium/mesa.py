"""Age-, sex- and race-specific percentile of a total Agatston score (MESA reference).

The reference lives in ``resources/calcium/mesa_reference.json`` with its citation
and its status; read its README before trusting the numbers (the shipped file is an
approximation shaped like MESA, not the official table).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Optional

RACES = ("white", "black", "hispanic", "chinese")
REFERENCE_FILE = "mesa_reference.json"


def reference_path() -> Path:
    """The shipped reference file (inside the package when installed, else the repository)."""
    try:
        packaged = Path(str(resources.files("workstation") / "resources" / "calcium" / REFERENCE_FILE))
        if packaged.is_file():
            return packaged
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - unusual loaders
        pass
    return Path(__file__).resolve().parents[4] / "resources" / "calcium" / REFERENCE_FILE


@lru_cache(maxsize=4)
def load_reference(path: Optional[str] = None) -> dict[str, Any]:
    """Parsed reference (cached); a clear error names the file when it is missing or bad."""
    file = Path(path) if path else reference_path()
    try:
        data = json.loads(file.read_text())
        for sex in ("M", "F"):
            for race in RACES:
                model = data["models"][sex][race]
                for key in ("a", "b", "m0", "m1", "sigma"):
                    float(model[key])
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: the MESA reference file is missing") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{file}: not a valid MESA reference ({type(exc).__name__}: {exc})") from None
    return data


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


def _model_percentile(model: dict[str, float], age: float, score: float) -> float:
    t = age - 60.0
    p_pos = 1.0 / (1.0 + math.exp(-(model["a"] + model["b"] * t)))
    z = (math.log(score) - (model["m0"] + model["m1"] * t)) / model["sigma"]
    phi = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    return 100.0 * (1.0 - p_pos + p_pos * phi)


def percentile(
    agatston_total: float,
    age: Optional[float],
    sex: Optional[str],
    race: Optional[str] = None,
    reference: Optional[dict[str, Any]] = None,
) -> Optional[float]:
    """Percentile (0-100) of ``agatston_total`` among people of the same age, sex, race.

    Returns ``None`` when age or sex is unknown or the age is outside the reference
    range.  A score of 0 is at the reference's ``percentile_of_zero`` (0).  With
    ``race=None`` the mean over the four races is returned.
    """
    ref = reference if reference is not None else load_reference()
    sex_key = normalise_sex(sex)
    if age is None or sex_key is None:
        return None
    lo, hi = ref["age_range"]
    if not lo <= age <= hi:
        return None
    if agatston_total <= 0:
        return float(ref.get("percentile_of_zero", 0.0))
    if race is not None and race.lower() not in RACES:
        raise ValueError(f"unknown race {race!r}; use one of {', '.join(RACES)} or None")
    races = [race.lower()] if race else list(RACES)
    values = [_model_percentile(ref["models"][sex_key][r], float(age), float(agatston_total)) for r in races]
    return float(sum(values) / len(values))


def reference_status(reference: Optional[dict[str, Any]] = None) -> str:
    """One line for reports: what the reference is and how far to trust it."""
    ref = reference if reference is not None else load_reference()
    status = ref.get("status", "unknown")
    return f"{ref.get('name', 'MESA reference')} [{status}]"
