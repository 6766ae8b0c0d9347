"""``workstation-batch run`` again over the same ``--out``: skip what is complete; or queue the rest.

:func:`split_complete` sorts the studies found into those whose result folder already
holds a complete, valid result for the same inputs and parameters (checked against
its manifest, :mod:`workstation.jobs.manifest`) and those to run.
:func:`enqueue_studies` is ``run --queue``: one queued job per study.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from workstation.core.study import Study
from workstation.jobs import manifest
from workstation.jobs.execute import StudyOutcome

log = logging.getLogger(__name__)
KEPT = "complete result of an earlier run kept"


def split_complete(analysis: str, studies: Sequence[Study], out: Path, params: Mapping[str, Any]
                   ) -> tuple[list[Study], list[StudyOutcome]]:
    """``(to run, outcomes of those kept)``; ``params`` by study UID."""
    run, kept = [], []
    for study in studies:
        folder = out / study.uid
        why = manifest.check(folder, analysis, params[study.uid].to_json(), study) if folder.is_dir() else "no result"
        if why is None:
            record = folder / f"{analysis}.json"
            kept.append(StudyOutcome(study.uid, True, 0.0, "", KEPT, (str(record),)))
        else:
            if why != "no result":
                log.info("study %s is run again: %s", study.uid, why)
            run.append(study)
    return run, kept


def enqueue_studies(analysis: str, studies: Sequence[Study], out: Path, params: Mapping[str, Any], device: str,
                    priority: int) -> int:
    """Queue one job per study; prints what was queued.  Returns the exit status (0)."""
    from workstation.jobs.queue import JobQueue
    from workstation.jobs.study_ref import StudyRef

    queue = JobQueue()
    ids = [queue.enqueue(analysis, StudyRef.of(s), params[s.uid].to_json(), priority, device,
                         out_dir=out.resolve()) for s in studies]
    if ids:
        print(f"queued {len(ids)} job(s), ids {ids[0]}-{ids[-1]}, in {queue.path}; "
              "`workstation-batch queue work` runs them", flush=True)
    else:
        print("nothing to queue", flush=True)
    return 0
