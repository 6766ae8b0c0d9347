"""A prior study beside the current one, scrolled with it by patient position.

The prior lives in a context of its own (its study, series and volume), shown by an
axial :class:`~workstation.ui.viewer2d.SliceViewer` with its own view state.  Moving
through the current volume moves the prior to the same patient position (x, y, z mm,
DICOM LPS) plus an offset, and the other way round.  The offset starts at zero
(the scanner's table coordinates) and :meth:`PriorViews.synchronise` sets it so that
the two slices shown now correspond (for studies positioned differently).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.core.study import Series, Study
from workstation.core.volume import Volume
from workstation.ui.view_state import ViewState
from workstation.ui.viewer2d import SliceViewer


class PriorViews(QObject):
    """The prior's context, view state and axial view, linked to the current view state."""

    link_changed = Signal(bool)

    def __init__(self, current: ViewerContext, current_state: ViewState, parent: QWidget) -> None:
        super().__init__(parent)
        self.current, self.current_state = current, current_state
        self.context = ViewerContext(current.jobs)
        self.state = ViewState(self)
        self.context.volume_changed.connect(self.state.reset_for)
        self.view = SliceViewer(self.context, self.state, axis=0, parent=parent)
        self.view.setAccessibleName("Prior study axial slice view")
        self.view.hide()
        self.offset_mm = np.zeros(3)
        self.linked = True
        self._busy = False
        current_state.crosshair_changed.connect(self._current_moved)
        self.state.crosshair_changed.connect(self._prior_moved)
        current_state.window_changed.connect(self._share_window)

    def set_prior(self, study: Optional[Study], series: Optional[Series], volume: Optional[Volume]) -> None:
        """Show ``volume`` of ``study`` as the prior (``None``: no prior)."""
        self.offset_mm = np.zeros(3)
        self._busy = True  # the prior's own reset must not move the current study
        try:
            self.context.set_loaded(study, series, volume)
        finally:
            self._busy = False
        self.view.caption = "Prior " + (study.study_date.isoformat() if study is not None and study.study_date else "")
        if volume is not None:
            self._current_moved(self.current_state.crosshair)

    def _share_window(self, width: float, level: float) -> None:
        if self.context.volume is not None and self.context.volume.modality == getattr(self.current.volume,
                                                                                        "modality", None):
            self.state.set_window(width, level)

    @staticmethod
    def _to_patient(volume: Volume, zyx: Any) -> NDArray[np.float64]:
        return np.asarray(volume.index_to_patient(np.asarray(zyx, dtype=float)), dtype=float)

    def _current_moved(self, zyx: Any) -> None:
        prior, current = self.context.volume, self.current.volume
        if self._busy or not self.linked or prior is None or current is None:
            return
        point = self._to_patient(current, zyx) - self.offset_mm
        self._busy = True
        try:
            self.state.set_crosshair(prior.patient_to_index(point))
        finally:
            self._busy = False

    def _prior_moved(self, zyx: Any) -> None:
        prior, current = self.context.volume, self.current.volume
        if self._busy or not self.linked or prior is None or current is None or not self.view.isVisible():
            return  # only a prior on screen leads the current study
        point = self._to_patient(prior, zyx) + self.offset_mm
        self._busy = True
        try:
            self.current_state.set_crosshair(current.patient_to_index(point))
        finally:
            self._busy = False

    def synchronise(self) -> None:
        """Link the two slices shown now: the offset becomes their difference in patient position
        and the scrolling is linked again."""
        prior, current = self.context.volume, self.current.volume
        if prior is None or current is None:
            return
        self.offset_mm = (self._to_patient(current, self.current_state.crosshair)
                          - self._to_patient(prior, self.state.crosshair))
        self.linked = True
        self.link_changed.emit(True)

    def patient_z(self) -> tuple[Optional[float], Optional[float]]:
        """Patient z (mm) of the current and prior slices shown, for the status and tests."""
        prior, current = self.context.volume, self.current.volume
        cz = float(self._to_patient(current, self.current_state.crosshair)[2]) if current is not None else None
        pz = float(self._to_patient(prior, self.state.crosshair)[2]) if prior is not None else None
        return cz, pz
