"""Mammography CAD: masses and calcification clusters on four-view screening mammograms.

Decision support only, not for clinical use: a detector trained on synthetic images
marks findings, and a BI-RADS category is suggested for the radiologist to review.
"""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.mammo_cad.artifacts import ARTIFACTS
from workstation.analyses.mammo_cad.logic import estimate_memory, run
from workstation.analyses.mammo_cad.params import MammoCadParams
from workstation.analyses.mammo_cad.prepare import example_study, prepare
from workstation.analyses.mammo_cad.report import findings, section

ANALYSIS = Analysis(
    name="mammo-cad",
    title="Mammography CAD",
    params_type=MammoCadParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    findings=findings,
    example=example_study,
    panel="workstation.analyses.mammo_cad.panel:MammoCadPanel",
    description="Marks masses and calcification clusters on R/L CC and MLO views and suggests a "
                "BI-RADS category for review (synthetic-data model, not for clinical use).",
)
