"""Small DICOM series written by the tests, with known geometry and values."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from pydicom_files import data_file  # noqa: F401 - the cases' files, re-exported

from workstation.core.volume import Volume
from workstation.io.dicom_write import base_dataset, write_series

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


def phantom(shape: Sequence[int] = (12, 32, 32), seed: int = 0) -> np.ndarray:
    """Int16 HU values: a body disc at 40 HU with noise, a bright rod, air outside.

    Each slice differs (a slice-dependent rod position), so any mis-sorting shows.
    """
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    cy, cx = (shape[1] - 1) / 2, (shape[2] - 1) / 2
    body = (y - cy) ** 2 + (x - cx) ** 2 <= (0.4 * shape[1]) ** 2
    values = np.where(body, 40, -1000) + rng.integers(-20, 21, size=tuple(shape))
    rod = (np.abs(x - 2 - z % (shape[2] - 4)) < 1.5) & body
    values = np.where(rod, 1200 + 10 * z, values)
    return values.astype(np.int16)


def rotation(axis: Sequence[float], degrees: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``degrees`` (Rodrigues)."""
    k = np.asarray(axis, dtype=float)
    k /= np.linalg.norm(k)
    t = np.radians(degrees)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


def volume(
    shape: Sequence[int] = (12, 32, 32),
    spacing: Sequence[float] = (2.5, 0.7, 0.8),
    origin: Sequence[float] = (-11.2, -22.4, 33.0),
    direction: Optional[np.ndarray] = None,
    seed: int = 0,
) -> Volume:
    return Volume(
        array=phantom(shape, seed),
        spacing=tuple(spacing),  # type: ignore[arg-type]
        origin=tuple(origin),  # type: ignore[arg-type]
        direction=np.eye(3) if direction is None else direction,
        modality="CT",
    )


def write(vol: Volume, folder: Path, **kwargs: Any) -> list[Path]:
    """Write ``vol`` as a CT series (one file per slice) into ``folder``."""
    kwargs.setdefault("tags", {"PatientAge": "061Y", "PatientSex": "F", "StudyDate": "20240131",
                               "KVP": 120, "ConvolutionKernel": "B30f", "Manufacturer": "ACME"})
    return write_series(vol, folder, **kwargs)


def scramble(paths: Sequence[Path], folder: Path, seed: int = 1) -> list[Path]:
    """Rewrite files with shuffled InstanceNumbers under random names without suffix."""
    rng = random.Random(seed)
    numbers = list(range(1, len(paths) + 1))
    rng.shuffle(numbers)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path, number in zip(paths, numbers):
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = number
        target = folder / f"x{rng.getrandbits(40):010x}"
        ds.save_as(target, enforce_file_format=True)
        out.append(target)
        path.unlink()
    return out


def recode(paths: Sequence[Path], syntax: str) -> None:
    """Re-encode files in place with a compressed or deflated transfer syntax."""
    for path in paths:
        ds = pydicom.dcmread(path)
        if syntax == pydicom.uid.DeflatedExplicitVRLittleEndian:
            ds.file_meta.TransferSyntaxUID = syntax
        else:
            ds.compress(syntax, encoding_plugin=_plugin(syntax))
        ds.save_as(path, enforce_file_format=True)


def _plugin(syntax: str) -> str:
    return {pydicom.uid.JPEG2000Lossless: "pylibjpeg", pydicom.uid.JPEGLSLossless: "pyjpegls"}.get(syntax, "")


def enhanced_ct(vol: Volume, path: Path, *, slope: float = 1.0, intercept: float = -1024.0,
                order: Optional[Sequence[int]] = None, times: Optional[Sequence[float]] = None,
                arrays: Optional[Sequence[np.ndarray]] = None) -> Path:
    """One Enhanced CT file holding every slice of ``vol`` as a frame (functional groups).

    With ``times`` (seconds after 10:00) and one array per time point in ``arrays``,
    the file is dynamic: frames at each time point carry TemporalPositionIndex and
    FrameReferenceDateTime, written time-major.
    """
    if times is not None:
        stacked = np.concatenate(list(arrays or []))
        tvol = Volume(array=stacked, spacing=vol.spacing, origin=vol.origin, direction=vol.direction)
        n_z = vol.shape[0]
        path = enhanced_ct(tvol, path, slope=slope, intercept=intercept)
        ds = pydicom.dcmread(path)
        for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
            t, z = divmod(i, n_z)
            item.PlanePositionSequence[0].ImagePositionPatient = [
                float(v) for v in vol.index_to_patient([z, 0, 0])]
            content = item.FrameContentSequence[0]
            content.TemporalPositionIndex = t + 1
            seconds = 36000.0 + times[t] + 0.01 * z
            content.FrameReferenceDateTime = f"20240131{int(seconds // 3600):02d}{int(seconds % 3600 // 60):02d}" \
                f"{seconds % 60:09.6f}"
        ds.save_as(path, enforce_file_format=True)
        return path
    order = list(range(vol.shape[0])) if order is None else list(order)
    ds = base_dataset(ENHANCED_CT, generate_uid())
    ds.Modality = "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.PatientID, ds.PatientName, ds.InstanceNumber = "ANON", "ANONYMOUS", 1
    ds.Rows, ds.Columns = vol.shape[1], vol.shape[2]
    ds.NumberOfFrames = len(order)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    shared = Dataset()
    shared.PlaneOrientationSequence = DicomSequence([_item(ImageOrientationPatient=[
        float(v) for v in (*vol.direction[:, 0], *vol.direction[:, 1])])])
    shared.PixelMeasuresSequence = DicomSequence([_item(
        PixelSpacing=[vol.spacing[1], vol.spacing[2]], SliceThickness=vol.spacing[0])])
    shared.PixelValueTransformationSequence = DicomSequence([_item(
        RescaleSlope=slope, RescaleIntercept=intercept, RescaleType="HU")])
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    per_frame = []
    z_idx = np.stack([np.arange(vol.shape[0]), np.zeros(vol.shape[0]), np.zeros(vol.shape[0])], axis=1)
    positions = vol.index_to_patient(z_idx)
    for k in order:
        item = Dataset()
        item.PlanePositionSequence = DicomSequence([_item(ImagePositionPatient=[float(v) for v in positions[k]])])
        item.FrameContentSequence = DicomSequence([_item(InStackPositionNumber=k + 1)])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    stored = np.rint((vol.array[order].astype(float) - intercept) / slope).astype(np.uint16)
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _item(**values: Any) -> Dataset:
    item = Dataset()
    for k, v in values.items():
        setattr(item, k, v)
    return item


def truncate(path: Path, keep_pixel_bytes: int = 100) -> int:
    """Cut a native file ``keep_pixel_bytes`` into its pixel data; returns the new size."""
    ds = pydicom.dcmread(path, defer_size=256)
    offset = ds.get_item(0x7FE00010, keep_deferred=True).value_tell
    data = path.read_bytes()[: offset + keep_pixel_bytes]
    path.write_bytes(data)
    return len(data)


def corrupt_bytes(path: Path, n: int = 4000, seed: int = 3) -> Path:
    """Random bytes behind a DICOM preamble and 'DICM' marker."""
    rng = np.random.default_rng(seed)
    path.write_bytes(b"\x00" * 128 + b"DICM" + rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    return path

