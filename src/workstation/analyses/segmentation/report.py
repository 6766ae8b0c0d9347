"""The segmentation section of a report: the structures measured and key slices with the labels."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from workstation.analyses.segmentation.result import SegmentationResult
from workstation.report.findings import Code, Findings, Item
from workstation.report.images import enlarge, grey, paint
from workstation.report.model import Block, Images, KeyImage, Notes, Paragraph, ReportSection, Table

TITLE = "Organ segmentation"
#: Soft-tissue window of the key slices (HU).
KEY_WINDOW = (400.0, 40.0)
_FALLBACK_COLORS = [(230, 200, 160), (80, 160, 255), (220, 40, 60), (255, 120, 0), (245, 245, 220),
                    (120, 220, 120), (200, 120, 255), (255, 230, 80)]


def label_colors(labels: Mapping[int, str], extra: Mapping[str, Any]) -> dict[int, tuple[int, int, int]]:
    """Colours from the manifest's ``colors`` item where given, else a fixed palette."""
    given = extra.get("colors", {}) if isinstance(extra, Mapping) else {}
    out = {}
    for i, k in enumerate(sorted(labels)):
        rgb = given.get(str(k)) or _FALLBACK_COLORS[i % len(_FALLBACK_COLORS)]
        out[k] = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
    return out


def result_colors(result: SegmentationResult) -> dict[int, tuple[int, int, int]]:
    """The colours the viewer gives the result's labels (the model manifest's, else the palette)."""
    from workstation.ml.registry import get_model

    try:
        extra: Mapping[str, Any] = get_model(result.model).extra
    except Exception:  # noqa: BLE001 - a user model not on the default path: the palette
        extra = {}
    return label_colors(result.names, extra)


def key_slices(result: SegmentationResult, volume: Any, count: int = 3) -> Images:
    """``count`` axial slices spread over the segmented extent, labels painted half-opaque."""
    labels = result.labels
    rows = np.flatnonzero(labels.reshape(labels.shape[0], -1).any(axis=1))
    zs = sorted({int(z) for z in np.linspace(rows[0], rows[-1], count + 2)[1:-1]}) if rows.size else []
    colours = result_colors(result)
    images = []
    for z in zs:
        rgb = grey(np.asarray(volume.array[z]), *KEY_WINDOW)
        for label, colour in colours.items():
            rgb = paint(rgb, labels[z] == label, colour, alpha=0.45)
        images.append(KeyImage(enlarge(rgb, 240), f"slice {z}"))
    return Images(tuple(images), "Key slices (window 400/40 HU)", per_row=3)


def section(result: SegmentationResult, data: Optional[Any]) -> ReportSection:
    """Structures, key slices and warnings of ``result`` (``data``: its inputs, for the CT slices)."""
    rows = [("Structure", "Volume ml", "Mean HU", "Voxels")]
    colours = result_colors(result)
    swatches = {}
    for s in result.structures:
        mean = "-" if not np.isfinite(s.mean_hu) else f"{s.mean_hu:.1f}"
        rows.append((s.name, f"{s.volume_ml:.1f}", mean, str(s.voxels)))
        if s.label in colours:
            swatches[len(rows) - 1] = colours[s.label]
    blocks: list[Block] = [Paragraph(result.intended_use), Table(tuple(rows), "Structures", swatches=swatches),
                           Table((("Model", f"{result.model} {result.version}"),), heading=False)]
    volume = getattr(data, "volume", data)
    if volume is not None and getattr(volume, "shape", None) == result.labels.shape:
        blocks.append(key_slices(result, volume))
    if result.warnings:
        blocks.append(Notes(tuple(result.warnings)))
    return ReportSection(TITLE, tuple(blocks), result.provenance)


def findings(result: Mapping[str, Any]) -> Findings:
    """Volume and mean HU of every structure of a segmentation result JSON, and their sentence."""
    items: list[Item] = []
    volume, mean = Code("118565006", "SCT", "Volume"), Code("112181", "DCM", "Mean Attenuation Coefficient")
    parts = []
    for i, s in enumerate(result.get("structures") or []):
        name = str(s.get("name", f"label {s.get('label')}"))
        items.append(Item(f"{name} volume", s.get("volume_ml"), "ml", 1, f"structures.{i}.volume_ml", volume, "mL",
                          group=name))
        items.append(Item(f"{name} mean HU", s.get("mean_hu"), "HU", 1, f"structures.{i}.mean_hu", mean,
                          "[hnsf'U]", group=name))
        parts.append(f"{name} {items[-2].text}")
    model = f"{result.get('model', 'model')} {result.get('version', '')}".strip()
    sentence = (f"Automated segmentation ({model}): " + (", ".join(parts) if parts else "no structure found") + ".")
    return Findings(tuple(items), sentence, str(result.get("intended_use", "")))
