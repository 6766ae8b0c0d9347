"""Run one registered analysis on one study and write its outputs atomically.

This is the unit of work of ``workstation-batch``: a plain function of picklable
arguments, so the same code runs in-process or on a Dask worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from workstation.compute.backend import run_with_cpu_fallback, select_backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Study
from workstation.io.writers import write_json

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
    artifacts.  Artifacts are written to a staging folder first and moved in, and the
    JSON last (atomically), so a reader that sees the JSON sees a complete result.
    """
    from workstation.analyses import get  # the registry sits above jobs; see pyproject

    start = time.perf_counter()
    analysis = get(analysis_name)
    params = params if params is not None else analysis.default_params()
    target = Path(out_dir) / study.uid
    try:
        data = analysis.prepare(study, progress)
        backend = select_backend(device)
        fallback: list[str] = []
        result, used = run_with_cpu_fallback(
            lambda b: analysis.run(data, params, b, progress), backend, notify=fallback.append
        )
        target.mkdir(parents=True, exist_ok=True)
        files: list[str] = []
        if analysis.artifacts is not None:
            staging = Path(tempfile.mkdtemp(prefix=f".staging-{analysis.name}-", dir=target))
            try:
                for path in analysis.write_artifacts(result, data, staging, study=study):
                    final = target / Path(path).name
                    os.replace(path, final)
                    files.append(str(final))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        record = result.to_json()
        if fallback:
            record.setdefault("warnings", []).extend(fallback)
        json_path = target / f"{analysis.name}.json"
        write_json(record, json_path)
        files.insert(0, str(json_path))
        message = "; ".join(fallback)
        return StudyOutcome(study.uid, True, time.perf_counter() - start, used.label, message, tuple(files))
    except Exception as exc:  # reported in the summary; other studies go on
        log.warning("%s failed on study %s: %s: %s", analysis_name, study.uid, type(exc).__name__, exc)
        return StudyOutcome(study.uid, False, time.perf_counter() - start, "", f"{type(exc).__name__}: {exc}")
