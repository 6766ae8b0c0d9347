"""Run or queue the analyses that routing rules requested for a received study.

This is the one seam between routing and execution.  Routing
(:func:`workstation.io.pacs.routing.route`) is a pure function from a study to a list
of :class:`~workstation.io.pacs.routing.AnalysisRequest`.  :func:`enqueue_requests`
puts them in the persistent job queue (origin ``routed``), where the desktop
application's queue worker or ``workstation-batch queue work`` on any GPU takes them;
:func:`run_requests` runs them here and now, one after the other, through
:func:`~workstation.jobs.execute.run_study` (``workstation-batch pacs listen`` without
``--queue``, or an application whose queue file cannot be written).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workstation.core.progress import ProgressFn, scaled
from workstation.core.study import Study
from workstation.io.pacs.routing import AnalysisRequest
from workstation.core.params import with_overrides
from workstation.jobs.execute import StudyOutcome, run_study
from workstation.jobs.queue import JobQueue
from workstation.jobs.study_ref import StudyRef

log = logging.getLogger(__name__)


def _target(request: AnalysisRequest, study: Study) -> Study:
    """The study reduced to the series the request names (all of them when it names none)."""
    chosen = [s for s in study.series if s.uid in request.series_uids] if request.series_uids else study.series
    return replace(study, series=chosen or study.series)


@dataclass(frozen=True)
class Queued:
    """One routed request put in the queue: its job id, or why it could not be."""

    analysis: str
    job_id: int | None
    problem: str = ""


def _params(request: AnalysisRequest) -> Any:
    """The request's parameters over the analysis's defaults (text values parsed as on the command line)."""
    # the registry sits above jobs, as for run_study (declared in pyproject.toml)
    from workstation.analyses import get

    return with_overrides(get(request.analysis).params_type, None, dict(request.params))


def enqueue_requests(requests: Sequence[AnalysisRequest], study: Study, out_dir: str | Path, *,
                     device: str = "auto", queue: JobQueue | None = None) -> list[Queued]:
    """Queue each request on ``study`` at routed priority (``queue``: the user's by default)."""
    from workstation.jobs.queue import enqueue

    queued: list[Queued] = []
    for request in requests:
        try:
            job_id = enqueue(request.analysis, StudyRef.of(_target(request, study)), _params(request),
                             device=device, out_dir=out_dir, queue=queue)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("routing asked for %s, which cannot be queued: %s", request.analysis, exc)
            queued.append(Queued(request.analysis, None, str(exc)))
        else:
            queued.append(Queued(request.analysis, job_id))
    return queued


def run_requests(requests: Sequence[AnalysisRequest], study: Study, out_dir: str | Path, *,
                 device: str | None = None, progress: ProgressFn | None = None) -> list[StudyOutcome]:
    """Run each request on ``study``; one outcome per request, failures included."""
    outcomes: list[StudyOutcome] = []
    for i, request in enumerate(requests):
        step = scaled(progress, i / len(requests), (i + 1) / len(requests))
        try:
            params = _params(request)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("routing asked for %s, which cannot run: %s", request.analysis, exc)
            outcomes.append(StudyOutcome(study.uid, False, 0.0, "", f"{request.analysis}: {exc}"))
            continue
        outcomes.append(run_study(request.analysis, _target(request, study), out_dir, params=params, device=device,
                                  progress=step))
    return outcomes
