"""The cine view of the cardiac panel: one plane with its contours, slice and phase sliders, play, edit.

The three borders are drawn on the plane (red LV endocardium, green LV epicardium,
blue RV endocardium).  "Edit" turns the chosen border into a closed polyline with
draggable handles; releasing a handle rasterises the polygon into the labels
(:func:`.contours.apply_border`) and emits :attr:`CineView.plane_edited`, which the
panel answers by re-measuring.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from workstation.analyses.cardiac_function.contours import BORDERS, apply_border, border_mask, outline, resample
from workstation.compute.windowing import window_to_uint8

PENS = {"LV endocardium": (230, 60, 60), "LV epicardium": (60, 200, 90), "RV endocardium": (70, 140, 255)}


class CineView(QWidget):
    """A plane of the cine with its contours; edits come back as :attr:`plane_edited` ``(phase, slice, plane)``."""

    plane_edited = Signal(int, int, object)
    plane_changed = Signal(int, int)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.images: Optional[Any] = None  # (phases, slices, rows, cols)
        self.labels: Optional[np.ndarray] = None
        self.levels = (1.0, 0.5)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(240, 220)
        self.graphics.setAccessibleName("Short-axis cine with the LV and RV contours")
        self.box = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.curves = {b: pg.PlotDataItem(pen=pg.mkPen(PENS[b], width=2)) for b in BORDERS}
        for curve in self.curves.values():
            self.box.addItem(curve)
        self.roi: Optional[pg.PolyLineROI] = None
        self._roi_for: Optional[tuple[int, int, str]] = None  # (phase, slice, border) the handles belong to
        self.slice_slider, self.phase_slider = QSlider(Qt.Orientation.Horizontal), QSlider(Qt.Orientation.Horizontal)
        self.slice_slider.setAccessibleName("Slice")
        self.phase_slider.setAccessibleName("Phase")
        self.position = QLabel("")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.border_choice = QComboBox()
        self.border_choice.addItems(list(BORDERS))
        self.edit_button = QPushButton("Edit contour")
        self.edit_button.setCheckable(True)
        self.show_contours = QCheckBox("Contours")
        self.show_contours.setChecked(True)
        self.timer = QTimer(self)
        self.timer.setInterval(60)
        self._layout()
        self.slice_slider.valueChanged.connect(self._moved)
        self.phase_slider.valueChanged.connect(self._moved)
        self.play_button.toggled.connect(self._play)
        self.timer.timeout.connect(self._next_phase)
        self.edit_button.toggled.connect(self._edit_toggled)
        self.border_choice.currentTextChanged.connect(lambda _t: self._edit_toggled(self.edit_button.isChecked()))
        self.show_contours.toggled.connect(lambda _v: self.refresh())
        self.setEnabled(False)

    def _layout(self) -> None:
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.graphics, 1)
        for name, slider in (("Slice", self.slice_slider), ("Phase", self.phase_slider)):
            line = QHBoxLayout()
            line.addWidget(QLabel(name))
            line.addWidget(slider, 1)
            rows.addLayout(line)
        tools = QHBoxLayout()
        for w in (self.play_button, self.show_contours, self.border_choice, self.edit_button):
            tools.addWidget(w)
        rows.addLayout(tools)
        rows.addWidget(self.position)

    def sizeHint(self) -> QSize:
        return QSize(380, 430)

    # -- data -------------------------------------------------------------------------------
    def set_data(self, images: Any, labels: Optional[np.ndarray], window: tuple[float, float]) -> None:
        """Show ``images`` (phases, slices, rows, cols) and ``labels`` of the same shape (or none yet)."""
        self.images, self.labels, self.levels = images, labels, window
        n_t, n_z = images.shape[:2]
        for slider, n in ((self.slice_slider, n_z), (self.phase_slider, n_t)):
            slider.blockSignals(True)
            slider.setRange(0, n - 1)
            slider.blockSignals(False)
        self.setEnabled(True)
        self.refresh()

    def set_labels(self, labels: Optional[np.ndarray]) -> None:
        self.labels = labels
        self.refresh()

    def focus_on_labels(self, margin_px: int = 24) -> None:
        """Zoom to the labelled region of all planes (the heart), with a margin."""
        if self.labels is None or not self.labels.any():
            return
        rows = np.flatnonzero(self.labels.any(axis=(0, 1, 3)))
        cols = np.flatnonzero(self.labels.any(axis=(0, 1, 2)))
        self.box.setRange(xRange=(cols[0] - margin_px, cols[-1] + margin_px),
                          yRange=(rows[0] - margin_px, rows[-1] + margin_px), padding=0)

    @property
    def plane(self) -> tuple[int, int]:
        """``(phase, slice)`` shown."""
        return self.phase_slider.value(), self.slice_slider.value()

    def show_plane(self, phase: int, slice_index: int) -> None:
        self.phase_slider.setValue(phase)
        self.slice_slider.setValue(slice_index)

    def _moved(self, _value: int) -> None:
        self.refresh()
        self.plane_changed.emit(*self.plane)

    def _play(self, on: bool) -> None:
        self.play_button.setText("Stop" if on else "Play")
        if on:
            self.edit_button.setChecked(False)
            self.timer.start()
        else:
            self.timer.stop()

    def _next_phase(self) -> None:
        n = self.phase_slider.maximum() + 1
        self.phase_slider.setValue((self.phase_slider.value() + 1) % max(n, 1))

    # -- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.images is None:
            return
        t, k = self.plane
        width, level = self.levels
        self.image_item.setImage(window_to_uint8(np.asarray(self.images[t, k]), width, level), autoLevels=False,
                                 levels=(0, 255))
        self.position.setText(f"phase {t + 1}/{self.images.shape[0]}, slice {k}/{self.images.shape[1] - 1}")
        plane = None if self.labels is None else self.labels[t, k]
        for border, curve in self.curves.items():
            points = None if plane is None or not self.show_contours.isChecked() else outline(border_mask(plane, border))
            if points is None:
                curve.setData([], [])
            else:
                closed = np.vstack([points, points[:1]])
                curve.setData(closed[:, 1], closed[:, 0])
        if self.edit_button.isChecked() and self._roi_for != (t, k, self.border_choice.currentText()):
            self._edit_toggled(True)  # a new plane or border: new handles; the reader's own edit keeps them

    def contour_pixels(self) -> dict[str, int]:
        """Points drawn per border on the shown plane (what tests check)."""
        return {b: len(c.getData()[0] if c.getData()[0] is not None else []) for b, c in self.curves.items()}

    # -- editing ----------------------------------------------------------------------------
    def _edit_toggled(self, on: bool) -> None:
        if self.roi is not None:
            self.box.removeItem(self.roi)
            self.roi, self._roi_for = None, None
        if not on or self.labels is None:
            return
        t, k = self.plane
        border = self.border_choice.currentText()
        self._roi_for = (t, k, border)
        points = outline(border_mask(self.labels[t, k], border))
        if points is None:
            self.position.setText(self.position.text() + f" - no {border} on this plane to edit")
            return
        handles = resample(points)
        self.roi = pg.PolyLineROI([(float(c), float(r)) for r, c in handles], closed=True,
                                  pen=pg.mkPen(PENS[border], width=2))
        self.roi.sigRegionChangeFinished.connect(self._roi_moved)
        self.box.addItem(self.roi)

    def handle_points(self) -> Optional[np.ndarray]:
        """The edited polygon's ``(row, col)`` points (None when not editing)."""
        if self.roi is None:
            return None
        pos = self.roi.pos()
        return np.array([(p.y() + pos.y(), p.x() + pos.x()) for _name, p in self.roi.getLocalHandlePositions()],
                        dtype=float)

    def move_handle(self, index: int, row: float, col: float) -> None:
        """Move one handle to ``(row, col)`` as a drag would, and finish the drag."""
        if self.roi is None:
            raise RuntimeError("no contour is being edited")
        self.roi.movePoint(self.roi.getHandles()[index], pg.Point(col, row), finish=True, coords="parent")

    def _roi_moved(self, _roi: Any = None) -> None:
        points = self.handle_points()
        if points is None or self.labels is None:
            return
        t, k = self.plane
        plane = apply_border(self.labels[t, k], self.border_choice.currentText(), points)
        self.plane_edited.emit(t, k, plane)
