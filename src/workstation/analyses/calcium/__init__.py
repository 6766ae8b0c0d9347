"""Coronary calcium scoring (Agatston, volume, mass; per artery; risk; MESA percentile)."""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.calcium.artifacts import ARTIFACTS
from workstation.analyses.calcium.logic import estimate_memory, run
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.calcium.prepare import example_study, prepare
from workstation.analyses.calcium.report import findings, section
from workstation.analyses.calcium.result import CalciumResult

ANALYSIS = Analysis(
    name="calcium",
    title="Coronary calcium",
    params_type=CalciumParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    findings=findings,
    example=example_study,
    panel="workstation.analyses.calcium.panel:CalciumPanel",
    description="Agatston, volume and mass scores of coronary calcium on a non-contrast CT",
)

__all__ = ["ANALYSIS", "CalciumParams", "CalciumResult", "prepare", "run"]
