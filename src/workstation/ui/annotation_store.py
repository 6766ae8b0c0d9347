"""Annotations saved per study, as a DICOM SR measurement report in the user's data folder.

The report of a study is ``<data>/annotations/<StudyInstanceUID>.dcm`` (the data folder
of :mod:`workstation.core.paths`, never the study's own folder, which stays untouched).
Every edit saves it again in the background a moment later (or at once with Ctrl+S),
on a thread of the store's own (these small writes stay out of the job list); an edit
that leaves no annotation removes it.  Opening a study whose report exists shows
its annotations again.  A report that cannot be read is named in a message; nothing
else is lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from workstation.analyses.panel_api import ViewerContext
from workstation.core.annotations import Annotation
from workstation.core.paths import data_dir
from workstation.core.study import Study
from workstation.ui.annotation_model import AnnotationModel

log = logging.getLogger(__name__)
SAVE_DELAY_MS = 1500
_UID = re.compile(r"^[0-9.]{1,64}$")


def annotations_folder() -> Path:
    return data_dir() / "annotations"


def report_path(study_uid: str, folder: Optional[Path] = None) -> Path:
    """Where the report of ``study_uid`` is kept (a UID is its own file name; anything else is hashed)."""
    name = study_uid if _UID.match(study_uid or "") else hashlib.sha256(study_uid.encode()).hexdigest()[:32]
    return (folder or annotations_folder()) / f"{name}.dcm"


def evidence_files(study: Study, annotations: list[Annotation]) -> list[Path]:
    """The images the annotations were drawn on (headers for the report's evidence)."""
    by_instance = {f.sop_instance_uid: Path(f.path) for s in study.series for f in s.frames}
    files = [by_instance[a.sop_instance_uid] for a in annotations if a.sop_instance_uid in by_instance]
    if not files:
        frames = {a.frame_of_reference_uid for a in annotations}
        chosen = [s for s in study.series if s.frame_of_reference_uid in frames and s.frames] or \
            [s for s in study.series if s.frames]
        files = [Path(chosen[0].frames[0].path)] if chosen else []
    return list(dict.fromkeys(files))


class _Signals(QObject):
    done = Signal(object, object)  # (callback, result)
    failed = Signal(object, str)  # (callback, message)


class _Task(QRunnable):
    """Run ``fn()`` on the pool; hand its result (or its fault) to the GUI thread."""

    def __init__(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None],
                 signals: _Signals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.fn, self.done, self.failed, self.signals = fn, done, failed, signals

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # reported to the user by the store; nothing else is lost
            self.signals.failed.emit(self.failed, f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(self.done, result)


class AnnotationStore(QObject):
    """Loads the open study's annotations into the model and saves them after each edit."""

    def __init__(self, context: ViewerContext, model: AnnotationModel, folder: Optional[Path] = None,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.context, self.model, self.folder = context, model, folder
        self.study: Optional[Study] = None
        self.saved_path: Optional[Path] = None
        self.last_error = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_now)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # saves and loads in the order asked
        self._signals = _Signals(self)
        self._signals.done.connect(lambda callback, result: callback(result))
        self._signals.failed.connect(lambda callback, message: callback(message))
        model.edited.connect(self._timer.start)
        context.study_changed.connect(self._study_changed)

    def path(self) -> Optional[Path]:
        return report_path(self.study.uid, self.folder) if self.study is not None else None

    def _study_changed(self, study: Optional[Study]) -> None:
        if study is not None and self.study is not None and study.uid == self.study.uid:
            self.study = study  # the same study loaded again (another series): keep the annotations
            return
        if self._timer.isActive():
            self.save_now()  # what was drawn on the previous study is not lost
        self.study = study
        self.model.load(study.uid if study is not None else "", [])
        path = self.path()
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        study_uid = self.model.study_uid

        def work() -> list[Annotation]:
            from workstation.report.measurement_sr import read_report

            return read_report(path)

        def done(items: list[Annotation]) -> None:
            if self.model.study_uid == study_uid and not self.model.items:
                self.model.load(study_uid, items)

        def failed(error: str) -> None:
            self.last_error = f"{path}: {error}"
            self.context.notify("Annotations", f"The saved annotations could not be read ({self.last_error}).")

        self._pool.start(_Task(work, done, failed, self._signals))

    def save_now(self) -> None:
        """Write the open study's annotations (in a job); remove the report when there are none."""
        self._timer.stop()
        study, path = self.study, self.path()
        if study is None or path is None:
            return
        items = list(self.model.items)
        if not items:
            path.unlink(missing_ok=True)
            self.saved_path = None
            return
        files = evidence_files(study, items)

        def work() -> Path:
            from workstation import __version__
            from workstation.report.measurement_sr import write_report

            path.parent.mkdir(parents=True, exist_ok=True)
            return write_report(items, files, path, software=f"Workstation {__version__}")

        def done(written: Path) -> None:
            self.saved_path = written

        def failed(error: str) -> None:
            self.last_error = error
            self.context.notify("Annotations", f"The annotations could not be saved to {path}: {error}")

        self._pool.start(_Task(work, done, failed, self._signals))

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the saves and loads asked for are done (closing the window, tests)."""
        return bool(self._pool.waitForDone(timeout_ms))
