"""Perfusion maps (CBF, CBV, MTT, Tmax, TTP) and stroke summary of dynamic CT/MR."""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.perfusion.export import write_artifacts
from workstation.analyses.perfusion.logic import PerfusionParams, run
from workstation.analyses.perfusion.prepare import prepare

ANALYSIS = Analysis(
    name="perfusion",
    title="Perfusion",
    params_type=PerfusionParams,
    run=run,
    prepare=prepare,
    write_artifacts=write_artifacts,
    panel="workstation.analyses.perfusion.panel:PerfusionPanel",
    description="SVD deconvolution perfusion maps and Tmax/CBF stroke volumes",
)

__all__ = ["ANALYSIS", "PerfusionParams", "run"]
