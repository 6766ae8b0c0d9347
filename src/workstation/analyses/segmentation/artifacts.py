"""Every file organ segmentation writes: NIfTI labels, DICOM Segmentation, PDF report, JSON.

NIfTI: one ``uint8`` label image in RAS+ world coordinates (the usual NIfTI
convention, :func:`workstation.io.writers.write_nifti`).  DICOM SEG (highdicom): a
binary segmentation referencing the source CT images, one segment per structure found,
in the source's patient and study, with the model and run in its algorithm
identification; written into a new folder, never into the study's folder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.segmentation.prepare import SegmentationInput
from workstation.analyses.segmentation.report import TITLE, section
from workstation.analyses.segmentation.result import SegmentationResult
from workstation.core.provenance import Provenance
from workstation.core.volume import Volume
from workstation.io import writers
from workstation.report import sr as sr_blocks

log = logging.getLogger(__name__)

# SNOMED CT codes of the structures the bundled model knows (by lower-case name).
_ANATOMY_CODES: dict[str, tuple[str, str]] = {
    "body": ("38266002", "Entire body as a whole"),
    "lungs": ("39607008", "Lung"),
    "lung": ("39607008", "Lung"),
    "heart": ("80891009", "Heart"),
    "aorta": ("15825003", "Aorta"),
    "bone": ("272673000", "Bone"),
    "liver": ("10200004", "Liver"),
    "spleen": ("78961009", "Spleen"),
    "kidney": ("64033007", "Kidney"),
}

def write_nifti(labels: NDArray[Any], volume: Volume, path: str | Path) -> Path:
    """Write ``labels`` (z, y, x on ``volume``'s grid) as a gzipped NIfTI-1 label image."""
    return writers.write_nifti(labels, volume, path, dtype=np.uint8, intent="label")


def _source_datasets(paths: Sequence[Path], volume: Volume) -> tuple[list[Any], list[int]]:
    """Read the source CT files; return them with the volume slice index of each."""
    import pydicom

    datasets, index = [], []
    for path in paths:
        try:
            ds = writers.fill_type2(pydicom.dcmread(str(path)))  # absent type 2 attributes: empty, only in memory
        except Exception as exc:
            raise ValueError(f"{path}: cannot read the source image for the DICOM SEG ({exc})") from exc
        if "ImagePositionPatient" not in ds:
            raise ValueError(f"{path}: source image has no ImagePositionPatient")
        z = float(volume.patient_to_index([float(v) for v in ds.ImagePositionPatient])[0])
        k = int(round(z))
        if abs(z - k) > 0.1 or not 0 <= k < volume.shape[0]:
            raise ValueError(f"{path}: its position does not fall on a slice of the segmented volume")
        datasets.append(ds)
        index.append(k)
    return datasets, index


def write_dicom_seg(labels: NDArray[Any], volume: Volume, source_paths: Sequence[Path],
                    names: Mapping[int, str], path: str | Path, *, model: str = "", version: str = "",
                    series_number: int = 900, provenance: Optional[Provenance] = None) -> Path:
    """Write a DICOM Segmentation (binary, one segment per label present) of ``labels``.

    Parameters
    ----------
    labels
        ``(z, y, x)`` labels on ``volume``'s grid.
    volume
        The segmented CT, loaded from ``source_paths``.
    source_paths
        The CT files of the series (one per slice).
    names
        Label value -> structure name.
    path
        Output file; its folder must not be (inside) the study's folder.
    provenance
        The result's provenance, written as the algorithm's parameters.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    path = Path(path)
    writers.check_outside_sources(path.parent, writers.source_folders(source_paths))
    datasets, index = _source_datasets(source_paths, volume)
    order = np.argsort(index)
    datasets = [datasets[i] for i in order]
    frames = labels[np.asarray(index)[order]]
    present = [k for k in sorted(names) if np.any(frames == k)]
    if not present:
        raise ValueError("nothing was segmented: no DICOM SEG to write")
    remapped = np.zeros(frames.shape, dtype=np.uint8)
    if provenance is not None:
        algorithm = sr_blocks.seg_algorithm(provenance)
    else:
        algorithm = hd.AlgorithmIdentificationSequence(
            name=model or "segmentation", version=version or "1", family=codes.cid7162.ArtificialIntelligence)
    descriptions = []
    for number, label in enumerate(present, start=1):
        remapped[frames == label] = number
        name = names[label]
        code, meaning = _ANATOMY_CODES.get(name.lower(), ("91723000", "Anatomical structure"))
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=name,
            segmented_property_category=hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure"),
            segmented_property_type=hd.sr.CodedConcept(code, "SCT", meaning),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        ))
    seg = hd.seg.Segmentation(
        source_images=datasets, pixel_array=remapped,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=sr_blocks.MANUFACTURER,
        manufacturer_model_name=model or "segmentation", software_versions=version or "1",
        device_serial_number="0", series_description=f"{model} segmentation (not for clinical use)"[:64],
    )
    return sr_blocks.save(seg, path)


def _labels(result: SegmentationResult, data: SegmentationInput, context: ArtifactContext) -> list[Path]:
    return [write_nifti(result.labels, data.volume, context.folder / "labels.nii.gz")]


def dicom_sources(data: SegmentationInput) -> list[Path]:
    """The single-frame source files a DICOM SEG can reference (ValueError saying why not)."""
    series = data.series
    if series is None or not series.frames:
        raise ValueError("the volume was not loaded from DICOM files; export NIfTI instead")
    if any(f.frame is not None for f in series.frames):
        raise ValueError("DICOM SEG export of multi-frame source images is not supported; export NIfTI instead")
    return sorted({f.path for f in series.frames})


def _seg(result: SegmentationResult, data: SegmentationInput, context: ArtifactContext) -> list[Path]:
    try:
        sources = dicom_sources(data)
    except ValueError as exc:
        log.warning("DICOM SEG export skipped: %s", exc)
        return []
    return [write_dicom_seg(result.labels, data.volume, sources, result.names, context.folder / "seg.dcm",
                            model=result.model, version=result.version, provenance=result.provenance)]


ARTIFACTS: ArtifactSet[SegmentationInput, SegmentationResult] = ArtifactSet((
    Artifact("labels", "labels.nii.gz", "Labels (NIfTI)", _labels),
    Artifact("seg", "seg.dcm", "DICOM Segmentation of the source CT", _seg),
    report_artifact("segmentation_report.pdf", TITLE, section, batch=False),
    json_artifact("segmentation.json"),
))
