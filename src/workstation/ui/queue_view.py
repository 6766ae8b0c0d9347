"""The persistent queue in the job dock: queued, running and finished jobs of every process.

Rows are read from the queue's database once a second (a read never waits for a
writer); jobs of this window are left out (the dock shows them with live progress
above).  Cancel and Retry act on the selected rows.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.core.redact import redact
from workstation.jobs.job_row import JobRow
from workstation.jobs.queue import STATES, JobQueue

FILTERS = {"All": None, "Queued": ["queued"], "Running": ["running"], "Finished": ["done", "failed", "cancelled"],
           "Failed": ["failed"]}
COLUMNS = ("#", "state", "job", "progress")
LIMIT = 300


class QueueView(QWidget):
    """A table of the queue's jobs with a state filter, Cancel and Retry."""

    def __init__(self, queue: JobQueue, hidden_rows: Any = frozenset, parent: Optional[QWidget] = None,
                 interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.queue = queue
        self._hidden_rows = hidden_rows  # () -> ids this window shows itself
        self.summary = QLabel()
        self.summary.setAccessibleName("Queue summary")
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.filter.setAccessibleName("Show jobs")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Job queue")
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.cancel_button.setAccessibleName("Cancel the selected queued jobs")
        self.retry_button.setAccessibleName("Queue the selected finished jobs again")
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.filter)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.filter.currentTextChanged.connect(lambda _: self.refresh())
        self.cancel_button.clicked.connect(lambda: self._act(self.queue.cancel))
        self.retry_button.clicked.connect(lambda: self._act(self.queue.retry))
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.rows: list[JobRow] = []
        self.refresh()

    def _act(self, action: Any) -> None:
        ids = sorted({self.rows[i.row()].id for i in self.table.selectedIndexes() if i.row() < len(self.rows)})
        if ids:
            action(ids)
            self.refresh()

    def refresh(self) -> None:
        """Read the queue again and show it."""
        try:
            hidden = set(self._hidden_rows())
            rows = [r for r in self.queue.jobs(FILTERS[self.filter.currentText()], limit=LIMIT, light=True)
                    if r.id not in hidden]
            counts = self.queue.counts()
        except Exception as exc:  # a locked or vanished database must not take the window down
            self.summary.setText(f"queue unavailable: {type(exc).__name__}")
            return
        self.summary.setText(", ".join(f"{counts[s]} {s}" for s in STATES if counts[s]))
        self._show(rows)

    def _show(self, rows: Iterable[JobRow]) -> None:
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for i, job in enumerate(self.rows):
            detail = job.error or job.message
            cells = (str(job.id), job.state, job.title, f"{100 * job.progress:.0f}%")
            tip = redact(f"{job.analysis} on study {job.study_uid or '-'}, device {job.used_device or job.device}, "
                         f"priority {job.priority}, attempts {job.attempts}" + (f"\n{detail}" if detail else ""))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(redact(text))
                item.setToolTip(tip)
                if column == 1 and job.state == "failed":
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(i, column, item)

    def state_of(self, job_id: int) -> Optional[str]:
        """The state shown for job ``job_id`` (tests, accessibility)."""
        return next((r.state for r in self.rows if r.id == job_id), None)
