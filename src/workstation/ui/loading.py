"""Open folders and files off the GUI thread: scan headers, then load one series for reading.

Both steps run as jobs (shown in the job dock); the GUI thread never reads pixels.
After a scan the largest image series is loaded unless the caller picks one.  Loading
a series loads what its hanging protocol shows (:mod:`workstation.ui.reading`): the
volume, every time point of a dynamic series, or the images of a projection series
(and the study's other images the protocol hangs), and the prior study it compares with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from PySide6.QtCore import QObject, Signal

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.ui.hanging_protocols import BUILT_IN, HangingProtocol
from workstation.ui.reading import Reading

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
    """Runs scan and load jobs for a :class:`ViewerContext` and reports what it found.

    ``known_studies`` lists the studies opened so far (where a prior is looked for) and
    ``protocols`` the hanging protocols to choose from; ``show`` puts a loaded reading
    on screen (the viewer area), before ``series_loaded`` is emitted.
    """

    scanned = Signal(object)  # ScanResult
    series_loaded = Signal(object, object)  # Series, Volume
    reading_loaded = Signal(object)  # Reading
    failed = Signal(str, str)  # (what, error)

    def __init__(self, context: ViewerContext, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.last_scan: Any = None
        self.known_studies: Callable[[], Sequence[Study]] = lambda: ()
        self.protocols: Callable[[], Sequence[HangingProtocol]] = lambda: BUILT_IN
        self.show: Optional[Callable[[Reading], None]] = None
        self.current: Optional[tuple[Optional[Study], Series]] = None

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

    def load_series(self, study: Optional[Study], series: Series, protocol: Optional[HangingProtocol] = None) -> None:
        """Decode ``series`` (and what its hanging protocol shows) in a job and show it.

        ``protocol`` forces a hanging protocol instead of the best match.
        """
        studies, protocols = list(self.known_studies()), list(self.protocols())

        def work(backend: Backend, progress: ProgressFn) -> Reading:
            from workstation.ui.reading import load_reading

            return load_reading(study, series, studies, protocols, protocol, progress)

        def done(reading: Reading) -> None:
            self.current = (study, series)
            if self.show is not None:
                self.show(reading)
            else:
                self.context.set_loaded(study, series, reading.volume)
            self.reading_loaded.emit(reading)
            self.series_loaded.emit(series, reading.volume)

        title = f"Load {series.label or series.uid[-12:]}"
        self.context.run_job(title, work, done, lambda e: self.failed.emit(title, e))

    def reload(self, protocol: Optional[HangingProtocol] = None) -> bool:
        """Load the current series again, under ``protocol`` (False when nothing is open)."""
        if self.current is None:
            return False
        self.load_series(*self.current, protocol=protocol)
        return True
