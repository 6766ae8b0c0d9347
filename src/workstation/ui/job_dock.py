"""The job dock: every background job with its progress, state, errors and a Cancel button."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.jobs.runner import Job, JobRunner, JobState

ERROR_COLOUR = "#ff7b72"  # both read at 4.5:1 or more on the dark and the high-contrast windows
NOTICE_COLOUR = "#e3b341"


class JobRow(QFrame):
    """One job: title, progress bar, message, state and Cancel."""

    def __init__(self, job: Job, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.job = job
        self._notice = ""
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(job.title)
        self.title.setStyleSheet("font-weight: bold")
        self.title.setToolTip(job.title)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state_label = QLabel(job.state.value)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(f"Progress of {job.title}")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName(f"Cancel {job.title}")
        self.cancel_button.clicked.connect(self._cancel)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.state_label)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        # Job signals are emitted from the worker thread; bound slots of this widget
        # are queued into the GUI thread.
        job.progressed.connect(self._on_progress)
        job.state_changed.connect(self._on_state)
        job.failed.connect(self._on_failed)
        job.fell_back.connect(self._on_fell_back)
        self._on_state(job.state)

    def _cancel(self) -> None:
        self.job.cancel()
        self.state_label.setText("cancelling…")
        self.cancel_button.setEnabled(False)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(int(round(fraction * 1000)))
        if message:
            self.message.setText(message)

    def _on_state(self, state: Any) -> None:
        self.state_label.setText(state.value)
        self.cancel_button.setEnabled(not self.job.finished)
        self.cancel_button.setVisible(not self.job.finished)
        if state is JobState.DONE:
            self.bar.setValue(1000)
            used = self.job.used_backend.label if self.job.used_backend is not None else ""
            done = f"done on {used}" if used else "done"
            self.message.setText(f"{done}. {self._notice}" if self._notice else done)

    def _on_failed(self, error: str) -> None:
        self.message.setText(error)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}")

    def _on_fell_back(self, notice: str) -> None:
        self._notice = notice
        self.message.setText(notice)
        self.message.setStyleSheet(f"color: {NOTICE_COLOUR}")


class JobDock(QDockWidget):
    """Lists the jobs of a :class:`JobRunner`, newest first."""

    gpu_fallback = Signal(str)  # first CPU fallback notice, for a one-time message

    def __init__(self, runner: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__("Jobs", parent)
        self.setObjectName("job_dock")
        self.setAccessibleName("Jobs")
        self.runner = runner
        self.rows: list[JobRow] = []
        self._fallback_noticed = False
        inner = QWidget()
        self._list = QVBoxLayout(inner)
        self._list.setContentsMargins(2, 2, 2, 2)
        self._list.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(scroll)
        runner.job_added.connect(self.add_job)
        for job in runner.jobs:
            self.add_job(job)

    def add_job(self, job: Job) -> None:
        row = JobRow(job)
        self.rows.append(row)
        self._list.insertWidget(0, row)
        job.fell_back.connect(self._on_fell_back)

    def row_for(self, job: Job) -> JobRow:
        for row in self.rows:
            if row.job is job:
                return row
        raise KeyError(f"job {job.title!r} is not listed")

    def _on_fell_back(self, notice: str) -> None:
        if not self._fallback_noticed:
            self._fallback_noticed = True
            self.gpu_fallback.emit(notice)
