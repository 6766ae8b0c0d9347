"""Run one registered analysis on one study and write its outputs atomically.

This is the unit of work of ``workstation-batch``: a plain function of picklable
arguments, so the same code runs in-process or on a Dask worker.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from workstation.compute.backend import Backend, is_gpu_error, run_with_cpu_fallback, select_backend
from workstation.core.progress import ProgressFn, scaled
from workstation.core.redact import add_vocabulary, redact, register_sensitive
from workstation.core.study import Study
from workstation.io.writers import write_json
from workstation.jobs import manifest
from workstation.jobs.staging import StudyWrite, WriteInterrupted

log = logging.getLogger(__name__)
#: Share of a study's progress bar given to reading it (the rest: the analysis).
PREPARE_SHARE = 0.25
#: ``gate(analysis, inputs, params)``: a context manager yielding the backend to run on.
Gate = Callable[[Any, Any, Any], AbstractContextManager[Backend]]


@dataclass(frozen=True)
class StudyOutcome:
    """What happened to one study: written files, or the reason it failed."""

    study_uid: str
    ok: bool
    seconds: float
    device: str = ""
    message: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)
    #: Seconds of ``decode`` (prepare), ``compute`` and ``write``.
    timings: dict[str, float] = field(default_factory=dict)
    #: The run failed with a CUDA fault and was not rerun on the CPU (``cpu_fallback=False``).
    gpu_fault: bool = False


def run_study(
    analysis_name: str,
    study: Study,
    out_dir: str | Path,
    *,
    params: Any = None,
    device: Optional[str] = None,
    progress: Optional[ProgressFn] = None,
    gate: Optional[Gate] = None,
    cpu_fallback: bool = True,
) -> StudyOutcome:
    """Prepare, run and save one analysis on one study; never raises for bad input.

    Writes ``out_dir/<StudyInstanceUID>/<analysis>.json``, the analysis's batch
    artifacts and, last, the manifest (:mod:`workstation.jobs.manifest`), all or
    nothing (:class:`~workstation.jobs.staging.StudyWrite`): a reader that sees the
    manifest sees a complete result, and a failed write leaves the folder as it was.
    ``gate(analysis, inputs, params)``, when given, is a context manager yielding the
    backend to run on once the inputs are prepared (the job queue reserves GPU memory
    by the analysis's estimate there) instead of ``device``.  With ``cpu_fallback``
    off, a CUDA fault ends the run with ``gpu_fault`` set (the queue retries it).
    Messages and logs name no patient (the study's identity is registered for
    redaction first, also on a Dask worker).
    """
    from workstation.analyses import get, names  # the registry sits above jobs; see pyproject

    add_vocabulary(names())
    register_sensitive([study.patient_name, study.patient_id])
    start = time.perf_counter()
    analysis = get(analysis_name)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    try:
        if params is None:
            params = analysis.default_params()
        elif isinstance(params, Mapping):  # as a queued job stores them (``Params.to_json()``)
            params = analysis.params_type.from_json(params)
        data = analysis.prepare(study, scaled(progress, 0.0, PREPARE_SHARE))
        timings["decode"], clock = time.perf_counter() - clock, time.perf_counter()
        fallback: list[str] = []
        running = scaled(progress, PREPARE_SHARE, 1.0)
        with gate(analysis, data, params) if gate is not None else nullcontext(select_backend(device)) as backend:
            if cpu_fallback:
                result, used = run_with_cpu_fallback(
                    lambda b: analysis.run(data, params, b, running), backend, notify=fallback.append)
            else:
                result, used = analysis.run(data, params, backend, running), backend
        timings["compute"], clock = time.perf_counter() - clock, time.perf_counter()
        target = Path(out_dir) / study.uid
        message = redact("; ".join(fallback))
        try:
            files = _write(analysis, result, data, fallback, target, study, params)
        except WriteInterrupted:  # Ctrl-C during the moves: the result is complete; say so, then stop
            raise StudyInterrupted(StudyOutcome(study.uid, True, time.perf_counter() - start, used.label, message,
                                                (str(target / f"{analysis.name}.json"),), timings)) from None
        timings["write"] = time.perf_counter() - clock
        return StudyOutcome(study.uid, True, time.perf_counter() - start, used.label, message, tuple(files), timings)
    except Exception as exc:  # reported in the summary; other studies go on
        message = redact(f"{type(exc).__name__}: {exc}")
        log.warning("%s failed on study %s: %s", analysis_name, study.uid, message)
        fault = not cpu_fallback and is_gpu_error(exc)
        return StudyOutcome(study.uid, False, time.perf_counter() - start, "", message, timings=timings,
                            gpu_fault=fault)


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C arrived as a study's result was moved in; ``outcome`` is that complete result."""

    def __init__(self, outcome: StudyOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def _write(analysis: Any, result: Any, data: Any, warnings: list[str], target: Path, study: Study,
           params: Any) -> list[str]:
    """Stage the artifacts, the JSON record and the manifest, then move them in, the manifest last."""
    with StudyWrite(target, analysis.name) as write:
        staging = write.staging
        assert staging is not None
        staged = list(analysis.write_artifacts(result, data, staging, study=study)) if analysis.artifacts else []
        record = result.to_json()
        if warnings:
            record.setdefault("warnings", []).extend(warnings)
        json_path = staging / f"{analysis.name}.json"
        write_json(record, json_path)
        files = [Path(p) for p in staged] + [json_path]
        manifest_path = staging / manifest.manifest_name(analysis.name)
        write_json(manifest.build(analysis.name, params.to_json(), manifest.fingerprint(study), files), manifest_path)
        *artifacts, record_path, manifest_file = (str(p) for p in write.commit(files + [manifest_path]))
    return [record_path, *artifacts, manifest_file]
