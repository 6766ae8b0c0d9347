"""The CAD findings as a DICOM Comprehensive 3D SR (TID 1500 measurement report, highdicom).

Each finding is one "planar ROI" group: a closed POLYLINE rectangle in the pixel
coordinates (column, row) of the mammogram it was found on, referenced by SOP instance;
its finding type (SNOMED CT 4147007 "Mass", or a local code for a calcification
cluster), its finding site (right/left breast) and the detector score (local code,
unitless).  The suggested assessment and the intended-use statement are qualitative
evaluations of the report.  Local codes use the private coding scheme ``99WSMG``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workstation.analyses.mammo_cad.loader import MammoExam
from workstation.analyses.mammo_cad.result import MammoCadResult
from workstation.report import sr as sr_blocks

SCHEME = "99WSMG"


def _codes() -> dict[str, Any]:
    from pydicom.sr.coding import Code

    return {
        "mass": Code("4147007", "SCT", "Mass"),
        "calcification": Code("CALCCLUSTER", SCHEME, "Calcification cluster"),
        "score": Code("CADSCORE", SCHEME, "CAD detection score"),
        "assessment": Code("ASSESSMENT", SCHEME, "Suggested BI-RADS assessment for radiologist review"),
        "R": Code("73056007", "SCT", "Right breast"),
        "L": Code("80248007", "SCT", "Left breast"),
        "procedure": Code("ASSESSMENT", SCHEME, "Mammography CAD"),
        "unitless": Code("1", "UCUM", "no units"),
    }


def rectangle(box_px: Sequence[float]) -> np.ndarray:
    """Closed polyline (5 points, column/row) around a pixel box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = (float(v) for v in box_px)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=np.float64)


def build_sr(result: MammoCadResult, exam: MammoExam) -> Any:
    """A highdicom ``Comprehensive3DSR`` dataset holding every finding of ``result``.

    Patient and study come from the mammograms (missing type 2 attributes stay empty);
    the observer device and algorithm identification carry the result's provenance.
    """
    import highdicom as hd
    from highdicom.sr import (
        CodedConcept, FindingSite, GraphicTypeValues, ImageRegion, Measurement, MeasurementReport,
        MeasurementsAndQualitativeEvaluations, ObservationContext, PlanarROIMeasurementsAndQualitativeEvaluations,
        QualitativeEvaluation, SourceImageForRegion, TrackingIdentifier,
    )

    c = _codes()
    sources = {im.sop_instance_uid: im for im in exam.images}
    evidence = sr_blocks.evidence([im.path for im in exam.images])
    observer = sr_blocks.device_observer(result.provenance,
                                         f"workstation mammo CAD ({result.model} {result.model_version})")
    algorithm = sr_blocks.algorithm(result.provenance)
    groups: list[Any] = []
    for f in result.findings:
        image = sources[f.sop_instance_uid]
        region = ImageRegion(
            graphic_type=GraphicTypeValues.POLYLINE, graphic_data=rectangle(f.box_px),
            source_image=SourceImageForRegion(image.sop_class_uid, image.sop_instance_uid))
        groups.append(PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier=f"Finding {f.id} {f.view}"),
            referenced_region=region,
            finding_type=c[f.kind],
            algorithm_id=algorithm,
            finding_sites=[FindingSite(anatomic_location=c[f.laterality])],
            measurements=[Measurement(name=c["score"], value=round(f.score, 4), unit=c["unitless"])],
        ))
    suggestion = result.suggestion
    groups.append(MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier="Suggested assessment"),
        algorithm_id=algorithm,
        qualitative_evaluations=[QualitativeEvaluation(
            name=c["assessment"],
            value=CodedConcept(f"BIRADS{suggestion.category}", SCHEME, f"BI-RADS {suggestion.category} (suggested)"))],
    ))
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=observer),
        procedure_reported=c["procedure"],
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence, content=report, series_instance_uid=hd.UID(), series_number=900,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=sr_blocks.MANUFACTURER,
        series_description="Mammography CAD findings (not for clinical use)",
        is_complete=True, is_final=False, is_verified=False,
    )
    return sr


def write_sr(result: MammoCadResult, exam: MammoExam, path: Path) -> Path:
    """Write the SR to ``path`` and return it."""
    return sr_blocks.save(build_sr(result, exam), path)


def read_sr_findings(path: Path) -> list[dict[str, Any]]:
    """Findings read back from an SR file with pydicom only: type, laterality, score, box."""
    import pydicom

    ds = pydicom.dcmread(path)
    out: list[dict[str, Any]] = []

    def walk(items: Any, current: dict[str, Any] | None) -> None:
        for item in items:
            name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
            if name == "Measurement Group":
                group: dict[str, Any] = {}
                walk(item.get("ContentSequence", []), group)
                out.append(group)
                continue
            if current is not None:
                if name == "Finding":
                    current["type"] = item.ConceptCodeSequence[0].CodeMeaning
                elif name == "Finding Site":
                    current["site"] = item.ConceptCodeSequence[0].CodeMeaning
                elif item.ValueType == "NUM":
                    current["score"] = float(item.MeasuredValueSequence[0].NumericValue)
                elif item.ValueType == "SCOORD":
                    pts = np.asarray(item.GraphicData, dtype=float).reshape(-1, 2)
                    current["box_px"] = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
                    ref = item.ContentSequence[0].ReferencedSOPSequence[0] if "ContentSequence" in item else None
                    current["sop_instance_uid"] = str(ref.ReferencedSOPInstanceUID) if ref else ""
            if "ContentSequence" in item:
                walk(item.ContentSequence, current)

    walk(ds.ContentSequence, None)
    return [g for g in out if "box_px" in g]
