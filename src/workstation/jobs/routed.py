"""Run the analyses that routing rules requested for a received study.

This is the one seam between routing and execution.  Routing
(:func:`workstation.io.pacs.routing.route`) is a pure function from a study to a list
of :class:`~workstation.io.pacs.routing.AnalysisRequest`; :func:`run_requests` runs
them here and now, one after the other, through :func:`~workstation.jobs.execute.
run_study`.  The callers decide where that happens: ``workstation-batch pacs listen``
on a worker thread, the desktop application as one job of its JobRunner.  A persistent
job queue takes the same requests in place of :func:`run_requests`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from workstation.core.progress import ProgressFn, scaled
from workstation.core.study import Study
from workstation.io.pacs.routing import AnalysisRequest
from workstation.core.params import with_overrides
from workstation.jobs.execute import StudyOutcome, run_study

log = logging.getLogger(__name__)


def run_requests(requests: Sequence[AnalysisRequest], study: Study, out_dir: str | Path, *,
                 device: str | None = None, progress: ProgressFn | None = None) -> list[StudyOutcome]:
    """Run each request on ``study``; one outcome per request, failures included."""
    # the registry sits above jobs, as for run_study (declared in pyproject.toml)
    from workstation.analyses import get

    outcomes: list[StudyOutcome] = []
    for i, request in enumerate(requests):
        step = scaled(progress, i / len(requests), (i + 1) / len(requests))
        try:
            params = with_overrides(get(request.analysis).params_type, None, dict(request.params))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("routing asked for %s, which cannot run: %s", request.analysis, exc)
            outcomes.append(StudyOutcome(study.uid, False, 0.0, "", f"{request.analysis}: {exc}"))
            continue
        chosen = [s for s in study.series if s.uid in request.series_uids] if request.series_uids else study.series
        target = replace(study, series=chosen or study.series)
        outcomes.append(run_study(request.analysis, target, out_dir, params=params, device=device, progress=step))
    return outcomes
