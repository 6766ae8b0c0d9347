"""Cardiac function from a short-axis cine: LV and RV volumes, ejection fraction, LV mass, regional thickening.

Decision support only, not for clinical use: the bundled model was trained on synthetic
cine phantoms.  Users can add their own 2D cine models, e.g. an nnU-Net trained on ACDC
(see docs/models.md).
"""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.cardiac_function.artifacts import ARTIFACTS
from workstation.analyses.cardiac_function.logic import estimate_memory, remeasure, run
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import CineInput, example_study, prepare
from workstation.analyses.cardiac_function.report import section

ANALYSIS = Analysis(
    name="cardiac-function",
    title="Cardiac function",
    params_type=CardiacParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    example=example_study,
    panel="workstation.analyses.cardiac_function.panel:CardiacPanel",
    description="LV and RV volumes, ejection fraction, cardiac output, LV mass and AHA 17-segment wall "
                "thickening from a short-axis cine (synthetic-data model, not for clinical use).",
)

__all__ = ["ANALYSIS", "CardiacParams", "CineInput", "prepare", "remeasure", "run"]
