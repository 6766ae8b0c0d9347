"""The job dock: this window's jobs with progress, state, errors and Cancel, then the queue.

The upper list holds the jobs this window runs (live progress); below it, when the
runner keeps a persistent queue, :class:`~workstation.ui.queue_view.QueueView` lists
every other job of the queue: queued, running in a worker, done, failed, cancelled.
"""

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
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.jobs.runner import Job, JobRunner, JobState
from workstation.ui.queue_view import QueueView

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
        self._on_progress(job.fraction, job.message)  # what it reported before this row existed
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
    """Lists the jobs of a :class:`JobRunner`, newest first, and the queue's other jobs."""

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
        self.queue_view: Optional[QueueView] = None
        if runner.queue is None:
            self.setWidget(scroll)
        else:
            self.queue_view = QueueView(runner.queue, lambda: {j.row for j in runner.jobs if j.row is not None})
            scroll.setMinimumHeight(120)  # one job row whole
            splitter = QSplitter(Qt.Orientation.Vertical)
            splitter.addWidget(scroll)
            splitter.addWidget(self.queue_view)
            splitter.setStretchFactor(0, 2)
            splitter.setStretchFactor(1, 3)
            self.setWidget(splitter)
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
