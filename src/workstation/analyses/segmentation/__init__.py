"""Organ segmentation of CT with an ONNX model from the model registry.

Decision support only, not for clinical use: the bundled model was trained on
synthetic chest phantoms.  Users can add their own models (see docs/models.md).
"""

from __future__ import annotations

from workstation.analyses.base import Analysis
from workstation.analyses.segmentation.artifacts import ARTIFACTS
from workstation.analyses.segmentation.logic import estimate_memory, run
from workstation.analyses.segmentation.params import SegmentationParams
from workstation.analyses.segmentation.prepare import SegmentationInput, example_study, prepare
from workstation.analyses.segmentation.report import findings, section

ANALYSIS = Analysis(
    name="segmentation",
    title="Organ segmentation",
    params_type=SegmentationParams,
    run=run,
    prepare=prepare,
    artifacts=ARTIFACTS,
    estimate_memory=estimate_memory,
    report=section,
    findings=findings,
    example=example_study,
    commands={"segmentation-models": "workstation.analyses.segmentation.cli"},
    panel="workstation.analyses.segmentation.panel:SegmentationPanel",
    description="Segments body, lungs, heart, aorta and bone on chest CT with an ONNX model and reports "
                "volumes and mean HU (synthetic-data model, not for clinical use).",
)

__all__ = ["ANALYSIS", "SegmentationInput", "SegmentationParams", "prepare", "run"]
