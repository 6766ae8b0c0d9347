"""Retrieve a study or some of its series from a node: resumable, cancellable, nothing lost.

:func:`retrieve` lists the series of the study (one series-level C-FIND or QIDO-RS
call), then per series:

* the destination holds nothing of it: the whole series is fetched in one request;
* it holds part of it: the instances are listed (image-level query) and only the
  missing ones are fetched;
* a whole-series fetch that delivered fewer instances than the node announced is
  followed by the listing and a fetch of what is missing.

Every instance is committed to the destination as it lands, and whatever arrived is
recorded (``destination.commit``) even when the transfer fails or is cancelled, so a
second call resumes where the first stopped.  Series can be fetched in parallel
(``parallel``: one association or HTTP session per worker).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from workstation.core.progress import Cancelled, ProgressFn, report
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.query import InstanceRow, Query, Row, SeriesRow
from workstation.io.pacs.transfer import Destination, SopSink

log = logging.getLogger(__name__)
LISTING_SHARE = 0.05


class RetrievingClient(Protocol):
    """What :func:`retrieve` needs of a DIMSE or DICOMweb client."""

    def find(self, level: str, query: Query) -> list[Row]: ...

    def fetch(self, study_uid: str, series_uid: str, instances: Sequence[InstanceRow] | None,
              sink: SopSink, tick: Any, sop_classes: Sequence[str] = ()) -> None: ...


@dataclass
class RetrieveReport:
    """The outcome: instances received now, already there, and not delivered."""

    study_uid: str
    listed: int = 0
    received: list[Path] = field(default_factory=list)
    already_present: int = 0
    missing: int = 0
    bytes: int = 0
    seconds: float = 0.0
    series: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def megabytes_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Series:
    """One series to fetch: all of it (``todo`` None) or the listed missing instances."""

    uid: str
    expected: int | None
    todo: list[InstanceRow] | None = None
    present: int = 0


def list_instances(client: RetrievingClient, study_uid: str, series_uid: str) -> list[InstanceRow]:
    rows = client.find("IMAGE", Query(study_uid=study_uid, series_uid=series_uid))
    return [r for r in rows if isinstance(r, InstanceRow) and r.sop_uid]


class _Run:
    """The shared state of one retrieve: sink, progress and the stop flag of all workers."""

    def __init__(self, client: RetrievingClient, study_uid: str, destination: Destination,
                 progress: ProgressFn | None) -> None:
        self.client, self.study_uid, self.destination = client, study_uid, destination
        self.progress = progress
        self.sink = SopSink(destination)
        self.total = 0
        self.present = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def tick(self) -> None:
        if self.stop.is_set():
            raise Cancelled()
        with self.lock:
            try:
                done = self.sink.count
                report(self.progress, LISTING_SHARE + (1 - LISTING_SHARE) * done / max(self.total, done, 1),
                       f"{done} of {max(self.total, done)} images ({self.present} already here)")
            except Cancelled:
                self.stop.set()
                raise

    def plan(self, series: _Series, listed: bool = False) -> _Series:
        """List the instances of a series the destination holds part of (or ``listed``)."""
        if not listed and self.destination.held(self.study_uid, series.uid) == 0:
            return series
        rows = list_instances(self.client, self.study_uid, series.uid)
        present = self.destination.present(r.sop_uid for r in rows)
        return _Series(series.uid, len(rows), [r for r in rows if r.sop_uid not in present], len(present))

    def fetch(self, series: _Series) -> None:
        todo = series.todo
        if todo is not None and not todo:
            return
        classes = list(dict.fromkeys(r.sop_class for r in todo or [] if r.sop_class))
        try:
            self.client.fetch(self.study_uid, series.uid, todo, self.sink, self.tick, sop_classes=classes)
        except PacsError as exc:
            if todo is not None or exc.fault is not Fault.REFUSED:
                raise
            log.info("a whole-series fetch was refused (%s): listing the series", exc.detail)
        else:
            if todo is not None or series.expected is None or self.arrived(series.uid) >= series.expected:
                return
        # a whole-series fetch brought less than announced (or was refused): list and fetch the rest
        self.fetch(self.plan(_Series(series.uid, series.expected), listed=True))

    def arrived(self, series_uid: str) -> int:
        return sum(1 for a in list(self.sink.arrivals) if a.series_uid == series_uid)


def retrieve(
    client: RetrievingClient, study_uid: str, destination: Destination, *,
    series_uids: Sequence[str] | None = None, progress: ProgressFn | None = None, parallel: int = 1,
    node: str = "",
) -> RetrieveReport:
    """Fetch the study (or ``series_uids`` of it) into ``destination``.

    Raises
    ------
    PacsError
        ``NOT_FOUND`` when the node lists no instance for the request; any fault of
        the exchange.  Instances received before the fault are kept and committed.
    Cancelled
        When ``progress`` raised it; instances received so far are kept.
    """
    start = time.perf_counter()
    report(progress, 0.0, "Listing series")
    found = [r for r in client.find("SERIES", Query(study_uid=study_uid)) if isinstance(r, SeriesRow)]
    counts = {r.series_uid: r.n_instances for r in found}
    wanted = list(series_uids) if series_uids is not None else list(counts)
    run = _Run(client, study_uid, destination, progress)
    plan = [run.plan(_Series(uid, counts.get(uid))) for uid in wanted if uid in counts]
    if not plan or all(s.expected == 0 for s in plan):
        raise PacsError(node or "node", Fault.NOT_FOUND, f"no instance of study {study_uid} on the node"
                        + (" in the series asked for" if series_uids else ""))
    run.present = sum(s.present for s in plan)
    run.total = sum(len(s.todo) if s.todo is not None else (s.expected or 0) for s in plan)
    result = RetrieveReport(study_uid, listed=sum(s.expected or 0 for s in plan), already_present=run.present,
                            series=[s.uid for s in plan])
    try:
        run.tick()
        _each(run, plan, parallel)
    finally:
        destination.commit(run.sink.paths)
        result.received = run.sink.paths
        result.bytes = run.sink.size_bytes
        result.seconds = time.perf_counter() - start
    result.listed = max(result.listed, result.already_present + len(result.received))
    result.missing = max(0, result.listed - result.already_present - len({a.sop_uid for a in run.sink.arrivals}))
    if result.missing:
        log.warning("retrieve of a study ended with %d of %d instances missing", result.missing, result.listed)
    report(progress, 1.0, f"{len(result.received)} images received, {run.present} already here")
    return result


def _each(run: _Run, plan: list[_Series], parallel: int) -> None:
    """Fetch every series, ``parallel`` at a time; the first failure stops the others."""
    work: Callable[[_Series], None] = run.fetch
    if parallel <= 1 or len(plan) <= 1:
        for series in plan:
            work(series)
        return
    with ThreadPoolExecutor(max_workers=min(parallel, len(plan))) as pool:
        futures = [pool.submit(work, series) for series in plan]
        errors: list[BaseException] = []
        for future in futures:
            try:
                future.result()
            except BaseException as exc:  # noqa: BLE001 - stop the others, raise the first
                run.stop.set()
                errors.append(exc)
    if errors:
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
