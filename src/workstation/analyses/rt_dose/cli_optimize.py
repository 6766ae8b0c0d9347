"""``workstation-batch rt-optimize PATH --objectives FILE.json [--compressed DIR] --out DIR``.

``PATH`` holds a CT, its RT Structure Set and an influence matrix (``influence.npz`` or
PortPy beam files), as the demo plan ships (an RT Plan there is referenced by the dose).
The objectives file gives per structure a type (``target``, ``underdose``,
``overdose``), a dose in Gy and a weight, plus ``smoothness`` and ``max_iterations``.
Writes ``plan.json`` (objective per iteration, seconds, per-structure DVH metrics; with
``--compressed``, the full-matrix plan beside the compressed one and their DVH
differences) and the plan's dose as ``rtdose.dcm``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from workstation.analyses.rt_dose.compression import Compressed
    from workstation.analyses.rt_dose.plan import PlanInputs
    from workstation.core.study import Study

HELP = "optimise beamlet intensities for objectives (full or compressed influence matrix); writes plan.json, RTDOSE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="folder with the CT, RT Structure Set and influence matrix")
    parser.add_argument("--objectives", required=True, type=Path, help="objectives JSON")
    parser.add_argument("--compressed", type=Path, default=None, help="folder written by rt-compress")
    parser.add_argument("--matrix", type=Path, default=None, help="influence matrix (default: PATH/influence.npz)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")


def load_compressed(folder: Path) -> Compressed:
    """The ``S.npz`` (and ``lowrank.npz``) rt-compress wrote, as a :class:`Compressed`."""
    import json

    import numpy as np
    import scipy.sparse as sp

    from workstation.analyses.rt_dose.compression import Compressed

    try:
        s = sp.load_npz(folder / "S.npz").tocsr()
        info = json.loads((folder / "compression.json").read_text(encoding="utf-8"))
        h = w = None
        if (folder / "lowrank.npz").is_file():
            with np.load(folder / "lowrank.npz") as z:
                h, w = z["H"], z["W"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{folder}: not a folder written by rt-compress ({exc})") from None
    return Compressed(str(info.get("method", "sparse")), s, h, w, float(info.get("threshold_pct", 0.0)),
                      float(info.get("threshold_abs", 0.0)), int(info.get("nnz_before", s.nnz)))


def plan_inputs(path: Path, objectives: Path, matrix: Optional[Path]) -> tuple[PlanInputs, Study]:
    """The CT files, structure set and influence matrix under ``path`` with the objectives."""
    from workstation.analyses.rt_dose.influence import load_influence
    from workstation.analyses.rt_dose.optimise import ObjectiveSet
    from workstation.analyses.rt_dose.plan import PlanInputs
    from workstation.core.rt import RtPlan, StructureSet
    from workstation.io.dicom import scan
    from workstation.io.rt import load_contours

    found = scan([path])
    studies = [s for s in found.studies if s.objects_of(StructureSet)]
    if not studies:
        raise ValueError(f"{path}: no RT Structure Set found")
    study = studies[0]
    structure_set = load_contours(study.objects_of(StructureSet)[0])
    cts = [s for s in study.referenced_series(structure_set) if s.modality == "CT"]
    plans = study.objects_of(RtPlan)
    influence = load_influence(matrix if matrix is not None else path / "influence.npz")
    ct = cts[0] if cts else None
    return PlanInputs(structure_set, influence, ObjectiveSet.load(objectives),
                      tuple(f.path for f in ct.frames) if ct else (),
                      tuple(f.sop_instance_uid for f in ct.frames) if ct else (),
                      plans[0].ref.path if plans else None), study


def main(args: argparse.Namespace) -> int:
    from workstation.analyses.rt_dose.artifacts import PLAN_ARTIFACTS
    from workstation.analyses.rt_dose.influence import InfluenceError
    from workstation.analyses.rt_dose.plan import run_plan
    from workstation.compute.backend import run_with_cpu_fallback, select_backend
    from workstation.core.redact import register_sensitive

    try:
        inputs, study = plan_inputs(args.path, args.objectives, args.matrix)
        compressed = load_compressed(args.compressed) if args.compressed is not None else None
    except (ValueError, InfluenceError) as exc:
        print(f"workstation-batch rt-optimize: {exc}", file=sys.stderr)
        return 2
    register_sensitive([study.patient_name, study.patient_id])

    def iteration(k: int, f: float) -> None:
        if k % 25 == 0:
            print(f"iteration {k}: objective {f:.6g}", flush=True)

    try:
        result, used = run_with_cpu_fallback(lambda b: run_plan(inputs, b, compressed=compressed,
                                                                on_iteration=iteration),
                                             select_backend(args.device), notify=lambda m: print(m, file=sys.stderr))
    except ValueError as exc:
        print(f"workstation-batch rt-optimize: {exc}", file=sys.stderr)
        return 2
    written = PLAN_ARTIFACTS.write(result, inputs, args.out, study=study)
    run = result.plan.run
    print(f"{result.plan.matrix} matrix on {used.label}: objective {run.objective[0]:.6g} -> {run.objective[-1]:.6g} "
          f"in {len(run.objective) - 1} iterations, {run.seconds:.2f} s; wrote {', '.join(p.name for p in written)}")
    return 0
