"""Parameters of coronary calcium scoring, with the clinical defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional

from workstation.analyses.calcium.mesa import RACES
from workstation.core.params import Params, param

ARTERIES: tuple[str, ...] = ("LM", "LAD", "LCX", "RCA", "other")
#: Assigning this "artery" removes a lesion from every total (not coronary calcium).
NOT_CORONARY = "none"

VolumeMethod = Literal["voxel", "interpolated"]


@dataclass(frozen=True)
class CalciumParams(Params):
    """How calcium is found and scored.

    Attributes
    ----------
    threshold_hu
        Voxels at or above this value (HU) are calcium candidates (Agatston: 130).
    min_area_mm2
        2D lesions smaller than this on their slice are ignored (1 mm^2).
    reference_increment_mm
        Agatston's reference slice increment; scores of other increments are scaled
        by ``increment / reference`` (3 mm).
    mass_calibration
        ``c_HA`` in mg hydroxyapatite per cm^3 per HU; mass = c_HA * mean HU * volume.
    volume_method
        ``"voxel"``: voxel count x voxel volume; ``"interpolated"``: slice areas joined
        by truncated cones between neighbouring slices (half a slab at each end).
    auto_exclude
        Drop 3D components that cannot be coronary calcium: longer than
        ``max_lesion_length_mm`` along z, larger than ``max_lesion_volume_mm3``, or
        farther than ``max_root_distance_mm`` from the aortic root (bone, typically).
    aortic_root_mm
        Aortic root (x, y, z mm, LPS); ``None``: estimated from the image.
    age, sex, race
        For the MESA percentile and CHD risk; ``None`` takes them from the image header
        (PatientAge or birth date, PatientSex, Ethnic Group where it names one of MESA's
        four groups: white, black, hispanic, chinese).
    total_cholesterol, hdl, sbp, bp_medication, lipid_medication, smoker, diabetes, family_history
        Risk factors of the MESA 10-year CHD risk equation (mg/dL, mg/dL, mmHg, yes/no);
        ``None``: not given (no risk is computed).  The bounds are plausibility checks
        of what is typed, not the equation's validity range.
    known_chd
        The patient has known coronary heart disease: the MESA equation does not apply.
    artery_overrides
        Lesion id -> artery chosen by the user; wins over the suggestion.
    """

    threshold_hu: float = param(130.0, unit="HU", lo=50.0, hi=1000.0, label="Threshold", step=10.0)
    min_area_mm2: float = param(1.0, unit="mm²", lo=0.0, hi=20.0, label="Min. area", step=0.25)
    reference_increment_mm: float = param(3.0, unit="mm", lo=0.5, hi=10.0, label="Reference increment", panel=False)
    mass_calibration: float = param(0.74, unit="mg/cm³/HU", lo=0.1, hi=2.0, label="Mass calibration", step=0.01,
                                    json_key="mass_calibration_mg_per_cm3_per_hu")
    volume_method: VolumeMethod = param("voxel", label="Volume")
    auto_exclude: bool = param(True, label="Drop bone-like components")
    max_lesion_length_mm: float = param(45.0, unit="mm", lo=0.0, hi=500.0, panel=False)
    max_lesion_volume_mm3: float = param(3000.0, unit="mm³", lo=0.0, hi=1e6, panel=False)
    max_root_distance_mm: float = param(130.0, unit="mm", lo=0.0, hi=1000.0, panel=False)
    aortic_root_mm: Optional[tuple[float, float, float]] = param(None, unit="mm", panel=False)
    age: Optional[float] = param(None, unit="y", lo=0.0, hi=120.0, label="Age", step=1.0)
    sex: Optional[str] = param(None, choices=("M", "F"), label="Sex")
    race: Optional[str] = param(None, choices=RACES, label="Race", doc="MESA covers only these four groups")
    total_cholesterol: Optional[float] = param(None, unit="mg/dL", lo=50.0, hi=600.0, label="Total cholesterol",
                                               step=1.0)
    hdl: Optional[float] = param(None, unit="mg/dL", lo=5.0, hi=200.0, label="HDL cholesterol", step=1.0)
    sbp: Optional[float] = param(None, unit="mmHg", lo=60.0, hi=300.0, label="Systolic BP", step=1.0)
    bp_medication: Optional[bool] = param(None, label="On BP medication")
    lipid_medication: Optional[bool] = param(None, label="On lipid medication")
    smoker: Optional[bool] = param(None, label="Current smoker")
    diabetes: Optional[bool] = param(None, label="Diabetes")
    family_history: Optional[bool] = param(None, label="Family history of heart attack",
                                           doc="heart attack in a first-degree relative")
    known_chd: bool = param(False, label="Known CHD (risk equation not applicable)")
    artery_overrides: Mapping[int, str] = param(default_factory=dict, panel=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        for lesion_id, artery in dict(self.artery_overrides).items():
            if artery not in ARTERIES and artery != NOT_CORONARY:
                raise ValueError(f"lesion {lesion_id}: unknown artery {artery!r}; use one of {ARTERIES} or 'none'")
