"""Retrieve a study or some of its series from a node: resumable, cancellable, nothing lost.

:func:`retrieve` first lists the instances of each series (C-FIND at image level or
QIDO-RS), leaves out those the destination already holds, then fetches per series:
the whole series when nothing of it is there yet, else only the missing instances.
Every instance is committed to the destination as it lands, and whatever arrived is
recorded (``destination.commit``) even when the transfer fails or is cancelled, so a
second call resumes where the first stopped.  Series can be fetched in parallel
(``parallel``: one association or HTTP session per worker).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
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


def list_instances(client: RetrievingClient, study_uid: str,
                   series_uids: Sequence[str] | None = None) -> dict[str, list[InstanceRow]]:
    """Series UID -> its instances on the node (every series of the study by default)."""
    if series_uids is None:
        found = client.find("SERIES", Query(study_uid=study_uid))
        series_uids = [row.series_uid for row in found if isinstance(row, SeriesRow)]
    listing: dict[str, list[InstanceRow]] = {}
    for uid in series_uids:
        rows = client.find("IMAGE", Query(study_uid=study_uid, series_uid=uid))
        listing[uid] = [r for r in rows if isinstance(r, InstanceRow) and r.sop_uid]
    return listing


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
    report(progress, 0.0, "Listing instances")
    listing = list_instances(client, study_uid, series_uids)
    rows = [r for found in listing.values() for r in found]
    if not rows:
        raise PacsError(node or "node", Fault.NOT_FOUND, f"no instance of study {study_uid} on the node"
                        + (" in the series asked for" if series_uids else ""))
    present = destination.present(r.sop_uid for r in rows)
    plan = [(uid, [r for r in found if r.sop_uid not in present], len(found)) for uid, found in listing.items()]
    plan = [(uid, todo, n) for uid, todo, n in plan if todo]
    total = sum(len(todo) for _, todo, _ in plan)
    sink = SopSink(destination)
    result = RetrieveReport(study_uid, listed=len(rows), already_present=len(present), series=list(listing))
    stop = threading.Event()
    lock = threading.Lock()

    def tick() -> None:
        if stop.is_set():
            raise Cancelled()
        with lock:
            try:
                done = sink.count
                report(progress, LISTING_SHARE + (1 - LISTING_SHARE) * done / max(total, 1),
                       f"{done} of {total} images ({len(present)} already here)")
            except Cancelled:
                stop.set()
                raise

    def fetch(item: tuple[str, list[InstanceRow], int]) -> None:
        uid, todo, n = item
        whole = len(todo) == n
        classes = list(dict.fromkeys(r.sop_class for r in todo if r.sop_class))
        client.fetch(study_uid, uid, None if whole else todo, sink, tick, sop_classes=classes)

    try:
        tick()
        if parallel > 1 and len(plan) > 1:
            with ThreadPoolExecutor(max_workers=min(parallel, len(plan))) as pool:
                futures = [pool.submit(fetch, item) for item in plan]
                errors = []
                for future in futures:
                    try:
                        future.result()
                    except BaseException as exc:  # noqa: BLE001 - stop the others, raise the first
                        stop.set()
                        errors.append(exc)
                if errors:
                    raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        else:
            for item in plan:
                fetch(item)
    finally:
        destination.commit(sink.paths)
        result.received = sink.paths
        result.bytes = sink.size_bytes
        result.seconds = time.perf_counter() - start
    arrived = {a.sop_uid for a in sink.arrivals}
    result.missing = sum(1 for _, todo, _ in plan for r in todo if r.sop_uid not in arrived)
    if result.missing:
        log.warning("retrieve of a study ended with %d of %d instances missing", result.missing, total)
    report(progress, 1.0, f"{len(arrived)} images received, {len(present)} already here")
    return result
