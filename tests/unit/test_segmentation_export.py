"""NIfTI and DICOM SEG export of a segmentation, read back with nibabel and highdicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.analyses.segmentation.artifacts import write_dicom_seg, write_nifti
from workstation.core.volume import Volume
from workstation.io.writers import nifti_affine


def _volume() -> tuple[Volume, np.ndarray]:
    rng = np.random.default_rng(0)
    hu = rng.integers(-100, 100, size=(6, 20, 24)).astype(np.int16)
    labels = np.zeros(hu.shape, dtype=np.uint8)
    labels[1:4, 2:9, 3:12] = 1
    labels[2:6, 12:18, 14:22] = 3  # label 2 absent on purpose
    vol = Volume(hu, spacing=(3.0, 0.8, 0.7), origin=(-10.0, 20.0, -55.0), modality="CT")
    return vol, labels


def test_nifti_roundtrip(tmp_path: Path) -> None:
    nib = pytest.importorskip("nibabel")
    vol, labels = _volume()
    path = write_nifti(labels, vol, tmp_path / "labels.nii.gz")
    img = nib.load(str(path))
    data = np.asarray(img.dataobj)
    assert data.shape == (24, 20, 6)
    np.testing.assert_array_equal(data.transpose(2, 1, 0), labels)
    # voxel (x=5, y=7, z=2) in RAS: LPS position with x and y negated
    lps = vol.index_to_patient([2, 7, 5])
    ras = img.affine @ np.array([5, 7, 2, 1.0])
    np.testing.assert_allclose(ras[:3], [-lps[0], -lps[1], lps[2]])
    np.testing.assert_allclose(nifti_affine(vol)[:3, :3], np.diag([-0.7, -0.8, 3.0]))
    with pytest.raises(ValueError, match="do not match"):
        write_nifti(labels[:2], vol, tmp_path / "bad.nii.gz")


def test_dicom_seg_roundtrip(tmp_path: Path) -> None:
    hd = pytest.importorskip("highdicom")
    from workstation.io.dicom_write import write_series

    vol, labels = _volume()
    study = tmp_path / "study"
    files = write_series(vol, study, modality="CT")
    shuffled = list(reversed(files))  # file order must not matter
    names = {1: "lungs", 2: "heart", 3: "aorta"}
    out = write_dicom_seg(labels, vol, shuffled, names, tmp_path / "derived" / "seg.dcm", model="m", version="9")
    seg = hd.seg.segread(str(out))
    assert seg.Modality == "SEG"
    assert [d.SegmentLabel for d in seg.SegmentSequence] == ["lungs", "aorta"]
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "39607008"
    import pydicom

    uids = [pydicom.dcmread(str(f)).SOPInstanceUID for f in files]  # slice order
    for number, label in ((1, 1), (2, 3)):
        mask = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[number])
        np.testing.assert_array_equal(mask[..., 0].astype(bool), labels == label)
    with pytest.raises(ValueError, match="source study folder"):
        write_dicom_seg(labels, vol, files, names, study / "seg.dcm")
    with pytest.raises(ValueError, match="nothing was segmented"):
        write_dicom_seg(np.zeros_like(labels), vol, files, names, tmp_path / "x" / "seg.dcm")
