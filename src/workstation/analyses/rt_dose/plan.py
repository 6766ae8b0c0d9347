"""A fluence plan from an influence matrix: optimise, map the dose back onto the grid, DVHs.

:func:`run_plan` optimises with the full matrix and, when given, with a compressed one;
a compressed plan's fluence is always evaluated with the *full* matrix, so the two
plans' DVHs compare what a patient would receive.  The dose vector goes back onto the 3D
dose grid on the backend (a scatter into the grid), and only then to the host.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.inputs import provenance
from workstation.analyses.rt_dose.compression import Compressed
from workstation.analyses.rt_dose.dvh import cumulative, metrics, structure_doses
from workstation.analyses.rt_dose.influence import InfluenceMatrix
from workstation.analyses.rt_dose.operators import SparseOperator
from workstation.analyses.rt_dose.optimise import (
    IterationFn, ObjectiveSet, OptimisationRun, Problem, Term, optimise, smoothness_matrix, start_fluence,
)
from workstation.analyses.rt_dose.params import RtDoseParams
from workstation.analyses.rt_dose.rasterise import Coverage, contour_volume_cc, coverage, planes_of
from workstation.analyses.rt_dose.result import StructureDvh
from workstation.compute.arrays import to_host
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report
from workstation.core.provenance import Provenance
from workstation.core.rt import StructureSet
from workstation.core.volume import Volume

BIN_GY = 0.01


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """What a plan needs: the structure set (with contours), the influence matrix, the objectives, the CT files."""

    structure_set: StructureSet
    influence: InfluenceMatrix
    objectives: ObjectiveSet
    ct_files: tuple[Path, ...] = ()
    ct_instances: tuple[str, ...] = ()
    plan_file: Optional[Path] = None  # the RT Plan the beams come from, referenced by the dose written

    @property
    def source_files(self) -> tuple[Path, ...]:
        return (*self.ct_files, self.structure_set.ref.path)

    @property
    def source_instances(self) -> tuple[str, ...]:
        return (*self.ct_instances, self.structure_set.ref.sop_instance_uid)

    @property
    def pixel_arrays(self) -> tuple[Any, ...]:
        return ()

    @property
    def grid_volume(self) -> Volume:
        grid, _ = self.influence.require_grid()
        return grid.volume(np.zeros(grid.shape, dtype=np.float32))


@dataclass(frozen=True, eq=False)
class PlanRun:
    """One optimisation: which matrix, its run, the dose on the grid (host, Gy) and the DVHs."""

    matrix: str  # full, sparse or sparse+lowrank
    run: OptimisationRun
    dose: NDArray[np.float32]
    structures: tuple[StructureDvh, ...]

    def to_json(self) -> dict[str, Any]:
        r = self.run
        return {"matrix": self.matrix, "objective_per_iteration": [float(f) for f in r.objective],
                "iterations": len(r.objective) - 1, "evaluations": r.evaluations, "seconds": round(r.seconds, 4),
                "converged": r.converged, "message": r.message,
                "structures": [s.to_json(curve=False) for s in self.structures]}


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The plan (and, with compression, the full-matrix plan beside it)."""

    runs: tuple[PlanRun, ...]
    objectives: ObjectiveSet
    device: str
    provenance: Provenance
    dvh_difference_pct: Mapping[str, float] = field(default_factory=dict)  # compressed vs full, per structure
    warnings: tuple[str, ...] = ()

    @property
    def plan(self) -> PlanRun:
        """The plan written out: the compressed one when there is one, else the full one."""
        return self.runs[-1]

    def to_json(self) -> dict[str, Any]:
        return {"analysis": "rt-optimize", "device": self.device, "objectives": self.objectives.to_json(),
                "plan": self.plan.to_json(), "runs": [r.to_json() for r in self.runs],
                "dvh_difference_pct": {k: round(v, 4) for k, v in self.dvh_difference_pct.items()},
                "warnings": list(self.warnings), "provenance": self.provenance.to_json()}


def _rows_of(influence: InfluenceMatrix, cov: Coverage) -> tuple[NDArray[np.int64], NDArray[np.float32], float]:
    """Matrix rows of a structure's covered voxels, their fractions, and the share left without a row."""
    _grid, voxels = influence.require_grid()
    index, frac = to_host(cov.index), to_host(cov.fraction)
    pos = np.clip(np.searchsorted(voxels, index), 0, max(len(voxels) - 1, 0))
    found = voxels[pos] == index if len(voxels) else np.zeros(len(index), bool)
    missing = float(frac[~found].sum() / frac.sum()) if frac.sum() > 0 else 0.0
    return pos[found].astype(np.int64), frac[found].astype(np.float32), missing


def plan_coverages(inputs: PlanInputs, backend: Backend, params: Optional[RtDoseParams] = None
                   ) -> tuple[dict[str, tuple[int, Coverage, float]], list[str]]:
    """Coverage of each contoured structure on the matrix's grid, by lower-case name (with number and volume)."""
    params = params or RtDoseParams()
    grid = inputs.grid_volume
    out: dict[str, tuple[int, Coverage, float]] = {}
    warnings: list[str] = []
    for roi in inputs.structure_set.rois:
        planes = planes_of(roi, grid)
        warnings += planes.warnings
        if not planes.empty:
            cov = coverage(backend.xp, planes, grid.shape, subsample=params.subsample, z_subsample=params.z_subsample)
            out[roi.name.lower()] = (roi.number, cov, contour_volume_cc(planes, grid))
    return out, warnings


def plan_terms(inputs: PlanInputs, covs: Mapping[str, tuple[int, Coverage, float]]) -> tuple[list[Term], list[str]]:
    """The objectives resolved onto matrix rows (a structure without contours is an error)."""
    terms, warnings = [], []
    for objective in inputs.objectives.objectives:
        found = covs.get(objective.structure.lower())
        if found is None:
            known = ", ".join(r.name for r in inputs.structure_set.rois)
            raise ValueError(f"objective names structure {objective.structure!r}, which has no contours; "
                             f"known: {known}")
        rows, frac, missing = _rows_of(inputs.influence, found[1])
        if missing > 0.01:
            warnings.append(f"{objective.structure}: {missing * 100:.1f} % of its volume has no influence-matrix row")
        if rows.size:
            terms.append(Term(objective, rows, frac))
    return terms, warnings


def dose_on_grid(influence: InfluenceMatrix, dose_rows: Any, backend: Backend) -> Any:
    """The dose vector (one value per row, on the backend) scattered onto the 3D grid, on the backend."""
    grid, voxels = influence.require_grid()
    xp = backend.xp
    flat = xp.zeros(int(np.prod(grid.shape)), dtype=xp.float32)
    flat[backend.asarray(voxels)] = dose_rows.astype(xp.float32)
    return flat


def plan_dvhs(inputs: PlanInputs, covs: Mapping[str, tuple[int, Coverage, float]], dose_flat: Any,
              backend: Backend) -> tuple[StructureDvh, ...]:
    """DVH metrics of every contoured structure for a dose on the grid (backend array)."""
    xp = backend.xp
    grid, _ = inputs.influence.require_grid()
    peak = float(to_host(dose_flat.max())) if dose_flat.shape[0] else 0.0
    n_bins = int(np.floor(peak / BIN_GY)) + 2
    out = []
    for roi in inputs.structure_set.rois:
        found = covs.get(roi.name.lower())
        if found is None:
            continue
        number, cov, drawn = found
        d, w = structure_doses(xp, dose_flat, cov)
        out.append(StructureDvh(number, roi.name, roi.roi_type, roi.colour or (200, 200, 200),
                                metrics(xp, d, w, grid.voxel_cc), cumulative(xp, d, w, grid.voxel_cc, n_bins, BIN_GY),
                                drawn))
    return tuple(out)


def dvh_difference_pct(a: Sequence[StructureDvh], b: Sequence[StructureDvh]) -> dict[str, float]:
    """Largest difference (percentage points of volume) between two plans' cumulative DVHs, per structure."""
    out = {}
    for s in a:
        other = next((t for t in b if t.name == s.name), None)
        if other is None or s.metrics.volume_cc <= 0:
            continue
        top = max(len(s.dvh.dose_gy), len(other.dvh.dose_gy))
        pa = np.pad(s.dvh.cumulative_pct(), (0, top - len(s.dvh.dose_gy)))
        pb = np.pad(other.dvh.cumulative_pct(), (0, top - len(other.dvh.dose_gy)))
        out[s.name] = float(np.max(np.abs(pa - pb)))
    return out


def run_plan(inputs: PlanInputs, backend: Backend, *, compressed: Optional[Compressed] = None,
             on_iteration: Optional[IterationFn] = None, progress: Optional[ProgressFn] = None) -> PlanResult:
    """Optimise the fluence with the full matrix and, when given, with ``compressed`` (evaluated with the full one)."""
    objectives = inputs.objectives
    report(progress, 0.0, "rasterising the structures onto the dose grid")
    covs, warnings = plan_coverages(inputs, backend)
    terms, notes = plan_terms(inputs, covs)
    warnings += notes
    full = SparseOperator(inputs.influence.matrix, backend)
    lap = smoothness_matrix(inputs.influence.beamlet_beam, inputs.influence.beamlet_xy_mm,
                            inputs.influence.beamlet_size_mm)
    rx = objectives.prescription_gy or max((t.objective.dose_gy for t in terms if t.objective.kind == "target"),
                                           default=0.0)
    runs = []
    operators: list[tuple[str, Any]] = [("full", full)]
    if compressed is not None:
        operators.append((compressed.method, compressed.operator(backend)))
    for i, (name, operator) in enumerate(operators):
        report(progress, 0.1 + 0.8 * i / len(operators), f"optimising with the {name} matrix")
        problem = Problem(operator, terms, objectives.smoothness, lap)
        t0 = time.perf_counter()
        x0 = start_fluence(problem, rx)
        run = optimise(problem, x0, objectives.max_iterations, on_iteration)
        dose_flat = dose_on_grid(inputs.influence, full.dose(backend.asarray(run.x.astype(np.float32))), backend)
        grid, _ = inputs.influence.require_grid()
        structures = plan_dvhs(inputs, covs, dose_flat, backend)
        host = to_host(dose_flat).reshape(grid.shape)
        run = OptimisationRun(run.x, run.objective, run.seconds, run.evaluations, run.converged, run.message,
                              run.device, {"optimise": run.seconds, "total": time.perf_counter() - t0})
        runs.append(PlanRun(name, run, host, structures))
    difference = dvh_difference_pct(runs[0].structures, runs[-1].structures) if len(runs) > 1 else {}
    report(progress, 1.0, "done")
    return PlanResult(tuple(runs), objectives, backend.label, provenance("rt-optimize", objectives, backend.label,
                                                                          inputs), difference, tuple(warnings))
