"""ONNX models: the registry of manifests, inference sessions and tiled inference.

Nothing here imports Qt; everything runs the same in the GUI, a script or a batch job.
"""

from __future__ import annotations

from workstation.ml.manifest import InputSpec, ModelEntry, ModelError, Normalization, OutputSpec
from workstation.ml.registry import get_model, list_models, load_manifest, sha256_file, verify

__all__ = [
    "InputSpec",
    "ModelEntry",
    "ModelError",
    "Normalization",
    "OutputSpec",
    "get_model",
    "list_models",
    "load_manifest",
    "sha256_file",
    "verify",
]
