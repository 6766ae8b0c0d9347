"""The analysis results the report can take: each open analysis panel's current result.

Every analysis dock offers its ``result`` (the :class:`~workstation.analyses.base.AnalysisPanel`
protocol); the watcher looks at the docks the main window made (on a timer and when a
job finishes) and emits :attr:`ResultWatcher.changed` when a panel shows another
result, so the report can offer to update the text it took from the previous one.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.analyses import registry
from workstation.analyses.study_report import reporting_analyses
from workstation.io.writers import plain_json
from workstation.ui.panels import AnalysisDocks

log = logging.getLogger(__name__)


class ResultWatcher(QObject):
    """Current result JSON of every reporting analysis whose panel holds one."""

    changed = Signal()

    def __init__(self, docks: Optional[AnalysisDocks], parent: Optional[QObject] = None, interval_ms: int = 1000) -> None:
        super().__init__(parent)
        self.docks = docks
        self._seen: dict[str, int] = {}
        self._json: dict[str, dict[str, Any]] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def titles(self) -> dict[str, str]:
        """Reporting analysis name -> title (for menus and the voice grammar)."""
        return {name: registry.get(name).title for name in reporting_analyses()}

    def _panel_results(self) -> dict[str, Any]:
        if self.docks is None:
            return {}
        out = {}
        for name, dock in self.docks.docks.items():
            result = getattr(dock.widget() or dock, "result", None)
            if result is not None and hasattr(result, "to_json"):
                out[name] = result
        return out

    def poll(self) -> None:
        """Look at the panels now; emit :attr:`changed` when a result appeared, changed or went."""
        results = {n: r for n, r in self._panel_results().items() if n in reporting_analyses()}
        ids = {n: id(r) for n, r in results.items()}
        if ids == self._seen:
            return
        fresh: dict[str, dict[str, Any]] = {}
        for name, result in results.items():
            if self._seen.get(name) == id(result) and name in self._json:
                fresh[name] = self._json[name]
                continue
            try:
                fresh[name] = plain_json(result.to_json())
            except Exception as exc:  # noqa: BLE001 - one broken result must not stop the report
                log.warning("result of %s cannot be read for the report: %s", name, exc)
        self._seen, self._json = ids, fresh
        self.changed.emit()

    def results(self) -> dict[str, dict[str, Any]]:
        """Name -> result JSON of the results shown now."""
        return dict(self._json)
