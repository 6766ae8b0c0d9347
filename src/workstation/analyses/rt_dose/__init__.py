"""Radiotherapy dose: DVHs of a plan's structures, and fluence optimisation from an influence matrix.

The demo dose engine and plan are synthetic and not for clinical use.
"""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.rt_dose.artifacts import ARTIFACTS
from workstation.analyses.rt_dose.logic import estimate_memory, run
from workstation.analyses.rt_dose.params import RtDoseParams
from workstation.analyses.rt_dose.prepare import RtDoseInputs, example_study, prepare
from workstation.analyses.rt_dose.report import section
from workstation.analyses.rt_dose.result import RtDoseResult

ANALYSIS = Analysis(
    name="rt-dose",
    title="RT dose / DVH",
    params_type=RtDoseParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    example=example_study,
    commands={"rt-compress": "workstation.analyses.rt_dose.cli_compress",
              "rt-optimize": "workstation.analyses.rt_dose.cli_optimize"},
    panel="workstation.analyses.rt_dose.panel:RtDosePanel",
    description="Dose-volume histograms and metrics of an RT plan's structures; influence-matrix compression and "
                "fluence optimisation (demo dose engine not for clinical use)",
)

__all__ = ["ANALYSIS", "RtDoseInputs", "RtDoseParams", "RtDoseResult", "prepare", "run"]
