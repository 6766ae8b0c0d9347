"""One-page PDF summary of a perfusion result (reportlab)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.analyses.perfusion.result import MAP_INFO, MAP_NAMES, PerfusionResult
from workstation.core.volume import Volume

#: Display ranges of the map thumbnails.
RANGES = {"cbf": (0.0, 80.0), "cbv": (0.0, 6.0), "mtt": (0.0, 16.0), "tmax": (0.0, 14.0), "ttp": (0.0, 40.0)}


def _thumbnail(values: np.ndarray, lo: float, hi: float) -> "object":
    from PIL import Image

    norm = np.clip((np.nan_to_num(values, nan=lo) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    rgb = np.stack([np.clip(1.5 - np.abs(4 * norm - c), 0, 1) for c in (3.0, 2.0, 1.0)], axis=-1)  # jet
    rgb[~np.isfinite(values)] = 0.0
    return Image.fromarray((rgb * 255).astype(np.uint8))


def write_pdf(result: PerfusionResult, reference: Volume, path: str | Path) -> Path:
    """Write the summary table, AIF/VOF curves and mid-slice maps to ``path``."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    y = height - 50
    c.setFont("Helvetica-Bold", 14)
    c.drawString(40, y, "Perfusion summary")
    c.setFont("Helvetica", 9)
    s = result.summary
    thr = "per voxel (oSVD, OI %.3f)" % (result.oi_target or 0) if result.threshold is None else f"{result.threshold:g}"
    lines = [
        f"Method: {result.method.upper()}, threshold {thr}; grid step {result.dt_s:.2f} s; "
        f"baseline frames {result.baseline_frames}; device {result.device}",
        f"AIF: voxel (z, y, x) {result.aif.location}, {len(result.aif.voxels)} voxels, scale {result.aif.scale:.2f}",
        f"Tmax > {s.tmax_threshold_s:g} s: {s.hypoperfused_ml:.1f} ml",
        f"Core (rCBF < {100 * s.rcbf_threshold:.0f} % of {s.reference_cbf:.1f} ml/100g/min): {s.core_ml:.1f} ml",
        f"Mismatch volume {s.mismatch_ml:.1f} ml, ratio "
        + ("n/a" if s.mismatch_ratio is None else f"{s.mismatch_ratio:.2f}") + f"; affected side: {s.affected_side}",
    ] + [f"Warning: {w}" for w in result.warnings]
    for line in lines:
        y -= 14
        c.drawString(40, y, line)
    y -= 150
    _plot_curves(c, result, 40, y, width - 80, 130)
    z = reference.shape[0] // 2
    size = (width - 80) / len(MAP_NAMES)
    y -= size + 30
    for k, name in enumerate(MAP_NAMES):
        lo, hi = RANGES[name]
        c.drawImage(ImageReader(_thumbnail(result.maps[name][z], lo, hi)), 40 + k * size, y, size - 6, size - 6)
        c.drawString(40 + k * size, y - 12, f"{name.upper()} {lo:g}-{hi:g} {MAP_INFO[name][1]}")
    c.showPage()
    c.save()
    return path


def _plot_curves(c: "object", result: PerfusionResult, x0: float, y0: float, w: float, h: float) -> None:
    """AIF (red) and VOF (blue) against time, axes in s and concentration units."""
    t = np.asarray(result.times)
    curves = [(result.aif.curve, (0.8, 0.1, 0.1))]
    if result.vof is not None:
        curves.append((result.vof.curve, (0.1, 0.2, 0.8)))
    top = max(float(np.max(cv)) for cv, _ in curves) or 1.0
    c.rect(x0, y0, w, h)  # type: ignore[attr-defined]
    c.drawString(x0, y0 + h + 4, f"AIF (red), VOF (blue); 0-{t[-1]:.0f} s, peak {top:.0f}")  # type: ignore[attr-defined]
    for curve, colour in curves:
        c.setStrokeColorRGB(*colour)  # type: ignore[attr-defined]
        pts = [(x0 + w * (ti - t[0]) / max(t[-1] - t[0], 1e-9), y0 + h * max(v, 0.0) / top) for ti, v in zip(t, curve)]
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            c.line(xa, ya, xb, yb)  # type: ignore[attr-defined]
    c.setStrokeColorRGB(0, 0, 0)  # type: ignore[attr-defined]
