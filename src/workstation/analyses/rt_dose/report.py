"""The RT dose section of a report: the DVH plot, the metrics table and the warnings."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from workstation.analyses.rt_dose.result import RtDoseResult
from workstation.report.model import Block, Curve, Notes, Paragraph, Plot, ReportSection, Table

TITLE = "RT dose: dose-volume histograms"


def _fmt(value: Optional[float], digits: int = 2) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def dvh_plot(result: RtDoseResult) -> Plot:
    """Cumulative DVHs (% volume against Gy), one curve per structure in its colour."""
    curves = []
    for s in result.structures:
        step = max(1, len(s.dvh.dose_gy) // 400)  # a few hundred points per curve are enough on paper
        dose, pct = s.dvh.dose_gy[::step], s.dvh.cumulative_pct()[::step]
        curves.append(Curve(tuple(float(v) for v in dose), tuple(float(v) for v in pct), s.name, s.colour))
    return Plot(tuple(curves), "Dose (Gy)", "Volume (%)", "Cumulative DVH")


def section(result: RtDoseResult, _inputs: Optional[Any] = None) -> ReportSection:
    """DVH plot, metrics per structure, planning-system comparison and warnings."""
    rows: list[tuple[str, ...]] = [("Structure", "Volume cc", "Min", "Mean", "Max", "D98", "D95", "D50", "D2", "HI", "CI")]
    swatches = {}
    for s in result.structures:
        m = s.metrics
        rows.append((s.name, _fmt(m.volume_cc, 1), _fmt(m.min_gy), _fmt(m.mean_gy), _fmt(m.max_gy), _fmt(m.d(98.0)),
                     _fmt(m.d(95.0)), _fmt(m.d(50.0)), _fmt(m.d(2.0)),
                     _fmt(m.homogeneity_index, 3) if s.is_target else "-", _fmt(s.conformity_index, 3)))
        swatches[len(rows) - 1] = s.colour
    rx = f"{result.prescription_gy:g} Gy" if result.prescription_gy is not None else "not given"
    blocks: list[Block] = [
        Paragraph(f"Doses in {result.dose_units}; prescription {rx}; maximum {result.dose_max_gy:.2f}."),
        dvh_plot(result), Table(tuple(rows), "Metrics (Gy)", swatches=swatches)]
    compared = [s for s in result.structures if s.embedded is not None]
    if compared:
        table: list[tuple[str, ...]] = [("Structure", "Volume cc ours / plan", "D95 ours / plan", "Max curve diff %")]
        for s in compared:
            e = s.embedded
            assert e is not None
            table.append((s.name, f"{s.metrics.volume_cc:.1f} / {e.volume_cc:.1f}",
                          f"{_fmt(s.metrics.d(95.0))} / {_fmt(e.d95_gy)}", _fmt(e.max_curve_difference_pct, 2)))
        blocks.append(Table(tuple(table), "Against the planning system's DVHs"))
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    return ReportSection(TITLE, tuple(blocks), result.provenance)
