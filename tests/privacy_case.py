"""A study whose identity must never reach a log, a crash report or a console stream.

The patient's name and ID appear nowhere else (not in the program, not in other
tests).  The study is hostile on purpose: its folder and files are named after the
patient (``_`` between the names), one file stores the PatientID with VR FD (pydicom's
exception text then quotes the raw bytes), one compressed file is cut inside its pixel
data (pydicom logs the file's full path), one is cut inside its header.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pydicom

from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series

FAMILY, GIVEN, PATIENT_ID = "Qzxwvandel", "Brunhilde", "QZX90817263"
SECRETS = re.compile("|".join((FAMILY, GIVEN, PATIENT_ID)), re.IGNORECASE)


def _vr_fd(path: Path, keyword: str) -> None:
    """Relabel an element's VR as FD in place (same bytes, same length)."""
    data = bytearray(path.read_bytes())
    tag = pydicom.datadict.tag_for_keyword(keyword)
    at = data.index(bytes.fromhex(f"{tag >> 16:04x}")[::-1] + bytes.fromhex(f"{tag & 0xFFFF:04x}")[::-1])
    data[at + 4: at + 6] = b"FD"
    path.write_bytes(bytes(data))


def write_hostile_study(parent: Path) -> Path:
    """The study folder ``<parent>/<Family>_<Given>_CT``: a 12-slice CT and its hostile extras."""
    root = parent / f"{FAMILY}_{GIVEN}_CT"
    rng = np.random.default_rng(3)
    values = np.where(rng.random((12, 48, 48)) < 0.5, -900, 40).astype(np.int16)
    vol = Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT")
    tags = {"PatientName": f"{FAMILY}^{GIVEN}", "PatientID": PATIENT_ID, "PatientSex": "F",
            "PatientAge": "061Y", "StudyDate": "20240131", "KVP": 120}
    paths = write_series(vol, root, modality="CT", tags=tags, slice_thickness=2.5, file_prefix=f"{FAMILY}_{GIVEN}_")
    _vr_fd(paths[3], "PatientID")
    (root / f"{FAMILY}_{GIVEN}_cut.dcm").write_bytes(paths[0].read_bytes()[:900])
    ds = pydicom.dcmread(paths[5])
    ds.SeriesInstanceUID = ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.compress(pydicom.uid.RLELossless, generate_instance_uid=False)
    ds.save_as(root / "rle.dcm", enforce_file_format=True)
    data = (root / "rle.dcm").read_bytes()
    (root / f"{FAMILY}_{GIVEN}_rle_cut.dcm").write_bytes(data[: len(data) - 1000])
    (root / "rle.dcm").unlink()
    return root


def leaks(text: str) -> list[str]:
    """The parts of the identity found in ``text``."""
    return sorted({m.group(0) for m in SECRETS.finditer(text)})


def read_all(folder: Path) -> str:
    """Every file under ``folder`` (logs, crash reports) as one text."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())
