"""The result of calcium scoring: lesions, totals per artery, risk category, MESA
percentile and MESA 10-year CHD risk."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.calcium import chd_risk, mesa, risk
from workstation.analyses.calcium.params import ARTERIES, NOT_CORONARY, CalciumParams
from workstation.analyses.calcium.scoring import Lesion
from workstation.core.provenance import Provenance

#: The parameters that feed the MESA CHD risk equation besides age, sex and race.
RISK_FACTOR_PARAMS = (*chd_risk.FACTORS, "known_chd")
DECISION_SUPPORT = ("Decision support: a population estimate of 10-year CHD risk (MESA, ages 45-85 without "
                    "known CHD), not a diagnosis.")


#: How the JSON, the table and the report number slices (the viewer's convention).
SLICE_NUMBERING = ("slice_numbers count from 1 along the slice normal, as the viewer shows them "
                   "(slice 1 is the first plane of the series); centroid_index_zyx is a 0-based array index")


@dataclass(frozen=True, eq=False)
class CalciumResult:
    """Scores of one CT.  Lesions assigned to ``"none"`` count in no total.

    ``voxel_index`` / ``voxel_lesion`` list the flat voxel indices of every lesion
    and its id on the ``shape`` grid, for overlays and the label image.
    """

    lesions: tuple[Lesion, ...]
    params: CalciumParams
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    voxel_index: NDArray[np.int64]
    voxel_lesion: NDArray[np.int32]
    provenance: Provenance
    age: Optional[float] = None
    sex: Optional[str] = None
    race: Optional[str] = None
    race_source: str = ""
    device: str = "cpu"
    warnings: tuple[str, ...] = ()
    excluded_components: int = 0
    aortic_root_mm: Optional[tuple[float, float, float]] = None
    patient_id: str = ""
    study_uid: str = ""
    study_date: str = ""

    # -- totals ---------------------------------------------------------------------
    @property
    def counted(self) -> tuple[Lesion, ...]:
        return tuple(les for les in self.lesions if les.artery != NOT_CORONARY)

    @property
    def agatston_total(self) -> float:
        return float(sum(les.agatston for les in self.counted))

    @property
    def volume_mm3_total(self) -> float:
        return float(sum(les.volume_mm3 for les in self.counted))

    @property
    def mass_mg_total(self) -> float:
        return float(sum(les.mass_mg for les in self.counted))

    def per_artery(self) -> dict[str, dict[str, float]]:
        out = {a: {"agatston": 0.0, "volume_mm3": 0.0, "mass_mg": 0.0, "lesions": 0} for a in ARTERIES}
        for les in self.counted:
            row = out[les.artery]
            row["agatston"] += les.agatston
            row["volume_mm3"] += les.volume_mm3
            row["mass_mg"] += les.mass_mg
            row["lesions"] += 1
        return out

    @property
    def risk_category(self) -> str:
        return risk.risk_category(self.agatston_total)

    @property
    def cac_drs(self) -> str:
        per = {a: v["agatston"] for a, v in self.per_artery().items()}
        return risk.cac_drs(self.agatston_total, risk.n_vessels(per))

    @property
    def mesa_percentile(self) -> mesa.MesaPercentile:
        """The MESA percentile of the total score for this age, sex and race (or why none)."""
        return mesa.percentile(self.agatston_total, self.age, self.sex, self.race)

    @property
    def percentile(self) -> Optional[int]:
        return self.mesa_percentile.percentile

    @property
    def risk_factors(self) -> chd_risk.RiskFactors:
        p = self.params
        return chd_risk.RiskFactors(
            age=self.age, sex=self.sex, race=self.race, total_cholesterol=p.total_cholesterol, hdl=p.hdl,
            sbp=p.sbp, bp_medication=p.bp_medication, lipid_medication=p.lipid_medication, smoker=p.smoker,
            diabetes=p.diabetes, family_history=p.family_history, known_chd=p.known_chd)

    @property
    def chd_risk(self) -> chd_risk.ChdRisk:
        """MESA 10-year CHD risk with and without this score (decision support)."""
        return chd_risk.chd_risk(self.risk_factors, self.agatston_total)

    # -- edits ----------------------------------------------------------------------
    def lesion(self, lesion_id: int) -> Lesion:
        for les in self.lesions:
            if les.id == lesion_id:
                return les
        raise KeyError(f"no lesion {lesion_id}; lesions are 1..{len(self.lesions)}")

    def with_artery(self, lesion_id: int, artery: str) -> "CalciumResult":
        """A copy with one lesion assigned to ``artery`` (LM, LAD, LCX, RCA, other, none)."""
        if artery not in ARTERIES and artery != NOT_CORONARY:
            raise ValueError(f"unknown artery {artery!r}; use one of {', '.join(ARTERIES)} or 'none'")
        self.lesion(lesion_id)
        lesions = tuple(les.with_artery(artery) if les.id == lesion_id else les for les in self.lesions)
        overrides = dict(self.params.artery_overrides)
        overrides[lesion_id] = artery
        return replace(self, lesions=lesions, params=replace(self.params, artery_overrides=overrides))

    def with_patient(self, age: Optional[float], sex: Optional[str], race: Optional[str],
                     factors: Optional[CalciumParams] = None) -> "CalciumResult":
        """A copy with other demographics and, from ``factors``, other CHD risk factors
        (the percentile and the risk follow; the scores do not change)."""
        params = self.params
        if factors is not None:
            params = replace(params, **{name: getattr(factors, name) for name in RISK_FACTOR_PARAMS})
        race_key = mesa.normalise_race(race)
        source = self.race_source if race_key == self.race else ("entered" if race_key else "")
        return replace(self, age=age, sex=mesa.normalise_sex(sex), race=race_key, race_source=source, params=params)

    # -- images ---------------------------------------------------------------------
    def label_volume(self, by: str = "id") -> NDArray[np.int32]:
        """Dense ``(z, y, x)`` labels: lesion id (``by="id"``) or density weight (``"weight"``)."""
        out = np.zeros(int(np.prod(self.shape)), dtype=np.int32)
        if by == "weight":
            weights = np.zeros(len(self.lesions) + 1, dtype=np.int32)
            for les in self.lesions:
                weights[les.id] = les.weight
            out[self.voxel_index] = weights[self.voxel_lesion]
        elif by == "id":
            out[self.voxel_index] = self.voxel_lesion
        else:
            raise ValueError(f"label_volume by 'id' or 'weight', not {by!r}")
        return out.reshape(self.shape)

    def lesion_at(self, index_zyx: tuple[int, int, int]) -> Optional[int]:
        """Id of the lesion covering a voxel, or ``None``."""
        flat = int(np.ravel_multi_index(tuple(int(i) for i in index_zyx), self.shape))
        hit = np.flatnonzero(self.voxel_index == flat)
        return int(self.voxel_lesion[hit[0]]) if hit.size else None

    # -- JSON -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        pct = self.mesa_percentile
        chd = self.chd_risk
        return {
            "analysis": "calcium",
            "agatston_total": self.agatston_total,
            "volume_mm3_total": self.volume_mm3_total,
            "mass_mg_total": self.mass_mg_total,
            "per_artery": self.per_artery(),
            "slice_numbering": SLICE_NUMBERING,
            "lesions": [les.to_json() for les in self.lesions],
            "risk_category": self.risk_category,
            "risk_label": risk.RISK_LABELS[self.risk_category],
            "cac_drs": self.cac_drs,
            "percentile": pct.percentile,
            "percentile_reference": mesa.citation(),
            "percentile_note": pct.message or pct.race_statement,
            "percentile_by_race": pct.by_race or None,
            "nonzero_prevalence_pct": pct.nonzero_prevalence_pct,
            "mesa_10y_chd_risk_pct": chd.with_cac_pct,
            "mesa_10y_chd_risk_without_cac_pct": chd.without_cac_pct,
            "chd_risk_note": chd.message or DECISION_SUPPORT,
            "chd_risk_reference": chd_risk.citation(),
            "age": self.age,
            "sex": self.sex,
            "race": self.race,
            "race_source": self.race_source or None,
            "device": self.device,
            "warnings": list(self.warnings),
            "excluded_components": self.excluded_components,
            "aortic_root_mm": list(self.aortic_root_mm) if self.aortic_root_mm is not None else None,
            "patient_id": self.patient_id,
            "study_uid": self.study_uid,
            "study_date": self.study_date,
            "shape_zyx": list(self.shape),
            "spacing_mm_zyx": list(self.spacing),
            "parameters": self.params.to_json(),
            "provenance": self.provenance.to_json(),
        }
