"""An analytic RT phantom written as DICOM: known structures in a known radial dose field.

Dose ``D(r) = D0 (1 - r / R0)`` around the centre (Gy, ``r`` in mm).  Structures:

* ``PTV``: a sphere of radius ``R_PTV`` about the centre;
* ``OAR``: a cylinder of radius ``A`` along x through the centre, half-length ``L``
  (axial contours: rectangles);
* ``Shell``: a cylindrical shell about the z axis (outer ``B1``, inner ``B0``: every
  plane has a contour with a hole), half-height ``H``.

Contour planes lie at ``z = (k + 1/2) h`` so that half-slice end caps tile each
structure's extent exactly.  ``V(d)``, the volume receiving at least ``d``, has a closed
form for each (:func:`analytic_volume`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series
from workstation.io.rt_write import RoiSpec, read_headers, write_dose, write_structure_set

D0, R0 = 70.0, 100.0
R_PTV, A, L, B0, B1, H = 30.0, 12.0, 40.0, 20.0, 36.0, 30.0
PLANE_MM, DOSE_MM = 1.0, 1.0


def radius_of(dose: float) -> float:
    return R0 * (1.0 - dose / D0)


def _ball_cylinder(r: float, a: float, half: float) -> float:
    """Volume of the ball of radius ``r`` (centre) inside the cylinder of radius ``a``, half-length ``half``."""
    if r <= 0:
        return 0.0
    z1 = min(np.sqrt(max(r * r - a * a, 0.0)), half)
    z2 = min(r, half)
    return 2.0 * np.pi * (a * a * z1 + r * r * (z2 - z1) - (z2 ** 3 - z1 ** 3) / 3.0)


def analytic_volume(name: str, dose: float) -> float:
    """``V(dose)`` of structure ``name``, cm^3."""
    r = radius_of(dose)
    if name == "PTV":
        return 4.0 / 3.0 * np.pi * min(r, R_PTV) ** 3 / 1000.0
    if name == "OAR":
        return _ball_cylinder(r, A, L) / 1000.0
    return (_ball_cylinder(r, B1, H) - _ball_cylinder(r, B0, H)) / 1000.0


def _circle(cx: float, cy: float, r: float, z: float, n: int = 256) -> NDArray[np.float64]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    grow = np.sqrt(2 * np.pi / (n * np.sin(2 * np.pi / n)))  # the polygon's area is the circle's
    return np.column_stack([cx + grow * r * np.cos(t), cy + grow * r * np.sin(t), np.full(n, z)])


def _rectangle(half_x: float, half_y: float, z: float) -> NDArray[np.float64]:
    return np.array([[-half_x, -half_y, z], [half_x, -half_y, z], [half_x, half_y, z], [-half_x, half_y, z]])


def phantom_rois(planes: NDArray[np.float64]) -> list[RoiSpec]:
    ptv = [_circle(0, 0, np.sqrt(R_PTV ** 2 - z * z), z) for z in planes if abs(z) < R_PTV]
    oar = [_rectangle(L, np.sqrt(A * A - z * z), z) for z in planes if abs(z) < A]
    shell = [c for z in planes if abs(z) < H for c in (_circle(0, 0, B1, z), _circle(0, 0, B0, z)[::-1])]
    return [RoiSpec(1, "PTV", (255, 0, 0), "PTV", ptv), RoiSpec(2, "OAR", (0, 255, 0), "ORGAN", oar),
            RoiSpec(3, "Shell", (0, 0, 255), "ORGAN", shell)]


def write_phantom(folder: Path) -> Path:
    """CT (planes every ``PLANE_MM``), RTSTRUCT and an RTDOSE of the radial field, as DICOM."""
    n_planes = int(round(2 * 42.0 / PLANE_MM))
    planes = (np.arange(n_planes) - n_planes / 2 + 0.5) * PLANE_MM
    ct = Volume(np.zeros((n_planes, 64, 64), np.int16), spacing=(PLANE_MM, 2.0, 2.0), origin=(-63.0, -63.0, planes[0]),
                modality="CT")
    headers = read_headers(write_series(ct, folder / "ct", modality="CT", tags={"PatientID": "PHANTOM-1"}))
    rs = write_structure_set(folder / "rs.dcm", phantom_rois(planes), headers, label="Phantom")
    n = int(round(2 * 46.0 / DOSE_MM)) + 1
    axis = (np.arange(n) - (n - 1) / 2) * DOSE_MM
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    dose = np.clip(D0 * (1.0 - np.sqrt(x * x + y * y + z * z) / R0), 0, None).astype(np.float32)
    grid = Volume(dose, spacing=(DOSE_MM,) * 3, origin=(axis[0],) * 3)
    write_dose(folder / "rd.dcm", grid, read_headers([rs])[0], comment="analytic radial dose")
    return folder
