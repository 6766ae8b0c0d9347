"""A deflated dataset is inflated within a bound set by the file's size (a deflate bomb is a
clear error, not gigabytes of memory); real deflated files still open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, generate_uid

from workstation.io import dicom_open
from workstation.io.dicom_open import MAX_INFLATE_RATIO, open_dataset
from workstation.io.errors import DicomReadError


def _deflated(path: Path, rows: int, frames: int) -> Path:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.Modality, ds.PatientName = "OT", "Bomb^Test"
    ds.Rows = ds.Columns = rows
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 8, 8, 7, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.zeros((frames, rows, rows), np.uint8).tobytes()  # zeros: deflate shrinks them ~1000x
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_deflate_bomb_is_refused_by_its_file_size(tmp_path: Path) -> None:
    path = _deflated(tmp_path / "bomb.dcm", 1024, 40)  # 40 MiB of zeros in a file of a few tens of kB
    size = path.stat().st_size
    assert 40 * 2**20 > max(dicom_open.MIN_INFLATE_BYTES, MAX_INFLATE_RATIO * size)  # beyond the bound
    with pytest.raises(DicomReadError, match=f"expands beyond {MAX_INFLATE_RATIO} times") as info:
        open_dataset(path)
    assert info.value.path == path and "Bomb" not in str(info.value)


def test_deflated_files_within_the_bound_open(tmp_path: Path) -> None:
    real = Path(get_testdata_file("image_dfl.dcm"))  # pydicom's deflated file
    ds = open_dataset(real)
    assert str(ds.file_meta.TransferSyntaxUID) == DeflatedExplicitVRLittleEndian and ds.Rows > 0
    small = open_dataset(_deflated(tmp_path / "small.dcm", 256, 4))  # 256 kB of zeros: under the floor
    assert small.NumberOfFrames == 4


def test_a_corrupt_deflated_stream_is_named(tmp_path: Path) -> None:
    path = _deflated(tmp_path / "c.dcm", 64, 1)
    data = bytearray(path.read_bytes())
    data[-40:] = b"\xff" * 40
    data[200:260] = b"\x00\xff" * 30
    path.write_bytes(bytes(data))
    with pytest.raises(DicomReadError):
        open_dataset(path)
