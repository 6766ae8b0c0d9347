"""Write a segmentation as NIfTI labels and as a DICOM Segmentation (highdicom).

NIfTI: one ``uint8`` label image in RAS+ world coordinates (the usual NIfTI
convention), the affine built from the volume's LPS geometry.  DICOM SEG: a binary
segmentation referencing the source CT images, one segment per structure found,
written into a new folder, never into the study's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume

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

# Patient/study attributes a SEG copies from its sources; some writers omit them.
_TYPE2_PATIENT_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                        "ReferringPhysicianName", "AccessionNumber", "StudyID")


def nifti_affine(volume: Volume) -> NDArray[np.float64]:
    """Affine from NIfTI index ``(i, j, k) = (x, y, z)`` to RAS+ mm."""
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ volume.affine


def write_nifti(labels: NDArray[Any], volume: Volume, path: str | Path) -> Path:
    """Write ``labels`` (z, y, x on ``volume``'s grid) as a gzipped NIfTI-1 file."""
    import nibabel as nib

    if tuple(labels.shape) != volume.shape:
        raise ValueError(f"labels of shape {labels.shape} do not match the volume {volume.shape}")
    path = Path(path)
    image = nib.Nifti1Image(np.ascontiguousarray(labels.transpose(2, 1, 0)).astype(np.uint8), nifti_affine(volume))
    image.header.set_xyzt_units("mm")
    image.header.set_intent("label")
    nib.save(image, str(path))
    return path


def _source_datasets(paths: Sequence[Path], volume: Volume) -> tuple[list[Any], list[int]]:
    """Read the source CT files; return them with the volume slice index of each."""
    import pydicom

    datasets, index = [], []
    for path in paths:
        try:
            ds = pydicom.dcmread(str(path))
        except Exception as exc:
            raise ValueError(f"{path}: cannot read the source image for the DICOM SEG ({exc})") from exc
        if "ImagePositionPatient" not in ds:
            raise ValueError(f"{path}: source image has no ImagePositionPatient")
        z = float(volume.patient_to_index([float(v) for v in ds.ImagePositionPatient])[0])
        k = int(round(z))
        if abs(z - k) > 0.1 or not 0 <= k < volume.shape[0]:
            raise ValueError(f"{path}: its position does not fall on a slice of the segmented volume")
        for keyword in _TYPE2_PATIENT_STUDY:
            if keyword not in ds:
                setattr(ds, keyword, "")  # empty is valid for these type 2 attributes; only in memory
        datasets.append(ds)
        index.append(k)
    return datasets, index


def write_dicom_seg(labels: NDArray[Any], volume: Volume, source_paths: Sequence[Path],
                    names: Mapping[int, str], path: str | Path, *, model: str = "", version: str = "",
                    series_number: int = 900) -> Path:
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
        Output file; its folder must not be the study's folder.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    path = Path(path)
    source_dirs = {Path(p).resolve().parent for p in source_paths}
    if path.resolve().parent in source_dirs:
        raise ValueError(f"{path}: refusing to write a derived object into the source study folder")
    datasets, index = _source_datasets(source_paths, volume)
    order = np.argsort(index)
    datasets = [datasets[i] for i in order]
    frames = labels[np.asarray(index)[order]]
    present = [k for k in sorted(names) if np.any(frames == k)]
    if not present:
        raise ValueError("nothing was segmented: no DICOM SEG to write")
    remapped = np.zeros(frames.shape, dtype=np.uint8)
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
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Workstation",
        manufacturer_model_name=model or "segmentation", software_versions=version or "1",
        device_serial_number="0", series_description=f"{model} segmentation (not for clinical use)"[:64],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(str(path))
    return path
