"""The calcium scoring dock: run, review lesions, assign arteries, export the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.analyses.calcium import logic, trend
from workstation.analyses.calcium.artifacts import ARTIFACTS
from workstation.analyses.calcium.mesa import normalise_sex
from workstation.analyses.calcium.panel_tables import ARTERY_CHOICES, ArteryTable, LesionTable
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.calcium.prepare import with_study_facts
from workstation.analyses.calcium.report import WEIGHT_COLORS, chd_risk_text, key_slice, percentile_text
from workstation.analyses.calcium.result import DECISION_SUPPORT, RISK_FACTOR_PARAMS, CalciumResult
from workstation.analyses.panel_api import PanelExport, ViewerContext
from workstation.analyses.panel_controls import ParamControls
from workstation.core.overlays import LabelOverlay
from workstation.core.volume import Volume

OVERLAY_KEY = "calcium"
WEIGHT_NAMES = {1: "130-199 HU", 2: "200-299 HU", 3: "300-399 HU", 4: ">= 400 HU"}
RISK_COLORS = {"0": "#2e7d32", "1-10": "#689f38", "11-100": "#f9a825", "101-400": "#ef6c00", ">400": "#c62828"}
#: The badge text of each risk colour: whichever of black and white reads at 4.5:1 or more on it.
RISK_TEXT = {"0": "#ffffff", "1-10": "#000000", "11-100": "#000000", "101-400": "#000000", ">400": "#ffffff"}
CONTROLS = ("threshold_hu", "min_area_mm2", "mass_calibration", "volume_method", "auto_exclude", "age", "sex", "race")
EXPORT = ("report", "json")


class CalciumPanel(QWidget, PanelExport):
    """Dock widget for coronary calcium scoring on the loaded CT."""

    def __init__(self, context: ViewerContext, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.context = context
        self.result: Optional[CalciumResult] = None
        self._volume: Optional[Volume] = None
        self.job: Any = None
        self._build()
        context.volume_changed.connect(self._on_volume)
        context.voxel_clicked.connect(self._on_click)
        self._on_volume(context.volume)

    # -- layout ---------------------------------------------------------------------
    def _build(self) -> None:
        self.controls: ParamControls[CalciumParams] = ParamControls(CalciumParams, CONTROLS)
        c = self.controls
        self.threshold, self.min_area, self.calibration = c["threshold_hu"], c["min_area_mm2"], c["mass_calibration"]
        self.volume_method, self.auto_exclude = c["volume_method"], c["auto_exclude"]
        self.age, self.sex, self.race = c["age"], c["sex"], c["race"]
        self.age.valueChanged.connect(self._on_demographics)
        self.sex.currentTextChanged.connect(self._on_demographics)
        self.race.currentTextChanged.connect(self._on_demographics)
        params_box = QGroupBox("Parameters")
        params_box.setLayout(c.form)
        self.factors: ParamControls[CalciumParams] = ParamControls(CalciumParams, RISK_FACTOR_PARAMS)
        self.factors.on_change(self._on_demographics)
        self.factors_box = QGroupBox("10-year CHD risk factors (MESA)")
        self.factors_box.setCheckable(True)
        self.factors_box.setChecked(False)  # folded away until wanted
        factors_body = QWidget()
        factors_body.setLayout(self.factors.form)
        factors_body.setVisible(False)
        self.factors_box.toggled.connect(factors_body.setVisible)
        box_layout = QVBoxLayout(self.factors_box)
        box_layout.addWidget(factors_body)
        self.run_button = QPushButton("Score calcium")
        self.run_button.clicked.connect(self.start)
        self.status = QLabel("Load a non-contrast CT, then score.")
        self.status.setWordWrap(True)
        self.risk_badge = QLabel("-")
        self.percentile_label = QLabel("Percentile: -")
        self.percentile_label.setWordWrap(True)
        self.chd_label = QLabel("")
        self.chd_label.setWordWrap(True)
        self.chd_label.setToolTip(DECISION_SUPPORT)
        self.totals_label = QLabel("")
        self.trend_label = QLabel("")
        self.trend_label.setWordWrap(True)
        self.artery_table = ArteryTable()
        self.lesion_table = LesionTable(self.assign)
        self.lesion_table.itemSelectionChanged.connect(self._on_row)
        self.assign_artery = QComboBox()
        self.assign_artery.addItems(list(ARTERY_CHOICES))
        self.click_assign = QCheckBox("Click a lesion in 2D to assign")
        assign_row = QHBoxLayout()
        assign_row.addWidget(self.click_assign)
        assign_row.addWidget(self.assign_artery)
        export_row = self.export_row("Export PDF + JSON")
        layout = QVBoxLayout(self)
        layout.addWidget(params_box)
        layout.addWidget(self.factors_box)
        layout.addWidget(self.run_button)
        layout.addWidget(self.status)
        badges = QHBoxLayout()
        badges.addWidget(self.risk_badge)
        badges.addWidget(self.percentile_label, stretch=1)
        layout.addLayout(badges)
        layout.addWidget(self.chd_label)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.trend_label)
        layout.addWidget(self.artery_table)
        layout.addLayout(assign_row)
        layout.addWidget(self.lesion_table, stretch=1)
        layout.addLayout(export_row)
        self._show()

    # -- model -> view --------------------------------------------------------------
    def _on_volume(self, volume: Optional[Volume]) -> None:
        self.result, self._volume = None, None
        self.run_button.setEnabled(volume is not None)
        if volume is not None:
            meta = volume.meta
            age = meta.get("patient_age_years")
            study = self.context.study
            if age is None and study is not None:
                age = study.patient_age_years
            sex = normalise_sex(meta.get("patient_sex") or (study.patient_sex if study is not None else ""))
            self.controls.set_value("age", float(age) if age is not None else None)
            self.controls.set_value("sex", sex)
        self._show()

    def _show(self) -> None:
        r = self.result
        self.lesion_table.show_result(r)
        self.artery_table.show_result(r)
        self.export_button.setEnabled(r is not None)
        if r is None:
            self.risk_badge.setText("-")
            self.risk_badge.setStyleSheet("")
            self.percentile_label.setText("Percentile: -")
            self.chd_label.setText("")
            self.totals_label.setText("")
            self.trend_label.setText("")
            return
        self.risk_badge.setText(f" {r.risk_category}  {r.cac_drs} ")
        self.risk_badge.setStyleSheet(
            f"background:{RISK_COLORS[r.risk_category]}; color:{RISK_TEXT[r.risk_category]}; font-weight:bold; "
            "border-radius:4px")
        self.percentile_label.setText(f"MESA percentile: {percentile_text(r)}")
        with_cac, without_cac = chd_risk_text(r)
        self.chd_label.setText(f"10-year CHD risk (MESA): with CAC {with_cac}   without CAC {without_cac}"
                               if without_cac != "n/a" else f"10-year CHD risk (MESA): {with_cac}")
        self.totals_label.setText(
            f"Agatston {r.agatston_total:.1f}   Volume {r.volume_mm3_total:.1f} mm³   Mass {r.mass_mg_total:.2f} mg")
        self.trend_label.setText(self._trend_text(r))
        self._publish_overlay()

    def _trend_text(self, r: CalciumResult) -> str:
        """Earlier calcium.json records of this patient beside the study folder, if any."""
        series = self.context.series
        if series is None or not series.frames:
            return ""
        source = Path(series.frames[0].path).parent.resolve()
        folders = [p for p in source.parent.glob("*_results") if p.is_dir()]
        changes = trend.history(r.patient_id, r.study_date, r.agatston_total, r.study_uid, folders)
        return f"Trend:\n{trend.describe(changes)}" if changes else ""

    def _publish_overlay(self) -> None:
        if self.result is None or self.context.volume is None or self.context.volume.shape != self.result.shape:
            return
        overlay = LabelOverlay(labels=self.result.label_volume("weight"), colors=dict(WEIGHT_COLORS),
                               names=dict(WEIGHT_NAMES), opacity=0.7, show_in_3d=True)
        self.context.set_overlay(OVERLAY_KEY, overlay)

    # -- view -> model --------------------------------------------------------------
    def params(self) -> CalciumParams:
        overrides = dict(self.result.params.artery_overrides) if self.result is not None else {}
        factors = {name: self.factors.value(name) for name in RISK_FACTOR_PARAMS}
        return self.controls.params(artery_overrides=overrides, **factors)

    def start(self) -> None:
        """Score the loaded CT in a background job."""
        if self.context.volume is None:
            return
        volume = with_study_facts(self.context.volume, self.context.study)
        params = self.params()
        self.run_button.setEnabled(False)
        self.status.setText("Scoring...")
        self.job = self.context.run_job(
            "Coronary calcium", lambda backend, progress: logic.run(volume, params, backend, progress),
            on_done=lambda result: self._on_done(result, volume), on_error=self._on_error)

    def _on_done(self, result: CalciumResult, volume: Volume) -> None:
        self.result, self._volume = result, volume
        self.run_button.setEnabled(True)
        notes = "; ".join(result.warnings)
        self.status.setText(f"{len(result.lesions)} lesions on {result.device}." + (f" {notes}" if notes else ""))
        self._show()

    def _on_error(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f"Scoring failed: {message}")
        self.context.notify("Coronary calcium", message)

    def _on_demographics(self, *_: object) -> None:
        if self.result is None:
            return
        p = self.params()
        self.result = self.result.with_patient(p.age, p.sex, p.race if p.race is not None else self.result.race, p)
        self._show()

    def assign(self, lesion_id: int, artery: str) -> None:
        """Assign a lesion to an artery (from the table or a click) and refresh the totals."""
        if self.result is None or self.result.lesion(lesion_id).artery == artery:
            return
        self.result = self.result.with_artery(lesion_id, artery)
        self._show()

    def _on_click(self, index_zyx: object) -> None:
        if not self.click_assign.isChecked() or self.result is None:
            return
        lesion_id = self.result.lesion_at(tuple(index_zyx))  # type: ignore[arg-type]
        if lesion_id is not None:
            self.assign(lesion_id, self.assign_artery.currentText())

    def _on_row(self) -> None:
        row = self.lesion_table.currentRow()
        if self.result is None or not 0 <= row < len(self.result.lesions):
            return
        les = self.result.lesions[row]
        z = key_slice(les)  # the slice of its key image: the table's numbers are 1-based, as the viewer's
        self.context.focus((z, int(round(les.centroid_index[1])), int(round(les.centroid_index[2]))))

    # -- export ---------------------------------------------------------------------
    def export_to(self, folder: Path) -> list[Path]:
        """Write ``calcium_report.pdf`` and ``calcium.json`` into ``folder`` (never a source folder)."""
        if self.result is None or self._volume is None:
            return []
        paths = ARTIFACTS.write(self.result, self._volume, folder, names=EXPORT, study=self.context.study)
        self.status.setText(f"Exported to {folder}")
        return paths

    def show_problem(self, text: str) -> None:
        self.status.setText(text)
        self.context.notify("Coronary calcium", text)
