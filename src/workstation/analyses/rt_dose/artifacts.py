"""Every file the RT dose analysis writes: DVH and metrics tables, PDF report, JSON; a plan's JSON and RTDOSE.

``dvh.csv`` holds the cumulative DVHs side by side (dose in Gy, then one column of cm^3
per structure), ``dvh_differential.csv`` the cm^3 in each bin from that dose, and
``dvh_metrics.csv`` one row of metrics per structure.  A plan
(:mod:`.plan`) is written as ``plan.json`` and its dose as ``rtdose.dcm``, an RT Dose
of the plan's patient and study that carries the result's provenance in its Image
Comments.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.rt_dose.dose_engine import INTENDED_USE
from workstation.analyses.rt_dose.plan import PlanInputs, PlanResult
from workstation.analyses.rt_dose.prepare import RtDoseInputs
from workstation.analyses.rt_dose.report import TITLE, section
from workstation.analyses.rt_dose.result import RtDoseResult, StructureDvh
from workstation.core.provenance import Provenance

METRIC_COLUMNS = ("structure", "type", "volume_cc", "min_gy", "mean_gy", "max_gy", "d98_gy", "d95_gy", "d50_gy",
                  "d2_gy", "homogeneity_index", "conformity_index")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not np.isfinite(value) else f"{value:.4f}"
    return str(value)


def write_dvh_table(structures: tuple[StructureDvh, ...], path: Path, *, differential: bool = False) -> Path:
    """DVHs on one dose axis: ``dose_gy`` then ``<structure> cc`` columns (cumulative, or cm^3 per bin)."""
    longest = max((len(s.dvh.dose_gy) for s in structures), default=0)
    dose = max((s.dvh.dose_gy for s in structures), key=len, default=np.zeros(0))
    curves = [s.dvh.differential_cc() if differential else s.dvh.cumulative_cc for s in structures]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dose_gy", *(f"{s.name} cc" for s in structures)])
        for i in range(longest):
            writer.writerow([f"{dose[i]:.4f}", *(_cell(float(c[i])) if i < len(c) else "0" for c in curves)])
    return path


def write_metrics_table(structures: tuple[StructureDvh, ...], path: Path) -> Path:
    """One row per structure: volume, min/mean/max, D98/D95/D50/D2, HI, CI and each V_x."""
    levels = sorted({g for s in structures for g in s.metrics.v_cc})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*METRIC_COLUMNS, *(f"v{g:g}gy_cc" for g in levels)])
        for s in structures:
            m = s.metrics
            hi = m.homogeneity_index if s.is_target else None
            writer.writerow([s.name, s.roi_type, *(_cell(v) for v in (m.volume_cc, m.min_gy, m.mean_gy, m.max_gy,
                                                                      m.d(98.0), m.d(95.0), m.d(50.0), m.d(2.0), hi,
                                                                      s.conformity_index)),
                             *(_cell(m.v_cc.get(g)) for g in levels)])
    return path


def _dvh(result: RtDoseResult, _inputs: RtDoseInputs, context: ArtifactContext) -> list[Path]:
    return [write_dvh_table(result.structures, context.folder / "dvh.csv"),
            write_dvh_table(result.structures, context.folder / "dvh_differential.csv", differential=True),
            write_metrics_table(result.structures, context.folder / "dvh_metrics.csv")]


ARTIFACTS: ArtifactSet[RtDoseInputs, RtDoseResult] = ArtifactSet((
    Artifact("dvh", "dvh.csv, dvh_differential.csv, dvh_metrics.csv", "DVH and metrics tables (CSV)", _dvh),
    report_artifact("rt_dose_report.pdf", TITLE, section, batch=False),
    json_artifact("rt_dose.json"),
))


def provenance_comment(provenance: Provenance) -> str:
    """What an RT Dose we write says of how it was made (Image Comments)."""
    digest = f"inputs SHA-256 {provenance.inputs.sha256}" if provenance.inputs.sha256 else "inputs built in memory"
    return f"{INTENDED_USE}; fluence optimised by {provenance.software} on {provenance.device}; {digest}"


def _rtdose(result: PlanResult, inputs: PlanInputs, context: ArtifactContext) -> list[Path]:
    from workstation.io.rt_write import first_header, write_dose

    grid, _ = inputs.influence.require_grid()
    source = context.source if context.source is not None else first_header(inputs.structure_set.ref.path)
    plan = first_header(inputs.plan_file) if inputs.plan_file is not None else None
    return [write_dose(context.folder / "rtdose.dcm", grid.volume(result.plan.dose), source, plan=plan,
                       comment=provenance_comment(result.provenance), software=result.provenance.software,
                       description=f"Optimised dose ({result.plan.matrix} matrix)")]


PLAN_ARTIFACTS: ArtifactSet[PlanInputs, PlanResult] = ArtifactSet((
    json_artifact("plan.json", batch=True),
    Artifact("rtdose", "rtdose.dcm", "Plan dose (RT Dose)", _rtdose),
))
