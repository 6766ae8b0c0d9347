"""The study browser: Patient > Study > Series, with thumbnails made in the background.

Double-clicking a series (or pressing Enter on it) loads it into the viewers.  A
study's non-image objects (RT structure sets, plans, doses, SR, SEG...) are listed
after its series, each with the series it refers to in its tooltip.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QDockWidget, QTreeWidget, QTreeWidgetItem, QWidget

from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn
from workstation.core.study import NonImageObject, Series, Study
from workstation.io.dicom_images import reading_issues
from workstation.ui.thumbnails import SIZE, thumbnails

SERIES_ROLE = Qt.ItemDataRole.UserRole + 1
OBJECT_ROLE = Qt.ItemDataRole.UserRole + 2


class StudyBrowser(QDockWidget):
    """A dock listing what scans found; emits ``series_activated(study, series)``."""

    series_activated = Signal(object, object)  # Study, Series

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__("Studies", parent)
        self.setObjectName("study_browser")
        self.setAccessibleName("Study browser")
        self.context = context
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Patients, studies and series")
        self.tree.setHeaderLabels(["Name", "Images", "Date"])
        self.tree.setIconSize(QSize(SIZE, SIZE))
        self.tree.setColumnWidth(0, 190)
        self.tree.setColumnWidth(1, 50)
        self.tree.itemActivated.connect(self._activated)
        self.setWidget(self.tree)
        self._series_items: dict[str, QTreeWidgetItem] = {}
        self._object_items: dict[str, QTreeWidgetItem] = {}
        self._entries: dict[str, tuple[Study, Series]] = {}

    def studies(self) -> list[Study]:
        """Every study listed (each once), in the order found."""
        seen: dict[str, Study] = {}
        for study, _series in self._entries.values():
            seen.setdefault(study.uid, study)
        return list(seen.values())

    def series_item(self, uid: str) -> QTreeWidgetItem:
        return self._series_items[uid]

    def object_item(self, sop_instance_uid: str) -> QTreeWidgetItem:
        """The row of a non-image object."""
        return self._object_items[sop_instance_uid]

    def add_scan(self, result: Any) -> None:
        """Add the patients, studies and series of a scan result, then make thumbnails."""
        new_series: list[Series] = []
        by_patient: dict[str, list[Study]] = {}
        for study in result.studies:
            by_patient.setdefault(study.patient_id or "(no ID)", []).append(study)
        for pid, studies in by_patient.items():
            name = studies[0].patient_name or pid
            patient_item = QTreeWidgetItem([f"{name}  [{pid}]", "", ""])
            self.tree.addTopLevelItem(patient_item)
            for study in studies:
                date = study.study_date.isoformat() if study.study_date else ""
                study_item = QTreeWidgetItem([study.description or "(study)", "", date])
                patient_item.addChild(study_item)
                for series in study.series:
                    item = QTreeWidgetItem([series.label or series.uid, str(series.n_frames), ""])
                    item.setData(0, SERIES_ROLE, series.uid)
                    issues = reading_issues(series)
                    if issues:
                        item.setToolTip(0, "\n".join(issues))
                    study_item.addChild(item)
                    self._series_items[series.uid] = item
                    self._entries[series.uid] = (study, series)
                    new_series.append(series)
                for obj in study.objects:
                    study_item.addChild(self._object_row(study, obj))
            patient_item.setExpanded(True)
            for i in range(patient_item.childCount()):
                child = patient_item.child(i)
                if child is not None:
                    child.setExpanded(True)
        if new_series:
            self._start_thumbnails(new_series)

    def _object_row(self, study: Study, obj: NonImageObject) -> QTreeWidgetItem:
        date = obj.ref.content_date.isoformat() if obj.ref.content_date else ""
        item = QTreeWidgetItem([obj.summary(), "", date])
        item.setData(0, OBJECT_ROLE, obj.ref.sop_instance_uid)
        refers = [s.label or s.uid for s in study.referenced_series(obj)]
        item.setToolTip(0, "Refers to: " + ", ".join(refers) if refers else "Refers to no series of this study")
        self._object_items[obj.ref.sop_instance_uid] = item
        return item

    def _start_thumbnails(self, series_list: list[Series]) -> None:
        def work(backend: Backend, progress: ProgressFn) -> dict[str, np.ndarray]:
            return thumbnails(series_list, progress)

        self.context.run_job("Thumbnails", work, self._set_thumbnails)

    def _set_thumbnails(self, images: dict[str, np.ndarray]) -> None:
        for uid, image in images.items():
            item = self._series_items.get(uid)
            if item is None:
                continue
            h, w = image.shape
            qimage = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_Grayscale8).copy()
            item.setIcon(0, QIcon(QPixmap.fromImage(qimage)))

    def has_thumbnail(self, uid: str) -> bool:
        return not self._series_items[uid].icon(0).isNull()

    def _activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        uid = item.data(0, SERIES_ROLE)
        if uid and uid in self._entries:
            self.series_activated.emit(*self._entries[uid])
