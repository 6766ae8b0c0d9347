"""Coronary CT angiography: centrelines, curved and straightened MPR, lumen profile, plaque and stenosis grading."""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.coronary_cta.artifacts import ARTIFACTS
from workstation.analyses.coronary_cta.logic import estimate_memory, run
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.prepare import example_study, prepare
from workstation.analyses.coronary_cta.report import section
from workstation.analyses.coronary_cta.result import CoronaryResult

ANALYSIS = Analysis(
    name="coronary-cta",
    title="Coronary CTA",
    params_type=CoronaryParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    example=example_study,
    panel="workstation.analyses.coronary_cta.panel:CoronaryPanel",
    description="Coronary centrelines, curved and straightened MPR, lumen profile, plaque and SCCT stenosis grades",
)

__all__ = ["ANALYSIS", "CoronaryParams", "CoronaryResult", "prepare", "run"]
