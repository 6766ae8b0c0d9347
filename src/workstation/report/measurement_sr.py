"""A reader's annotations as a DICOM SR measurement report (TID 1500), and back.

Each annotation is one planar ROI group (TID 1410) whose tracking identifier holds its
label (for a text or an arrow, the text itself) and whose tracking UID is the
annotation's uid.  The region is:

* for annotations on a volume, 3D spatial coordinates (SCOORD3D) in patient mm in the
  volume's Frame of Reference: a POLYLINE (distance: 2 points, angle: 3 points arm,
  vertex, arm; Cobb angle: 4 points, two lines; arrow: 2 points, tip first), a POINT
  (text), a POLYGON (rectangle, closed) or an ELLIPSE (its two axes' end points);
* for annotations on a projection image, 2D coordinates (SCOORD) in the pixels
  (column, row) of the referenced image (and frame).

The finding type names the kind (SNOMED CT 410668003 Length, 1483009 Angle,
285285000 Cobb angle; local codes of the scheme ``99WSANN`` for arrows, text and ROIs).
Measurements carry their UCUM units (mm, deg, mm2, [hnsf'U]).  Reading a report back
(:func:`read_report`) gives the annotations it was made from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from workstation.core.annotations import Annotation
from workstation.report import sr as sr_blocks

SCHEME = "99WSANN"
SERIES_NUMBER = 9100
SERIES_DESCRIPTION = "Reader annotations"
#: measurement name -> SNOMED CT code value
MEASUREMENTS = {"Length": "410668003", "Angle": "1483009", "Cobb angle": "285285000", "Area": "42798000",
                "Mean": "373098007", "Standard Deviation": "386136009", "Minimum": "255605001",
                "Maximum": "56851009"}
UNITS = {"mm": "millimeter", "deg": "degree", "mm2": "square millimeter", "[hnsf'U]": "Hounsfield unit",
         "1": "no units"}


def _finding(kind: str) -> Any:
    from pydicom.sr.coding import Code

    return {
        "distance": Code("410668003", "SCT", "Length"),
        "angle": Code("1483009", "SCT", "Angle"),
        "cobb": Code("285285000", "SCT", "Cobb angle"),
        "arrow": Code("ARROW", SCHEME, "Arrow annotation"),
        "text": Code("TEXT", SCHEME, "Text annotation"),
        "ellipse": Code("ELLIPSEROI", SCHEME, "Elliptical region of interest"),
        "rectangle": Code("RECTROI", SCHEME, "Rectangular region of interest"),
    }[kind]


KIND_OF_FINDING = {"410668003": "distance", "1483009": "angle", "285285000": "cobb", "ARROW": "arrow",
                   "TEXT": "text", "ELLIPSEROI": "ellipse", "RECTROI": "rectangle"}


def _ellipse_axes(points: Any) -> np.ndarray:
    """The 4 axis end points of the ellipse inscribed in the box of two opposite corners.

    For 3D points the box lies in the plane the corners share with the two in-plane
    axes of largest extent."""
    a, b = np.asarray(points[0], dtype=float), np.asarray(points[1], dtype=float)
    centre = (a + b) / 2.0
    half = (b - a) / 2.0
    axes = np.argsort(-np.abs(half))[:2]
    u = np.zeros_like(half)
    v = np.zeros_like(half)
    u[axes[0]], v[axes[1]] = half[axes[0]], half[axes[1]]
    major, minor = (u, v) if np.linalg.norm(u) >= np.linalg.norm(v) else (v, u)
    return np.stack([centre - major, centre + major, centre - minor, centre + minor])


def _graphic(a: Annotation) -> tuple[str, np.ndarray]:
    """(graphic type, points) of an annotation's region."""
    pts = np.asarray(a.points, dtype=float)
    if a.space == "image":
        pts = pts[:, :2]
    if a.kind == "text":
        return "POINT", pts[:1]
    if a.kind == "ellipse":
        return "ELLIPSE", _ellipse_axes(pts)
    if a.kind == "rectangle":
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        if a.space == "image":
            corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]], [lo[0], lo[1]]])
        else:
            axes = np.argsort(-(hi - lo))[:2]
            corners = np.repeat(lo[None], 5, axis=0)
            for k, (i, j) in enumerate(((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))):
                corners[k, axes[0]] = (lo, hi)[i][axes[0]]
                corners[k, axes[1]] = (lo, hi)[j][axes[1]]
        return "POLYLINE" if a.space == "image" else "POLYGON", corners
    return "POLYLINE", pts


def _region(a: Annotation, sop_classes: dict[str, str]) -> Any:
    from highdicom.sr import ImageRegion, ImageRegion3D, SourceImageForRegion

    graphic_type, data = _graphic(a)
    if a.space == "image":
        frames = [a.frame_number] if a.frame_number else None
        source = SourceImageForRegion(a.sop_class_uid or sop_classes.get(a.sop_instance_uid, ""),
                                      a.sop_instance_uid, referenced_frame_numbers=frames)
        return ImageRegion(graphic_type=graphic_type, graphic_data=data, source_image=source)
    return ImageRegion3D(graphic_type=graphic_type, graphic_data=data,
                         frame_of_reference_uid=a.frame_of_reference_uid)


def _measurements(a: Annotation) -> list[Any]:
    from highdicom.sr import Measurement
    from pydicom.sr.coding import Code

    out = []
    for name, value, unit in a.values:
        if name not in MEASUREMENTS or not np.isfinite(value):
            continue
        out.append(Measurement(name=Code(MEASUREMENTS[name], "SCT", name), value=float(value),
                               unit=Code(unit, "UCUM", UNITS.get(unit, unit))))
    return out


def build_report(annotations: Sequence[Annotation], evidence_files: Sequence[str | Path],
                 software: str = "Workstation") -> Any:
    """A highdicom ``Comprehensive3DSR`` of ``annotations`` in the study of ``evidence_files``.

    Patient and study come from the evidence (the images annotated, headers only).
    """
    import highdicom as hd
    from highdicom.sr import (
        DeviceObserverIdentifyingAttributes, MeasurementReport, ObservationContext, ObserverContext,
        PlanarROIMeasurementsAndQualitativeEvaluations, TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    if not evidence_files:
        raise ValueError("a measurement report needs at least one source image")
    evidence = sr_blocks.evidence(list(dict.fromkeys(str(p) for p in evidence_files)))
    sop_classes = {str(ds.SOPInstanceUID): str(ds.SOPClassUID) for ds in evidence}
    observer = ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="Workstation viewer", manufacturer_name=sr_blocks.MANUFACTURER,
            model_name=software[:64]))
    groups = []
    for a in annotations:
        groups.append(PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=a.uid, identifier=(a.text if a.kind == "text" else
                                                                         a.label + (f": {a.text}" if a.text else ""))
                                                   or a.label or a.kind),
            referenced_region=_region(a, sop_classes),
            finding_type=_finding(a.kind),
            measurements=_measurements(a) or None,
        ))
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=observer),
        procedure_reported=Code("IMAGEREAD", SCHEME, "Image reading with annotations"),
        imaging_measurements=groups or None,
    )
    return hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report, series_instance_uid=hd.UID(), series_number=SERIES_NUMBER,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=sr_blocks.MANUFACTURER,
        series_description=SERIES_DESCRIPTION, is_complete=True, is_final=False, is_verified=False,
    )


def write_report(annotations: Sequence[Annotation], evidence_files: Sequence[str | Path], path: Path,
                 software: str = "Workstation") -> Path:
    """Write the measurement report of ``annotations`` to ``path`` (atomically) and return it."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    sr_blocks.save(build_report(annotations, evidence_files, software), tmp)
    tmp.replace(path)
    return path


def _points(item: Any) -> tuple[str, np.ndarray, str, tuple[str, str], Optional[int]]:
    """(graphic type, points, frame of reference, (referenced instance, its class), frame) of a SCOORD(3D)."""
    graphic_type = str(item.GraphicType)
    data = np.asarray(item.GraphicData, dtype=float)
    if item.ValueType == "SCOORD3D":
        return graphic_type, data.reshape(-1, 3), str(item.ReferencedFrameOfReferenceUID), ("", ""), None
    ref = item.ContentSequence[0].ReferencedSOPSequence[0]
    frames = ref.get("ReferencedFrameNumber")
    if frames is None or frames == "":
        frame = None
    else:
        frame = int(frames[0]) if isinstance(frames, (list, tuple)) or type(frames).__name__ == "MultiValue" \
            else int(frames)
    return graphic_type, data.reshape(-1, 2), "", (str(ref.ReferencedSOPInstanceUID),
                                                    str(ref.ReferencedSOPClassUID)), frame


def _to_annotation(group: dict[str, Any]) -> Optional[Annotation]:
    kind = group.get("kind")
    if kind is None or "points" not in group:
        return None
    graphic_type, pts, frame_of_reference, (instance, sop_class), frame = group["points"]
    space = "image" if instance else "patient"
    if space == "image":
        pts = np.column_stack([pts, np.zeros(len(pts))])
    if kind == "ellipse":
        centre = pts[:2].mean(axis=0)
        half = np.abs(pts[1] - centre) + np.abs(pts[3] - centre)
        pts = np.stack([centre - half, centre + half])
    elif kind == "rectangle":
        pts = np.stack([pts.min(axis=0), pts.max(axis=0)])
    elif kind == "text":
        pts = pts[:1]
    identifier = str(group.get("identifier", ""))
    text, label = "", identifier
    if kind == "text":
        text, label = identifier, ""
    elif kind == "arrow" and ": " in identifier:
        label, text = identifier.split(": ", 1)
    return Annotation(uid=str(group.get("uid", "")), kind=kind, points=tuple(tuple(p) for p in pts), space=space,
                      frame_of_reference_uid=frame_of_reference, sop_instance_uid=instance,
                      sop_class_uid=sop_class, frame_number=frame, text=text, label=label,
                      values=tuple(group.get("values", ())))


def read_report(path: Path) -> list[Annotation]:
    """The annotations of a measurement report written by :func:`write_report`."""
    import pydicom

    ds = pydicom.dcmread(str(path))
    groups: list[dict[str, Any]] = []

    def walk(items: Any, current: Optional[dict[str, Any]]) -> None:
        for item in items:
            concept = item.ConceptNameCodeSequence[0] if "ConceptNameCodeSequence" in item else None
            name = str(concept.CodeMeaning) if concept is not None else ""
            if name == "Measurement Group":
                group: dict[str, Any] = {"values": []}
                walk(item.get("ContentSequence", []), group)
                groups.append(group)
                continue
            if current is not None:
                if name == "Tracking Identifier":
                    current["identifier"] = str(item.TextValue)
                elif name == "Tracking Unique Identifier":
                    current["uid"] = str(item.UID)
                elif name == "Finding":
                    current["kind"] = KIND_OF_FINDING.get(str(item.ConceptCodeSequence[0].CodeValue))
                elif item.ValueType == "NUM":
                    value = item.MeasuredValueSequence[0]
                    unit = str(value.MeasurementUnitsCodeSequence[0].CodeValue)
                    current["values"].append((name, float(value.NumericValue), unit))
                elif item.ValueType in ("SCOORD", "SCOORD3D"):
                    current["points"] = _points(item)
            if "ContentSequence" in item and item.ValueType not in ("SCOORD",):
                walk(item.ContentSequence, current)

    walk(ds.ContentSequence, None)
    return [a for a in (_to_annotation(g) for g in groups) if a is not None]
