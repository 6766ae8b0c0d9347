"""Perfusion maps (CBF, CBV, MTT, Tmax, TTP) and stroke summary of dynamic CT/MR."""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.perfusion.artifacts import ARTIFACTS
from workstation.analyses.perfusion.logic import estimate_memory, run
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.analyses.perfusion.prepare import example_study, prepare
from workstation.analyses.perfusion.report import findings, section

ANALYSIS = Analysis(
    name="perfusion",
    title="Perfusion",
    params_type=PerfusionParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    findings=findings,
    example=example_study,
    panel="workstation.analyses.perfusion.panel:PerfusionPanel",
    description="SVD deconvolution perfusion maps and Tmax/CBF stroke volumes",
)

__all__ = ["ANALYSIS", "PerfusionParams", "run"]
