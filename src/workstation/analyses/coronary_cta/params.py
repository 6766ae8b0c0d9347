"""Parameters of coronary CT angiography analysis: vessel points, vesselness scales, lumen and plaque rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from workstation.analyses.coronary_cta.points import parse_names, parse_points
from workstation.core.params import Params, param

VesselPoints = tuple[tuple[float, float, float], ...]
DiameterMeasure = Literal["mean", "minimal"]


@dataclass(frozen=True)
class CoronaryParams(Params):
    """How vessels are traced, measured and graded.

    Attributes
    ----------
    points
        Per vessel, its points in patient mm (LPS): start (ostium), optional waypoints,
        distal end.  Text form ``x,y,z;x,y,z|x,y,z;...`` (:mod:`.points`).  Empty: the
        vessels are found automatically from the aortic root.
    names
        Vessel names in the order of ``points`` (LM, LAD, LCX, RCA, ...); a vessel
        without one gets a suggested name.
    sigma_min_mm, sigma_max_mm, n_scales
        Gaussian scales of the vesselness filter, spaced geometrically (a vessel of
        radius ``r`` answers best near ``0.65 r``).
    frangi_alpha, frangi_beta, frangi_c_hu
        Frangi's sensitivities to plate-like and blob-like structures and to the
        structure strength (HU, scale-normalised Hessian norm).
    lumen_threshold_hu
        Contrast-filled lumen is brighter than this (automatic tracing, path cost);
        ``None``: half-way between the blood pool and fat, measured in the image.
    section_spacing_mm, section_radius_mm
        Cross-sections perpendicular to the centreline every ``section_spacing_mm``,
        sampled out to ``section_radius_mm`` from it.
    smooth_mm
        Gaussian smoothing of the centreline along its length.
    diameter_measure
        The per-section diameter that grades stenoses: ``mean`` (mean of the chords
        through the lumen centre) or ``minimal`` (the shortest chord).
    min_stenosis_percent
        Narrowings below this diameter stenosis are not listed (unless plaque marks them).
    calcium_sd
        Calcified plaque is brighter than the local lumen mean + this many SD.
    fat_hu
        Non-calcified plaque is brighter than this (fat is below) and darker than the lumen.
    wall_mm
        Thickness of the wall band searched for plaque beyond the lumen (and beyond the
        reference lumen where the lumen is narrowed).
    min_plaque_mm3
        A segment whose plaque reaches this volume is listed even without narrowing.
    auto_min_length_mm, auto_max_vessels
        Automatic extraction keeps branches at least this long, this many at most.
    """

    points: tuple[VesselPoints, ...] = param((), unit="mm", parse=parse_points, panel=False,
                                             doc="x,y,z;x,y,z per vessel, vessels separated by |")
    names: tuple[str, ...] = param((), parse=parse_names, panel=False, doc="vessel names separated by |")
    sigma_min_mm: float = param(0.5, unit="mm", lo=0.2, hi=5.0, label="Smallest scale", step=0.1)
    sigma_max_mm: float = param(2.0, unit="mm", lo=0.2, hi=8.0, label="Largest scale", step=0.1)
    n_scales: int = param(4, lo=1, hi=10, label="Scales")
    frangi_alpha: float = param(0.5, lo=0.05, hi=5.0, panel=False)
    frangi_beta: float = param(0.5, lo=0.05, hi=5.0, panel=False)
    frangi_c_hu: float = param(40.0, unit="HU", lo=1.0, hi=5000.0, panel=False)
    lumen_threshold_hu: Optional[float] = param(None, unit="HU", lo=-200.0, hi=2000.0, label="Lumen threshold",
                                                step=10.0, none_text="auto")
    section_spacing_mm: float = param(0.5, unit="mm", lo=0.1, hi=2.0, label="Section spacing", step=0.1)
    section_radius_mm: float = param(5.0, unit="mm", lo=2.0, hi=15.0, label="Section radius", step=0.5)
    smooth_mm: float = param(1.0, unit="mm", lo=0.0, hi=5.0, label="Centreline smoothing", step=0.25)
    diameter_measure: DiameterMeasure = param("mean", label="Diameter for grading")
    min_stenosis_percent: float = param(20.0, unit="%", lo=1.0, hi=99.0, label="Report stenoses from", step=1.0)
    calcium_sd: float = param(2.0, unit="SD", lo=0.5, hi=6.0, label="Calcified above lumen +", step=0.5)
    fat_hu: float = param(-30.0, unit="HU", lo=-300.0, hi=100.0, label="Fat below", step=5.0)
    wall_mm: float = param(1.0, unit="mm", lo=0.2, hi=4.0, label="Wall band", step=0.1)
    min_plaque_mm3: float = param(2.0, unit="mm³", lo=0.1, hi=1000.0, panel=False)
    auto_min_length_mm: float = param(20.0, unit="mm", lo=5.0, hi=300.0, label="Min. branch length", step=5.0)
    auto_max_vessels: int = param(6, lo=1, hi=20, label="Max. branches")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sigma_min_mm > self.sigma_max_mm:
            raise ValueError(f"sigma_min_mm ({self.sigma_min_mm:g}) exceeds sigma_max_mm ({self.sigma_max_mm:g})")
        for i, vessel in enumerate(self.points):
            if len(vessel) < 2 or any(len(p) != 3 for p in vessel):
                raise ValueError(f"points: vessel {i + 1} needs at least two points of three coordinates (x, y, z mm)")
        if self.points and len(self.names) > len(self.points):
            raise ValueError(f"names: {len(self.names)} names for {len(self.points)} vessels")

    @property
    def sigmas_mm(self) -> tuple[float, ...]:
        """The vesselness scales, geometric from ``sigma_min_mm`` to ``sigma_max_mm``."""
        if self.n_scales == 1 or self.sigma_max_mm == self.sigma_min_mm:
            return (self.sigma_min_mm,)
        ratio = (self.sigma_max_mm / self.sigma_min_mm) ** (1.0 / (self.n_scales - 1))
        return tuple(self.sigma_min_mm * ratio**k for k in range(self.n_scales))
