"""Open folders and files off the GUI thread: scan headers, then load one series.

Both steps run as jobs (shown in the job dock); the GUI thread never reads pixels.
After a scan the largest image series is loaded unless the caller picks one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Optional

from PySide6.QtCore import QObject, Signal

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import Volume

log = logging.getLogger(__name__)


def pick_default_series(studies: Iterable[Study]) -> Optional[tuple[Study, Series]]:
    """The series with the most frames (ties: the first found), or ``None``."""
    best: Optional[tuple[Study, Series]] = None
    for study in studies:
        for series in study.series:
            if best is None or series.n_frames > best[1].n_frames:
                best = (study, series)
    return best


class StudyLoader(QObject):
    """Runs scan and load jobs for a :class:`ViewerContext` and reports what it found."""

    scanned = Signal(object)  # ScanResult
    series_loaded = Signal(object, object)  # Series, Volume
    failed = Signal(str, str)  # (what, error)

    def __init__(self, context: ViewerContext, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.last_scan: Any = None

    def open_paths(self, paths: Iterable[str | Path], load_default: bool = True) -> None:
        """Scan ``paths`` (folders are walked) in a job, then load the largest series."""
        targets = [Path(p) for p in paths]
        names = ", ".join(p.name or str(p) for p in targets[:2]) + ("…" if len(targets) > 2 else "")

        def work(backend: Backend, progress: ProgressFn) -> Any:
            from workstation.io.dicom import scan

            return scan(targets, progress=progress)

        def done(result: Any) -> None:
            self.last_scan = result
            self.scanned.emit(result)
            if not load_default:
                return
            choice = pick_default_series(result.studies)
            if choice is None:
                self.failed.emit(f"Open {names}", "no image series found")
                self.context.notify("Nothing to show", f"No image series was found in {names}.")
            else:
                self.load_series(*choice)

        self.context.run_job(f"Scan {names}", work, done, lambda e: self.failed.emit(f"Scan {names}", e))

    def load_series(self, study: Optional[Study], series: Series) -> None:
        """Decode ``series`` in a job and show it (replaces what the viewers show)."""

        def work(backend: Backend, progress: ProgressFn) -> Volume:
            from workstation.io.dicom import load_series

            return load_series(series, progress=progress)

        def done(volume: Volume) -> None:
            self.context.set_loaded(study, series, volume)
            self.series_loaded.emit(series, volume)

        title = f"Load {series.label or series.uid[-12:]}"
        self.context.run_job(title, work, done, lambda e: self.failed.emit(title, e))
