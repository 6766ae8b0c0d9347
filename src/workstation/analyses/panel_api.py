"""What an analysis panel sees of the application: the viewer model it shares.

``ViewerContext`` is a model object (napari style): it holds the loaded study and
volume, the overlays analyses publish (:mod:`workstation.core.overlays`), and the job
runner.  Viewers subscribe to its signals; panels read from it and write overlays to it.  Panels receive it in their
constructor and never reach into the main window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from PySide6.QtCore import QObject, Signal

from workstation.core.key_images import KeyImageRecord
from workstation.core.overlays import Overlay, Roi, grid_arrays
from workstation.core.study import Series, Study
from workstation.core.volume import Volume
from workstation.io.writers import results_folder_beside
from workstation.jobs.runner import Job, JobFn, JobRunner


class ViewerContext(QObject):
    """The shared model between the main window's viewers and the analysis panels."""

    study_changed = Signal(object)  # Study | None
    series_changed = Signal(object)  # Series | None
    volume_changed = Signal(object)  # Volume | None
    overlays_changed = Signal()
    focus_requested = Signal(object)  # (z, y, x) voxel the viewers should centre on
    voxel_clicked = Signal(object)  # (z, y, x) where the user clicked in a 2D view
    roi_changed = Signal(object)  # Roi | None
    message = Signal(str, str)  # (title, text) for the status bar / a message box
    key_images_changed = Signal()
    key_image_requested = Signal(str)  # caption: mark the image shown as a key image

    def __init__(self, jobs: Optional[JobRunner] = None) -> None:
        super().__init__()
        self.jobs = jobs if jobs is not None else JobRunner()
        self._study: Optional[Study] = None
        self._series: Optional[Series] = None
        self._volume: Optional[Volume] = None
        self._overlays: dict[str, Overlay] = {}
        self._roi: Optional[Roi] = None
        self._key_images: list[KeyImageRecord] = []

    # -- what is loaded -------------------------------------------------------------
    @property
    def study(self) -> Optional[Study]:
        return self._study

    @property
    def series(self) -> Optional[Series]:
        return self._series

    @property
    def volume(self) -> Optional[Volume]:
        return self._volume

    def set_loaded(self, study: Optional[Study], series: Optional[Series], volume: Optional[Volume]) -> None:
        """Replace what is shown; overlays of the previous volume are dropped."""
        self._overlays.clear()
        self._roi = None
        self._study, self._series, self._volume = study, series, volume
        self.study_changed.emit(study)
        self.series_changed.emit(series)
        self.volume_changed.emit(volume)
        self.overlays_changed.emit()

    # -- overlays -------------------------------------------------------------------
    @property
    def overlays(self) -> Mapping[str, Overlay]:
        return dict(self._overlays)

    def set_overlay(self, key: str, overlay: Optional[Overlay]) -> None:
        """Publish (or with ``None`` remove) an overlay under a key owned by the panel.

        Raster overlays must lie on the shown volume's grid; vector overlays (marks,
        polylines) carry their own coordinates."""
        if overlay is not None and self._volume is not None:
            for data in grid_arrays(overlay):
                if tuple(data.shape) != self._volume.shape:
                    raise ValueError(f"overlay {key!r} has shape {data.shape}, volume is {self._volume.shape}")
        if overlay is None:
            self._overlays.pop(key, None)
        else:
            self._overlays[key] = overlay
        self.overlays_changed.emit()

    # -- interaction ----------------------------------------------------------------
    @property
    def roi(self) -> Optional[Roi]:
        return self._roi

    def set_roi(self, roi: Optional[Roi]) -> None:
        self._roi = roi
        self.roi_changed.emit(roi)

    # -- key images -----------------------------------------------------------------
    @property
    def key_images(self) -> tuple[KeyImageRecord, ...]:
        """The key images marked on the loaded study, in the order marked."""
        return tuple(self._key_images)

    def set_key_images(self, records: tuple[KeyImageRecord, ...]) -> None:
        self._key_images = list(records)
        self.key_images_changed.emit()

    def add_key_image(self, record: KeyImageRecord) -> None:
        self._key_images.append(record)
        self.key_images_changed.emit()

    def request_key_image(self, caption: str = "") -> None:
        """Ask the viewer to mark what it shows as a key image (any panel may call this)."""
        self.key_image_requested.emit(caption)

    def focus(self, index_zyx: tuple[int, int, int]) -> None:
        """Ask the viewers to show this voxel (a table row was selected, say)."""
        self.focus_requested.emit(tuple(int(i) for i in index_zyx))

    def run_job(
        self,
        title: str,
        fn: JobFn,
        on_done: Optional[Callable[[Any], None]] = None,
        on_error: Optional[Callable[[str], None]] = None,
        on_partial: Optional[Callable[[Any], None]] = None,
    ) -> Job:
        """Run ``fn(backend, progress)`` off the GUI thread (shown in the job dock);
        ``on_partial(partial)`` receives the chunks the work publishes as they finish."""
        return self.jobs.submit(title, fn, on_done, on_error, on_partial)

    def notify(self, title: str, text: str) -> None:
        self.message.emit(title, text)


class PanelExport:
    """``export()`` as every analysis panel offers it (a mixin beside ``QWidget``).

    The panel defines ``export_to(folder)`` (writing through its ``artifacts.py`` and
    raising for a source folder or a failed write) and ``show_problem(text)``; the
    Export button calls :meth:`export`, which picks the default folder and turns faults
    into a message instead of an exception.  :meth:`export_row` builds that button
    beside a "Folder..." button choosing :attr:`output_dir`.
    """

    context: ViewerContext
    #: where the Export button writes (``None``: :meth:`default_export_folder`)
    output_dir: Optional[Path] = None

    def export_to(self, folder: Path) -> Any:
        raise NotImplementedError

    def show_problem(self, text: str) -> None:
        raise NotImplementedError

    def default_export_folder(self) -> Path:
        """``<study folder>_results`` beside the shown series' folder (never inside it)."""
        series = self.context.series
        if series is None and self.context.study is not None and self.context.study.series:
            series = self.context.study.series[0]
        if series is not None and series.frames:
            return results_folder_beside(Path(series.frames[0].path).parent)
        return Path.home() / "workstation_results"

    def export_row(self, text: str) -> Any:
        """A row of the Export button (labelled ``text``) and "Folder..."; sets ``export_button``."""
        from PySide6.QtWidgets import QHBoxLayout, QPushButton

        self.export_button = QPushButton(text)
        self.export_button.clicked.connect(lambda: self.export(self.output_dir))
        self.choose_button = QPushButton("Folder...")
        self.choose_button.clicked.connect(self.choose_export_folder)
        row = QHBoxLayout()
        row.addWidget(self.export_button)
        row.addWidget(self.choose_button)
        return row

    def choose_export_folder(self) -> None:
        """Ask for the export folder, offering the default first."""
        from PySide6.QtWidgets import QFileDialog

        chosen = QFileDialog.getExistingDirectory(self, "Export folder",  # type: ignore[arg-type]  # a QWidget mixin
                                                  str(self.default_export_folder()))
        if chosen:
            self.output_dir = Path(chosen)

    def export(self, folder: Optional[Path] = None) -> list[Path]:
        """Write the panel's export into ``folder`` (default: :meth:`default_export_folder`)."""
        try:
            written = self.export_to(Path(folder) if folder is not None else self.default_export_folder())
        except (ValueError, OSError) as exc:
            self.show_problem(str(exc))
            return []
        if written is None:
            return []
        return list(written) if isinstance(written, (list, tuple)) else [written]
