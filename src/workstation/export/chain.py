"""The fallback chain: GPU -> CPU native -> the most reliable library path.

Each export stage (resize, encode) lists its ways of doing the work in that order;
:func:`run_chain` takes the first that is available and does not fail.  A step that
is skipped (not available here) or fails is logged once per process and reason, and
noted in the run's list of notices (its ``export.json`` shows them); the name of the
step that did the work is returned with its result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: The names of the steps, in the order they are tried.
GPU, CPU, LIBRARY = "gpu", "cpu", "library"


@dataclass(frozen=True)
class Step:
    """One way to do a stage's work.

    ``unavailable()`` returns why the step cannot run here (``None``: it can);
    ``run(*args)`` does the work.
    """

    name: str
    run: Callable[..., Any]
    unavailable: Callable[[], str | None] = lambda: None


class ExportStageError(RuntimeError):
    """Every step of a stage failed or was unavailable; the message lists each reason."""


_lock = threading.Lock()
_logged: set[tuple[str, str, str]] = set()
Notices = list[dict[str, str]]


def _note(notices: Notices | None, stage: str, step: str, reason: str, failed: bool) -> None:
    entry = {"stage": stage, "step": step, "reason": reason}
    if notices is not None and entry not in notices:
        notices.append(entry)
    with _lock:
        if (stage, step, reason) in _logged:
            return
        _logged.add((stage, step, reason))
    if failed:
        log.warning("export %s: the %s path failed (%s); falling back", stage, step, reason)
    else:
        log.info("export %s: the %s path is not available (%s)", stage, step, reason)


def run_chain(stage: str, steps: Sequence[Step], *args: Any, notices: Notices | None = None) -> tuple[Any, str]:
    """Run the first available step of ``steps`` that succeeds: ``(result, step name)``.

    A failing step's exception is logged (once per process) and noted in ``notices``,
    and the next step runs; when none is left, :class:`ExportStageError` names every
    reason.
    """
    reasons = []
    for step in steps:
        why = step.unavailable()
        if why:
            _note(notices, stage, step.name, why, failed=False)
            reasons.append(f"{step.name}: {why}")
            continue
        try:
            return step.run(*args), step.name
        except Exception as exc:  # noqa: BLE001 -- any failure of one path: the next one is tried
            why = f"{type(exc).__name__}: {exc}"
            _note(notices, stage, step.name, why, failed=True)
            reasons.append(f"{step.name}: {why}")
    raise ExportStageError(f"export {stage} failed on every path ({'; '.join(reasons)})")
