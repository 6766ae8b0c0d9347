"""The GPU monitor dock: memory, utilisation, temperature, power and ECC errors per GPU, every second.

Samples come from :class:`~workstation.compute.devices.DeviceMonitor` (NVML in a
thread of its own, so the window never waits on the driver); the dock redraws from
the latest sample once a second while it is visible.  GPUs taken out of rotation by
the health check are marked with the reason.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.compute.devices import DeviceMonitor, GpuSample, no_gpu_reason
from workstation.compute.health import ROTATION

COLUMNS = ("GPU", "memory (GiB)", "util", "temp", "power", "ECC")


def cells(s: GpuSample) -> tuple[str, ...]:
    """What one GPU's row shows."""
    def opt(value: Optional[float], fmt: str) -> str:
        return "-" if value is None else fmt.format(value)

    ecc = "-" if s.ecc_corrected is None and s.ecc_uncorrected is None else (
        f"{s.ecc_corrected if s.ecc_corrected is not None else '-'}/"
        f"{s.ecc_uncorrected if s.ecc_uncorrected is not None else '-'}")
    return (f"{s.index}: {s.name}", f"{s.memory_used / 2**30:.1f} / {s.memory_total / 2**30:.1f}",
            opt(s.utilisation, "{:d}%"), opt(s.temperature_c, "{:d} °C"), opt(s.power_w, "{:.0f} W"), ecc)


class GpuMonitorDock(QDockWidget):
    """Per-GPU figures, refreshed every ``interval_ms`` while shown."""

    def __init__(self, parent: Optional[QWidget] = None, monitor: Optional[DeviceMonitor] = None,
                 interval_ms: int = 1000) -> None:
        super().__init__("GPUs", parent)
        self.setObjectName("gpu_monitor_dock")
        self.setAccessibleName("GPU monitor")
        self.monitor = monitor or DeviceMonitor(interval_s=interval_ms / 1000.0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setAccessibleName("GPUs")
        self.note = QLabel()
        self.note.setWordWrap(True)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        self.setWidget(inner)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)

    def showEvent(self, event: QShowEvent) -> None:
        self.monitor.start()
        self.timer.start()
        self.refresh()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        self.monitor.stop()
        super().hideEvent(event)

    def refresh(self) -> None:
        """Show the latest sample (and why there is none)."""
        samples = self.monitor.latest()
        self.table.setRowCount(len(samples))
        out = ROTATION.out_of_rotation()
        for row, sample in enumerate(samples):
            for column, text in enumerate(cells(sample)):
                item = QTableWidgetItem(text)
                if column == 0 and sample.uuid:
                    item.setToolTip(sample.uuid)
                self.table.setItem(row, column, item)
        notes = [f"cuda:{i} out of rotation: {h.message}" for i, h in sorted(out.items())]
        if not samples and self.monitor.history():
            notes.insert(0, f"No GPU: {no_gpu_reason() or 'none found'}")
        self.note.setText("\n".join(notes))
        self.note.setStyleSheet("color: #e3b341" if out else "")
        self.note.setVisible(bool(notes))
        self.table.setVisible(bool(samples))

    def shutdown(self) -> None:
        self.timer.stop()
        self.monitor.stop()

