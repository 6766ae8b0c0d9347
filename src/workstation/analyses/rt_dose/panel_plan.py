"""The Plan tab of the RT dose dock: objectives, Optimise (objective streamed per iteration), compression."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from workstation.analyses.panel_api import ViewerContext
from workstation.analyses.rt_dose.optimise import KINDS, Objective, ObjectiveSet
from workstation.analyses.rt_dose.plan import PlanInputs, PlanResult, PlanRun
from workstation.analyses.rt_dose.prepare import RtDoseInputs
from workstation.core.study import Study

MATRIX_FILE = "influence.npz"
OBJECTIVES_FILE = "objectives.json"


class _Stream(QObject):
    """Objective values from the optimising thread to the plot (queued into the GUI thread)."""

    iterated = Signal(int, float)


def default_objectives(inputs: RtDoseInputs) -> ObjectiveSet:
    """A starting set: every target to the prescription, every other structure below half of it."""
    rx = (inputs.plan.prescription_dose_gy if inputs.plan is not None else None) or 60.0
    terms = []
    for roi in inputs.structure_set.rois:
        if not roi.contours:
            continue
        if roi.roi_type.upper() in ("PTV", "CTV", "GTV"):
            terms.append(Objective(roi.name, "target", rx, 100.0))
        elif roi.roi_type.upper() != "EXTERNAL":
            terms.append(Objective(roi.name, "overdose", 0.5 * rx, 5.0))
    return ObjectiveSet(tuple(terms), 0.002, 150, rx)


class PlanTab(QWidget):
    """Objectives table, Optimise / Cancel, the streaming objective plot and the RTDOSE export."""

    plan_ready = Signal()

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.study: Optional[Study] = None
        self.inputs: Optional[RtDoseInputs] = None
        self.plan_inputs: Optional[PlanInputs] = None
        self.plan_result: Optional[PlanResult] = None
        self.matrix_path: Optional[Path] = None
        self._job: Any = None
        self._trace: list[list[float]] = []
        self.stream = _Stream(self)
        self.stream.iterated.connect(self._iterated)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Structure", "Type", "Dose Gy", "Weight"])
        self.table.verticalHeader().setVisible(False)
        self.smoothness = QDoubleSpinBox()
        self.smoothness.setDecimals(4)
        self.smoothness.setRange(0.0, 10.0)
        self.smoothness.setSingleStep(0.001)
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 5000)
        self.compression = QComboBox()
        self.compression.addItems(["full matrix only", "sparse", "sparse+lowrank"])
        self.matrix_label = QLabel("No influence matrix")
        self.matrix_label.setWordWrap(True)
        self.choose_matrix = QPushButton("Influence matrix...")
        self.add_row = QPushButton("Add objective")
        self.optimise_button = QPushButton("Optimise")
        self.cancel_button = QPushButton("Cancel")
        self.export_button = QPushButton("Export plan dose (RTDOSE)...")
        self.curve = pg.PlotWidget(title="Objective per iteration")
        self.curve.setLabel("bottom", "iteration")
        self.curve.setLogMode(y=True)
        self.curve.setMinimumHeight(150)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._layout()
        self.choose_matrix.clicked.connect(self._choose_matrix)
        self.add_row.clicked.connect(lambda: self._append(Objective("PTV", "target", 60.0, 1.0)))
        self.optimise_button.clicked.connect(self.optimise)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._choose_export)
        self._update_enabled()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Smoothness", self.smoothness)
        form.addRow("Iterations", self.iterations)
        form.addRow("Compare with", self.compression)
        buttons = QHBoxLayout()
        for b in (self.add_row, self.optimise_button, self.cancel_button):
            buttons.addWidget(b)
        matrix = QHBoxLayout()
        matrix.addWidget(self.matrix_label, 1)
        matrix.addWidget(self.choose_matrix)
        layout = QVBoxLayout(self)
        layout.addLayout(matrix)
        layout.addWidget(self.table, 2)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.curve, 2)
        layout.addWidget(self.export_button)
        layout.addWidget(self.status)

    # -- model ----------------------------------------------------------------------
    def set_study(self, study: Optional[Study], inputs: Optional[RtDoseInputs]) -> None:
        """The study and its DVH inputs; looks for an influence matrix and objectives beside the structure set."""
        self.study, self.inputs = study, inputs
        self.plan_inputs = self.plan_result = None
        self.table.setRowCount(0)
        self.matrix_path = None
        if inputs is not None:
            folder = inputs.structure_set.ref.path.parent
            found = folder / MATRIX_FILE
            self.matrix_path = found if found.is_file() else None
            objectives = default_objectives(inputs)
            if (folder / OBJECTIVES_FILE).is_file():
                try:
                    objectives = ObjectiveSet.load(folder / OBJECTIVES_FILE)
                except ValueError as exc:
                    self.status.setText(str(exc))
            self.show_objectives(objectives)
        self.matrix_label.setText(str(self.matrix_path.name) if self.matrix_path else "No influence matrix")
        self._update_enabled()

    def show_objectives(self, objectives: ObjectiveSet) -> None:
        self.table.setRowCount(0)
        for o in objectives.objectives:
            self._append(o)
        self.smoothness.setValue(objectives.smoothness)
        self.iterations.setValue(objectives.max_iterations)

    def _append(self, o: Objective) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(o.structure))
        kind = QComboBox()
        kind.addItems(list(KINDS))
        kind.setCurrentText(o.kind)
        self.table.setCellWidget(row, 1, kind)
        self.table.setItem(row, 2, QTableWidgetItem(f"{o.dose_gy:g}"))
        self.table.setItem(row, 3, QTableWidgetItem(f"{o.weight:g}"))

    def objectives(self) -> ObjectiveSet:
        """The objectives as the table shows them (``ValueError`` naming a bad cell)."""
        terms = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in (0, 2, 3)]
            kind = self.table.cellWidget(row, 1)
            try:
                name, dose, weight = (c.text().strip() if c is not None else "" for c in cells)
                terms.append(Objective(name, kind.currentText() if isinstance(kind, QComboBox) else "",
                                       float(dose), float(weight)))
            except ValueError as exc:
                raise ValueError(f"objective row {row + 1}: {exc}") from None
        if not terms:
            raise ValueError("add at least one objective")
        rx = max((t.dose_gy for t in terms if t.kind == "target"), default=None)
        return ObjectiveSet(tuple(terms), self.smoothness.value(), self.iterations.value(), rx)

    def runs(self) -> tuple[PlanRun, ...]:
        return () if self.plan_result is None else self.plan_result.runs

    def _update_enabled(self) -> None:
        busy = self._job is not None
        ready = self.inputs is not None and self.matrix_path is not None
        self.optimise_button.setEnabled(ready and not busy)
        self.cancel_button.setEnabled(busy)
        self.export_button.setEnabled(self.plan_result is not None and not busy)

    def _choose_matrix(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Influence matrix", "", "Influence matrix (*.npz *.h5 *.hdf5)")
        if path:
            self.matrix_path = Path(path)
            self.matrix_label.setText(self.matrix_path.name)
            self._update_enabled()

    # -- optimisation ---------------------------------------------------------------
    def optimise(self) -> None:
        """Optimise in a background job; the objective streams into the plot as iterations finish."""
        if self.inputs is None or self.matrix_path is None or self._job is not None:
            return
        try:
            objectives = self.objectives()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        from workstation.analyses.rt_dose.compression import compress
        from workstation.analyses.rt_dose.influence import load_influence
        from workstation.analyses.rt_dose.plan import run_plan

        inputs, path, method = self.inputs, self.matrix_path, self.compression.currentText()
        study, stream = self.study, self.stream
        series = [s for s in study.referenced_series(inputs.structure_set) if s.modality == "CT"] if study else []
        ct_files = tuple(f.path for f in series[0].frames) if series else ()
        ct_uids = tuple(f.sop_instance_uid for f in series[0].frames) if series else ()
        plan_file = inputs.plan.ref.path if inputs.plan is not None else None

        def work(backend: Any, progress: Any) -> tuple[PlanInputs, PlanResult]:
            plan_inputs = PlanInputs(inputs.structure_set, load_influence(path), objectives, ct_files, ct_uids,
                                     plan_file)
            compressed = None
            if method != "full matrix only":
                progress(0.02, f"{method} compression")
                compressed = compress(plan_inputs.influence.matrix, method, backend)

            def iteration(k: int, f: float) -> None:
                progress(min(0.95, k / max(objectives.max_iterations, 1)), f"iteration {k}: objective {f:.5g}")
                stream.iterated.emit(k, f)

            return plan_inputs, run_plan(plan_inputs, backend, compressed=compressed, on_iteration=iteration)

        self._trace = []
        self.curve.clear()
        self.status.setText("Optimising...")
        self._job = self.context.run_job("RT plan optimisation", work, self._done, self._failed)
        self._job.cancelled.connect(self._cancelled)
        self._update_enabled()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _iterated(self, k: int, f: float) -> None:
        if k == 0:
            self._trace.append([])
        if not self._trace:
            self._trace.append([])
        self._trace[-1].append(f)
        self.curve.clear()
        for i, values in enumerate(self._trace):
            self.curve.plot(list(range(len(values))), values, pen=pg.mkPen("y" if i == 0 else "c", width=2))

    def _finish(self) -> None:
        self._job = None
        self._update_enabled()

    def _cancelled(self) -> None:
        self._finish()
        self.status.setText("Optimisation cancelled.")

    def _failed(self, message: str) -> None:
        self._finish()
        self.status.setText(f"Optimisation failed: {message}")

    def _done(self, payload: tuple[PlanInputs, PlanResult]) -> None:
        self.plan_inputs, self.plan_result = payload
        self._finish()
        parts = []
        for run in self.plan_result.runs:
            r = run.run
            parts.append(f"{run.matrix}: {r.objective[0]:.4g} -> {r.objective[-1]:.4g} in {len(r.objective) - 1} "
                         f"iterations, {r.seconds:.2f} s")
        if self.plan_result.dvh_difference_pct:
            worst = max(self.plan_result.dvh_difference_pct.items(), key=lambda kv: kv[1])
            parts.append(f"largest DVH difference {worst[1]:.2f} % ({worst[0]})")
        self.status.setText("; ".join(parts + list(self.plan_result.warnings[:2])))
        self.plan_ready.emit()

    # -- export ---------------------------------------------------------------------
    def _choose_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the plan dose to folder")
        if folder:
            self.export_plan(Path(folder))

    def export_plan(self, folder: Path) -> list[Path]:
        """Write ``plan.json`` and the plan's ``rtdose.dcm`` into ``folder`` (faults shown, not raised)."""
        from workstation.analyses.rt_dose.artifacts import PLAN_ARTIFACTS

        if self.plan_result is None or self.plan_inputs is None:
            return []
        try:
            paths = PLAN_ARTIFACTS.write(self.plan_result, self.plan_inputs, folder, study=self.study)
        except (ValueError, OSError) as exc:
            self.status.setText(f"Export failed: {exc}")
            return []
        self.status.setText(f"Wrote {', '.join(p.name for p in paths)} to {folder}")
        return paths


__all__ = ["PlanTab", "default_objectives"]
