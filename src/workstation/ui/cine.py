"""The cine player: a frame (or time point) slider with play/pause, frame rate and loop.

One bar serves a cine loop in the image viewer (frames, at the header's frame rate) and
the time points of a dynamic series in the slice views (every view follows).  Playing
advances on a timer at the chosen rate; without loop it stops at the last frame.
"""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

DEFAULT_FPS = 10.0


class CineBar(QWidget):
    """Frame slider, play/pause, frames per second and loop; emits ``frame_changed(index)``."""

    frame_changed = Signal(int)

    def __init__(self, what: str = "Frame", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.what = what
        self.times: Optional[Sequence[float]] = None
        self.play_button = QToolButton()
        self.play_button.setText("Play")
        self.play_button.setCheckable(True)
        self.play_button.setAccessibleName(f"Play or pause the {what.lower()}s")
        self.play_button.setToolTip("Play / pause (Space)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName(f"{what} slider")
        self.slider.setMinimum(0)
        self.label = QLabel()
        self.label.setAccessibleName(f"Shown {what.lower()}")
        self.fps = QDoubleSpinBox()
        self.fps.setAccessibleName("Frames per second")
        self.fps.setRange(0.5, 120.0)
        self.fps.setDecimals(1)
        self.fps.setSuffix(" fps")
        self.fps.setValue(DEFAULT_FPS)
        self.loop = QCheckBox("Loop")
        self.loop.setAccessibleName("Loop the playback")
        self.loop.setChecked(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 1, 4, 1)
        for widget in (self.play_button, self.slider, self.label, self.fps, self.loop):
            row.addWidget(widget, 1 if widget is self.slider else 0)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.advance)
        self.play_button.toggled.connect(self.set_playing)
        self.slider.valueChanged.connect(self._moved)
        self.fps.valueChanged.connect(lambda *_: self._restart())
        self.set_count(1)

    @property
    def index(self) -> int:
        return int(self.slider.value())

    @property
    def count(self) -> int:
        return int(self.slider.maximum()) + 1

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def set_count(self, n: int, times: Optional[Sequence[float]] = None, frame_time_s: Optional[float] = None) -> None:
        """Show ``n`` frames (``times`` in s label them); ``frame_time_s`` sets the rate."""
        self.set_playing(False)
        self.times = times
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(0, n - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        if frame_time_s is not None and frame_time_s > 0:
            self.fps.setValue(min(self.fps.maximum(), max(self.fps.minimum(), 1.0 / frame_time_s)))
        elif times is not None and len(times) > 1:
            span = float(times[-1]) - float(times[0])
            if span > 0:
                self.fps.setValue(min(self.fps.maximum(), max(self.fps.minimum(), (len(times) - 1) / span)))
        self._label()

    def set_index(self, index: int) -> None:
        self.slider.setValue(int(max(0, min(index, self.count - 1))))

    def show_index(self, index: int) -> None:
        """Move the slider to ``index`` without emitting ``frame_changed`` (the view moved itself)."""
        self.slider.blockSignals(True)
        self.slider.setValue(int(max(0, min(index, self.count - 1))))
        self.slider.blockSignals(False)
        self._label()

    def set_playing(self, play: bool) -> None:
        if play and self.count > 1:
            self._restart(start=True)
        else:
            self.timer.stop()
        self.play_button.blockSignals(True)
        self.play_button.setChecked(self.timer.isActive())
        self.play_button.setText("Pause" if self.timer.isActive() else "Play")
        self.play_button.blockSignals(False)

    def toggle(self) -> None:
        self.set_playing(not self.playing)

    def advance(self) -> None:
        """The next frame (wrapping when looping, stopping at the end otherwise)."""
        nxt = self.index + 1
        if nxt >= self.count:
            if not self.loop.isChecked():
                self.set_playing(False)
                return
            nxt = 0
        self.slider.setValue(nxt)

    def _restart(self, start: bool = False) -> None:
        if start or self.timer.isActive():
            self.timer.start(max(1, int(round(1000.0 / self.fps.value()))))

    def _moved(self, index: int) -> None:
        self._label()
        self.frame_changed.emit(int(index))

    def _label(self) -> None:
        text = f"{self.what} {self.index + 1}/{self.count}"
        if self.times is not None and self.index < len(self.times):
            text += f"  t {float(self.times[self.index]):.1f} s"
        self.label.setText(text)
