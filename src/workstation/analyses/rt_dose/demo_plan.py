"""The demo radiotherapy plan: a chest CT with a right-lung tumour, its structures, a plan, a dose.

Written as real DICOM into one folder (and opened from the application's demo menu)::

    CT/IM*.dcm        the demo chest phantom with an 18 mm tumour in the right lung
    RTSTRUCT.dcm      BODY, Lung_R, Lung_L, Heart, SpinalCanal, GTV, PTV (analytic outlines)
    RTPLAN.dcm        five static 6 MV-like beams on the tumour, 60 Gy in 30 fractions
    RTDOSE.dcm        the optimised plan's dose (demo pencil-beam engine)
    influence.npz     the influence matrix of the beams' beamlets (rows: voxels in the body)
    objectives.json   the objectives the dose was optimised with

The dose engine is a teaching model (:mod:`.dose_engine`): NOT FOR CLINICAL USE.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.dose_engine import INTENDED_USE, Beam, influence_matrix
from workstation.analyses.rt_dose.influence import DoseGrid, save_influence
from workstation.analyses.rt_dose.optimise import ObjectiveSet
from workstation.core.volume import Volume
from workstation.demo import chest_ct
from workstation.io.rt_write import BeamSpec, PlanSpec, RoiSpec, read_headers, write_dose, write_plan, write_structure_set

TUMOUR_CENTRE = (-80.0, 0.0, -15.0)
GTV_RADIUS, PTV_RADIUS = 18.0, 25.0
GANTRY = (180.0, 225.0, 270.0, 315.0, 0.0)
PRESCRIPTION_GY, FRACTIONS = 60.0, 30
PATIENT = {"PatientName": "DEMO^LUNG", "PatientID": "DEMO-RT-0001", "PatientSex": "F", "PatientAge": "064Y",
           "PatientBirthDate": "19600512", "StudyDate": "20240301", "StudyTime": "101500", "StudyID": "RT1",
           "AccessionNumber": "DEMORT01", "StudyDescription": "Demo lung plan (synthetic, not for clinical use)"}
OBJECTIVES: dict[str, Any] = {
    "prescription_gy": PRESCRIPTION_GY, "smoothness": 0.002, "max_iterations": 150,
    "objectives": [
        {"structure": "PTV", "type": "target", "dose_gy": PRESCRIPTION_GY, "weight": 100.0},
        {"structure": "PTV", "type": "underdose", "dose_gy": 0.97 * PRESCRIPTION_GY, "weight": 200.0},
        {"structure": "SpinalCanal", "type": "overdose", "dose_gy": 20.0, "weight": 30.0},
        {"structure": "Heart", "type": "overdose", "dose_gy": 10.0, "weight": 10.0},
        {"structure": "Lung_R", "type": "overdose", "dose_gy": 15.0, "weight": 5.0},
        {"structure": "Lung_L", "type": "overdose", "dose_gy": 5.0, "weight": 5.0},
        {"structure": "BODY", "type": "overdose", "dose_gy": 30.0, "weight": 2.0},
    ],
}


def _ellipse(cx: float, cy: float, ax: float, ay: float, z: float, n: int = 72) -> NDArray[np.float64]:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    # vertices on an ellipse of equal area to the true one (a polygon inscribed loses area)
    grow = np.sqrt(2.0 * np.pi / (n * np.sin(2.0 * np.pi / n)))
    return np.column_stack([cx + grow * ax * np.cos(t), cy + grow * ay * np.sin(t), np.full(n, z)])


def demo_rois(slice_z: NDArray[np.float64]) -> list[RoiSpec]:
    """The structures' outlines on each CT slice, from the phantom's analytic shapes."""
    hx, hy, hz = chest_ct.HEART_CENTRE
    ax, ay, az = chest_ct.HEART_AXES
    tx, ty, tz = TUMOUR_CENTRE

    def sphere(radius: float) -> list[NDArray[np.float64]]:
        out = []
        for z in slice_z:
            r2 = radius ** 2 - (z - tz) ** 2
            if r2 > 1.0:
                out.append(_ellipse(tx, ty, float(np.sqrt(r2)), float(np.sqrt(r2)), float(z), 48))
        return out

    heart = []
    for z in slice_z:
        f = np.sqrt(max(1.0 - ((z - hz) / az) ** 2, 0.0))
        if f > 0.05:
            heart.append(_ellipse(hx, hy, ax * f, ay * f, float(z)))
    return [
        RoiSpec(1, "BODY", (0, 200, 0), "EXTERNAL", [_ellipse(0.0, 0.0, 165.0, 120.0, float(z), 96) for z in slice_z]),
        RoiSpec(2, "Lung_R", (80, 180, 255), "ORGAN", [_ellipse(-85.0, 5.0, 55.0, 82.0, float(z)) for z in slice_z]),
        RoiSpec(3, "Lung_L", (120, 120, 255), "ORGAN", [_ellipse(85.0, 5.0, 55.0, 82.0, float(z)) for z in slice_z]),
        RoiSpec(4, "Heart", (255, 120, 160), "ORGAN", heart),
        RoiSpec(5, "SpinalCanal", (255, 230, 0), "ORGAN", [_ellipse(0.0, 97.0, 7.0, 7.0, float(z), 32)
                                                           for z in slice_z]),
        RoiSpec(6, "GTV", (255, 0, 255), "GTV", sphere(GTV_RADIUS)),
        RoiSpec(7, "PTV", (255, 40, 40), "PTV", sphere(PTV_RADIUS)),
    ]


def demo_ct(size: int, pixel_mm: float, n_slices: int) -> Volume:
    """The demo chest CT with a soft-tissue tumour in the right lung."""
    volume, _truth = chest_ct.generate_chest_ct(0, n_slices=n_slices, size=size, pixel_mm=pixel_mm)
    idx = np.indices(volume.shape, dtype=np.float64).reshape(3, -1).T
    p = volume.index_to_patient(idx)
    inside = np.sum((p - np.asarray(TUMOUR_CENTRE)) ** 2, axis=1) <= GTV_RADIUS ** 2
    array = volume.array.reshape(-1).copy()
    array[inside] = 30
    return volume.with_array(array.reshape(volume.shape))


def dose_grid_for(ct: Volume, spacing_mm: float) -> DoseGrid:
    """An axial dose grid of ``spacing_mm`` voxels over the body (330 x 240 mm) and the CT's slab."""
    extent = ct.shape[0] * ct.spacing[0]  # the slices' slabs, half a slice beyond the first and last
    centre = ct.origin[2] + (ct.shape[0] - 1) * ct.spacing[0] / 2.0
    nz = int(np.ceil(extent / spacing_mm)) + 1
    nx, ny = int(np.ceil(340.0 / spacing_mm)) + 1, int(np.ceil(250.0 / spacing_mm)) + 1
    origin = (-(nx - 1) * spacing_mm / 2.0, -(ny - 1) * spacing_mm / 2.0, centre - (nz - 1) * spacing_mm / 2.0)
    return DoseGrid((nz, ny, nx), (spacing_mm, spacing_mm, spacing_mm), origin, np.eye(3))


def write_demo_plan(folder: str | Path, *, size: int = 192, pixel_mm: float = 1.8, n_slices: int = 40,
                    dose_mm: float = 4.0, beamlet_mm: float = 5.0, iterations: Optional[int] = None) -> Path:
    """Write the demo plan into ``folder`` (see the module notes); returns the folder."""
    from workstation.analyses.rt_dose.plan import PlanInputs, run_plan
    from workstation.compute.backend import cpu_backend
    from workstation.io.dicom_write import write_series
    from workstation.io.rt import read_rt

    folder = Path(folder)
    ct = demo_ct(size, pixel_mm, n_slices)
    tags = {**PATIENT, "KVP": 120, "Manufacturer": "Workstation demo", "BodyPartExamined": "CHEST",
            "PatientPosition": "HFS"}
    ct_paths = write_series(ct, folder / "CT", modality="CT", tags=tags, series_description="Planning CT 3 mm",
                            slice_thickness=ct.spacing[0])
    headers = read_headers(ct_paths)
    slice_z = np.asarray([float(h.ImagePositionPatient[2]) for h in headers])
    ss_path = write_structure_set(folder / "RTSTRUCT.dcm", demo_rois(slice_z), headers, label="Demo lung")
    structure_set = read_rt(ss_path)
    grid = dose_grid_for(ct, dose_mm)
    from workstation.analyses.rt_dose.rasterise import coverage, planes_of

    grid_volume = grid.volume(np.zeros(grid.shape, np.float32))
    body, ptv = (coverage(np, planes_of(structure_set.roi(n), grid_volume), grid.shape)  # type: ignore[union-attr]
                 for n in ("BODY", "PTV"))
    beams = [Beam(i + 1, g, TUMOUR_CENTRE) for i, g in enumerate(GANTRY)]
    influence = influence_matrix(ct, grid, body.index, ptv.index, beams, beamlet_mm=beamlet_mm)
    save_influence(influence, folder / "influence.npz")
    objectives = dict(OBJECTIVES, max_iterations=iterations or OBJECTIVES["max_iterations"])
    (folder / "objectives.json").write_text(json.dumps(objectives, indent=2) + "\n", encoding="utf-8")
    inputs = PlanInputs(structure_set, influence, ObjectiveSet.from_json(objectives))  # type: ignore[arg-type]
    result = run_plan(inputs, cpu_backend())
    ss_header = read_headers([ss_path])[0]
    beam_specs = tuple(BeamSpec(b.number, f"G{int(b.gantry_deg):03d}", b.gantry_deg, TUMOUR_CENTRE,
                                (-PTV_RADIUS - beamlet_mm, PTV_RADIUS + beamlet_mm),
                                (-PTV_RADIUS - beamlet_mm, PTV_RADIUS + beamlet_mm),
                                meterset_mu=float(result.plan.run.x[influence.beamlet_beam == b.number].sum()))
                       for b in beams)
    plan_path = write_plan(folder / "RTPLAN.dcm", PlanSpec("Demo lung", beam_specs, FRACTIONS, PRESCRIPTION_GY, 7,
                                                           description=INTENDED_USE), ss_header)
    write_dose(folder / "RTDOSE.dcm", grid.volume(result.plan.dose), ss_header, plan=read_headers([plan_path])[0],
               comment=f"{INTENDED_USE}; optimised fluence of {influence.shape[1]} beamlets",
               description="Demo plan dose (not for clinical use)")
    return folder


def ensure_demo_plan(folder: Optional[str | Path] = None) -> Path:
    """Write the demo plan once and return its folder (see :mod:`workstation.demo.cache`)."""
    from workstation.demo.cache import ensure_written

    return ensure_written("rt_plan", lambda target: write_demo_plan(target), folder)
