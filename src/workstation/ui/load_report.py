"""The non-modal load report: files that could not be used and series warnings."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtWidgets import QDockWidget, QTreeWidget, QTreeWidgetItem, QWidget


class LoadReportDock(QDockWidget):
    """Lists ``(file or series, reason)`` rows of the last scans and loads."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Load report", parent)
        self.setObjectName("load_report_dock")
        self.setAccessibleName("Load report")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Load problems")
        self.tree.setHeaderLabels(["File or series", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 320)
        self.setWidget(self.tree)

    @property
    def n_rows(self) -> int:
        return self.tree.topLevelItemCount()

    def rows(self) -> list[tuple[str, str]]:
        items = [self.tree.topLevelItem(i) for i in range(self.n_rows)]
        return [(item.text(0), item.text(1)) for item in items if item is not None]

    def add_row(self, where: str, reason: str) -> None:
        item = QTreeWidgetItem([where, reason])
        item.setToolTip(0, where)
        item.setToolTip(1, reason)
        self.tree.addTopLevelItem(item)

    def add_scan(self, result: Any) -> int:
        """Add the problems and series issues of a scan result; returns rows added."""
        before = self.n_rows
        for problem in getattr(result, "problems", []):
            self.add_row(str(problem.path), problem.reason)
        from workstation.io.dicom_images import reading_issues

        for study in getattr(result, "studies", []):
            for series in study.series:
                for issue in reading_issues(series):
                    self.add_row(f"series {series.label or series.uid}", issue)
        added = self.n_rows - before
        if added:
            self.show()
            self.raise_()
        return added

    def add_loaded(self, series: Any, volume: Any) -> int:
        """Add the files a load left out (pixels that could not be read); returns rows added."""
        skipped = list(getattr(volume, "meta", {}).get("skipped_files", []))
        for path, reason in skipped:
            self.add_row(str(path), reason)
        if skipped:
            self.show()
            self.raise_()
        return len(skipped)

    def clear(self) -> None:
        self.tree.clear()
