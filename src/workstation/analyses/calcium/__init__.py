"""Coronary calcium scoring (Agatston, volume, mass; per artery; risk; MESA percentile)."""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.calcium.artifacts import write_artifacts
from workstation.analyses.calcium.logic import prepare, run
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.calcium.result import CalciumResult

ANALYSIS = Analysis(
    name="calcium",
    title="Coronary calcium",
    params_type=CalciumParams,
    run=run,
    prepare=prepare,
    write_artifacts=write_artifacts,
    panel="workstation.analyses.calcium.panel:CalciumPanel",
    description="Agatston, volume and mass scores of coronary calcium on a non-contrast CT",
)

__all__ = ["ANALYSIS", "CalciumParams", "CalciumResult", "prepare", "run"]
