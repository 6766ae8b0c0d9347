"""MESA 10-year coronary heart disease risk with and without coronary calcium.

The equation of McClelland et al. (JACC 2015, Table 2), shipped with its coefficients in
``resources/calcium/mesa_chd_risk_2015.json``::

    risk = 1 - S0 ** exp(sum_i beta_i * x_i)

with no centring of the covariates; the with-CAC model adds ``ln(Agatston + 1)``.
Derived in people aged 45-85 without known CHD: outside that the risk is not given.
Decision support: a population estimate, not a diagnosis.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.calcium.mesa import RACES, normalise_race, normalise_sex, resource_path

RISK_FILE = "mesa_chd_risk_2015.json"
AGE_RANGE = (45.0, 85.0)
#: The risk factors a user types in, with their units (batch ``--param`` names).
FACTORS = {
    "total_cholesterol": "mg/dL",
    "hdl": "mg/dL",
    "sbp": "mmHg",
    "bp_medication": "0/1",
    "lipid_medication": "0/1",
    "smoker": "0/1",
    "diabetes": "0/1",
    "family_history": "0/1",
}


@lru_cache(maxsize=2)
def load_equation(path: Optional[str] = None) -> dict[str, Any]:
    """Parsed coefficients (cached); a clear error names the file when it is bad."""
    file = Path(path) if path else resource_path(RISK_FILE)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        for model in ("with_cac", "without_cac"):
            float(data[model]["S0"])
            for value in data[model]["beta"].values():
                float(value)
    except FileNotFoundError:
        raise FileNotFoundError(f"{file}: the MESA CHD risk file is missing") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{file}: not a valid MESA CHD risk file ({type(exc).__name__}: {exc})") from None
    return data


def citation() -> str:
    """The publication of the equation."""
    return str(load_equation()["publication"])


@dataclass(frozen=True)
class RiskFactors:
    """The covariates of the MESA equation; ``None`` where not given."""

    age: Optional[float] = None
    sex: Optional[str] = None
    race: Optional[str] = None
    total_cholesterol: Optional[float] = None
    hdl: Optional[float] = None
    sbp: Optional[float] = None
    bp_medication: Optional[bool] = None
    lipid_medication: Optional[bool] = None
    smoker: Optional[bool] = None
    diabetes: Optional[bool] = None
    family_history: Optional[bool] = None
    known_chd: bool = False

    def missing(self) -> list[str]:
        """Names of the covariates not given (the risk needs all of them)."""
        names = ["age", "sex", "race", *FACTORS]
        return [n for n in names if getattr(self, n) is None]


@dataclass(frozen=True)
class ChdRisk:
    """10-year CHD risk in percent with and without CAC, or why there is none."""

    with_cac_pct: Optional[float]
    without_cac_pct: Optional[float]
    message: str = ""


def _linear(beta: dict[str, float], f: RiskFactors, sex: str, race: str, agatston: Optional[float]) -> float:
    x: dict[str, float] = {
        "age": float(f.age or 0.0),
        "male": 1.0 if sex == "M" else 0.0,
        "chinese": float(race == "chinese"),
        "black": float(race == "black"),
        "hispanic": float(race == "hispanic"),
        "diabetes": float(bool(f.diabetes)),
        "smoker": float(bool(f.smoker)),
        "total_cholesterol": float(f.total_cholesterol or 0.0),
        "hdl": float(f.hdl or 0.0),
        "lipid_medication": float(bool(f.lipid_medication)),
        "sbp": float(f.sbp or 0.0),
        "bp_medication": float(bool(f.bp_medication)),
        "family_history": float(bool(f.family_history)),
    }
    if agatston is not None:
        x["ln_cac_plus_1"] = math.log(max(float(agatston), 0.0) + 1.0)
    return sum(float(b) * x[name] for name, b in beta.items())


def _risk(model: dict[str, Any], linear: float) -> float:
    return 100.0 * (1.0 - float(model["S0"]) ** math.exp(linear))


def chd_risk(factors: RiskFactors, agatston_total: float) -> ChdRisk:
    """The MESA 10-year CHD risk (percent) with and without the Agatston score.

    Returns ``None`` values with a message when a covariate is missing, the age is
    outside 45-85 years, the race is not one of MESA's four, or CHD is known.
    """
    if factors.known_chd:
        return ChdRisk(None, None, "not applicable: the MESA equation is for people without known CHD")
    missing = factors.missing()
    if missing:
        return ChdRisk(None, None, "risk factors not given: " + ", ".join(missing))
    sex = normalise_sex(factors.sex)
    race = normalise_race(factors.race)
    if sex is None:
        return ChdRisk(None, None, f"sex {factors.sex!r} not understood (M or F)")
    if race is None:
        return ChdRisk(None, None, f"race {factors.race!r} is not a MESA group ({', '.join(RACES)})")
    age = float(factors.age)  # type: ignore[arg-type]
    lo, hi = AGE_RANGE
    if not lo <= age <= hi:
        return ChdRisk(None, None, f"age {age:g} is outside the MESA risk equation's range ({lo:g}-{hi:g} years)")
    eq = load_equation()
    with_cac = _risk(eq["with_cac"], _linear(eq["with_cac"]["beta"], factors, sex, race, agatston_total))
    without = _risk(eq["without_cac"], _linear(eq["without_cac"]["beta"], factors, sex, race, None))
    return ChdRisk(with_cac, without)
