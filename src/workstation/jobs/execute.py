"""Run one registered analysis on one study and write its outputs atomically.

This is the unit of work of ``workstation-batch``: a plain function of picklable
arguments, so the same code runs in-process or on a Dask worker.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from workstation.compute.backend import run_with_cpu_fallback, select_backend
from workstation.core.progress import ProgressFn
from workstation.core.redact import add_vocabulary, redact, register_sensitive
from workstation.core.study import Study
from workstation.io.writers import write_json
from workstation.jobs.staging import HeldInterrupts, StudyWrite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyOutcome:
    """What happened to one study: written files, or the reason it failed."""

    study_uid: str
    ok: bool
    seconds: float
    device: str = ""
    message: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)
    interrupted: bool = False  # Ctrl-C came while this study's result was being moved in


def run_study(
    analysis_name: str,
    study: Study,
    out_dir: str | Path,
    *,
    params: Any = None,
    device: Optional[str] = None,
    progress: Optional[ProgressFn] = None,
) -> StudyOutcome:
    """Prepare, run and save one analysis on one study; never raises for bad input.

    Writes ``out_dir/<StudyInstanceUID>/<analysis>.json`` and the analysis's batch
    artifacts, all or nothing (:class:`~workstation.jobs.staging.StudyWrite`): a
    reader that sees the JSON sees a complete result, and a failed write leaves the
    folder as it was.  Messages and logs name no patient (the study's identity is
    registered for redaction first, also on a Dask worker).
    """
    from workstation.analyses import get, names  # the registry sits above jobs; see pyproject

    add_vocabulary(names())
    register_sensitive([study.patient_name, study.patient_id])
    start = time.perf_counter()
    analysis = get(analysis_name)
    params = params if params is not None else analysis.default_params()
    held = HeldInterrupts()
    try:
        data = analysis.prepare(study, progress)
        backend = select_backend(device)
        fallback: list[str] = []
        result, used = run_with_cpu_fallback(
            lambda b: analysis.run(data, params, b, progress), backend, notify=fallback.append
        )
        files = _write(analysis, result, data, fallback, Path(out_dir) / study.uid, study, held)
        message = redact("; ".join(fallback))
        return StudyOutcome(study.uid, True, time.perf_counter() - start, used.label, message, tuple(files),
                            interrupted=held.caught)
    except Exception as exc:  # reported in the summary; other studies go on
        message = redact(f"{type(exc).__name__}: {exc}")
        log.warning("%s failed on study %s: %s", analysis_name, study.uid, message)
        return StudyOutcome(study.uid, False, time.perf_counter() - start, "", message, interrupted=held.caught)
    finally:
        held.release()


def _write(analysis: Any, result: Any, data: Any, warnings: list[str], target: Path, study: Study,
           held: HeldInterrupts) -> list[str]:
    """Stage the artifacts and the JSON record, then move them in, the record last.

    From the first move on, Ctrl-C is held (``held``): the study completes and is counted.
    """
    with StudyWrite(target, analysis.name) as write:
        staging = write.staging
        assert staging is not None
        staged = list(analysis.write_artifacts(result, data, staging, study=study)) if analysis.artifacts else []
        record = result.to_json()
        if warnings:
            record.setdefault("warnings", []).extend(warnings)
        json_path = staging / f"{analysis.name}.json"
        write_json(record, json_path)
        held.hold()
        finals = write.commit([Path(p) for p in staged] + [json_path])
    return [str(finals[-1])] + [str(p) for p in finals[:-1]]
