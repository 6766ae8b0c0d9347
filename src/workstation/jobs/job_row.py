"""One job of the queue as stored: what it is, where it stands, what it wrote."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from workstation.jobs.study_ref import StudyRef

#: CUDA faults a job is re-queued for before its run may fall back to the CPU.
GPU_RETRIES = 1


@dataclass(frozen=True)
class JobRow:
    """One job as stored."""

    id: int
    analysis: str
    title: str
    state: str
    priority: int
    device: str
    origin: str
    study_uid: str = ""
    study_ref: Optional[StudyRef] = None
    params: Mapping[str, Any] = field(default_factory=dict)
    out_dir: str = ""
    progress: float = 0.0
    message: str = ""
    error: str = ""
    used_device: str = ""
    worker: str = ""
    owner: Optional[str] = None
    lease_until: Optional[float] = None
    attempts: int = 0
    gpu_faults: int = 0
    recoveries: int = 0
    cancel_requested: bool = False
    created: float = 0.0
    started: Optional[float] = None
    finished: Optional[float] = None
    timings: Mapping[str, float] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @property
    def seconds(self) -> Optional[float]:
        """Run time so far (or in all, once finished)."""
        if self.started is None:
            return None
        return (self.finished if self.finished is not None else time.time()) - self.started

    @property
    def may_fall_back(self) -> bool:
        """Whether a CUDA fault in this run may rerun it on the CPU (GPU retries spent)."""
        return self.gpu_faults >= GPU_RETRIES

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "JobRow":
        ref = json.loads(row["study_ref"])
        return cls(
            id=row["id"], analysis=row["analysis"], title=row["title"], state=row["state"],
            priority=row["priority"], device=row["device"], origin=row["origin"], study_uid=row["study_uid"],
            study_ref=StudyRef.from_json(ref) if ref else None, params=json.loads(row["params"]),
            out_dir=row["out_dir"], progress=row["progress"], message=row["message"], error=row["error"],
            used_device=row["used_device"], worker=row["worker"], owner=row["owner"],
            lease_until=row["lease_until"], attempts=row["attempts"], gpu_faults=row["gpu_faults"],
            recoveries=row["recoveries"], cancel_requested=bool(row["cancel_requested"]), created=row["created"],
            started=row["started"], finished=row["finished"], timings=json.loads(row["timings"]),
            files=tuple(json.loads(row["files"])),
        )
