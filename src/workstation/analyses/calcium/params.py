"""Parameters of coronary calcium scoring, with the clinical defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional

ARTERIES: tuple[str, ...] = ("LM", "LAD", "LCX", "RCA", "other")
#: Assigning this "artery" removes a lesion from every total (not coronary calcium).
NOT_CORONARY = "none"

VolumeMethod = Literal["voxel", "interpolated"]


@dataclass(frozen=True)
class CalciumParams:
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
        For the MESA percentile; ``None`` takes age/sex from the image header.
        ``race`` is one of white, black, hispanic, chinese (``None``: the average).
    artery_overrides
        Lesion id -> artery chosen by the user; wins over the suggestion.
    """

    threshold_hu: float = 130.0
    min_area_mm2: float = 1.0
    reference_increment_mm: float = 3.0
    mass_calibration: float = 0.74
    volume_method: VolumeMethod = "voxel"
    auto_exclude: bool = True
    max_lesion_length_mm: float = 45.0
    max_lesion_volume_mm3: float = 3000.0
    max_root_distance_mm: float = 130.0
    aortic_root_mm: Optional[tuple[float, float, float]] = None
    age: Optional[float] = None
    sex: Optional[str] = None
    race: Optional[str] = None
    artery_overrides: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_area_mm2 < 0:
            raise ValueError(f"min_area_mm2 must be >= 0, got {self.min_area_mm2}")
        if self.reference_increment_mm <= 0:
            raise ValueError("reference_increment_mm must be positive")
        if self.mass_calibration <= 0:
            raise ValueError("mass_calibration must be positive")
        if self.volume_method not in ("voxel", "interpolated"):
            raise ValueError(f"volume_method must be 'voxel' or 'interpolated', got {self.volume_method!r}")
        for lesion_id, artery in dict(self.artery_overrides).items():
            if artery not in ARTERIES and artery != NOT_CORONARY:
                raise ValueError(f"lesion {lesion_id}: unknown artery {artery!r}; use one of {ARTERIES} or 'none'")
        object.__setattr__(self, "artery_overrides", {int(k): str(v) for k, v in dict(self.artery_overrides).items()})

    def to_json(self) -> dict[str, object]:
        return {
            "threshold_hu": self.threshold_hu,
            "min_area_mm2": self.min_area_mm2,
            "reference_increment_mm": self.reference_increment_mm,
            "mass_calibration_mg_per_cm3_per_hu": self.mass_calibration,
            "volume_method": self.volume_method,
            "auto_exclude": self.auto_exclude,
            "max_lesion_length_mm": self.max_lesion_length_mm,
            "max_lesion_volume_mm3": self.max_lesion_volume_mm3,
            "max_root_distance_mm": self.max_root_distance_mm,
            "aortic_root_mm": list(self.aortic_root_mm) if self.aortic_root_mm is not None else None,
            "age": self.age,
            "sex": self.sex,
            "race": self.race,
            "artery_overrides": {str(k): v for k, v in self.artery_overrides.items()},
        }
