"""Where a result came from: software, model, parameters, device and the inputs it read.

Every analysis result carries a :class:`Provenance`; its JSON, PDF report and DICOM
objects show it.  The inputs are identified by a SHA-256 over the sorted SOP Instance
UIDs (with frame numbers) of the image planes the analysis used, so two runs on the same
instances have the same digest whatever the file names or order; inputs that never came
from DICOM (arrays built in memory by a script or test) have an empty digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional


@dataclass(frozen=True)
class ModelInfo:
    """The model file a result depends on."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class InputDigest:
    """SHA-256 identifying the inputs; ``kind`` is ``instances`` or ``in-memory arrays`` (no digest)."""

    sha256: str
    kind: str
    count: int


@dataclass(frozen=True)
class Provenance:
    """The facts needed to reproduce or audit one result."""

    analysis: str
    software: str
    device: str
    params: Mapping[str, Any]
    inputs: InputDigest
    model: Optional[ModelInfo] = None
    created_utc: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def to_json(self) -> dict[str, Any]:
        return {
            "analysis": self.analysis,
            "software": self.software,
            "device": self.device,
            "created_utc": self.created_utc,
            "inputs": {"sha256": self.inputs.sha256, "kind": self.inputs.kind, "count": self.inputs.count},
            "model": None if self.model is None else {
                "name": self.model.name, "version": self.model.version, "sha256": self.model.sha256},
            "params": dict(self.params),
        }

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs for reports, parameters last."""
        rows = [("Software", self.software), ("Analysis", self.analysis), ("Device", self.device),
                ("Inputs", f"{self.inputs.count} {self.inputs.kind}"
                           + (f", SHA-256 {self.inputs.sha256}" if self.inputs.sha256 else ""))]
        if self.model is not None:
            rows.append(("Model", f"{self.model.name} {self.model.version}, SHA-256 {self.model.sha256}"))
        rows.append(("Created", self.created_utc))
        rows.append(("Parameters", ", ".join(f"{k}={v}" for k, v in self.params.items())))
        return rows


def instances_digest(instances: Iterable[str]) -> InputDigest:
    """Digest of SOP Instance UIDs (``uid`` or ``uid/frame``), independent of their order."""
    unique = sorted(set(instances))
    digest = hashlib.sha256("\n".join(unique).encode("ascii", "replace")).hexdigest()
    return InputDigest(digest, "instances", len(unique))

