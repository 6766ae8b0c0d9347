"""A real Orthanc holding the demo studies, and the checks every PACS test shares.

:func:`start_archive` writes the demo studies (chest CT, four-view mammogram, a small
perfusion series, a four-series study), starts Orthanc with its own storage and ports
and uploads them over REST.  :func:`assert_same_instances` compares retrieved files
with the files written here: the same SOP Instance UIDs, the same pixel data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import PASSWORD, USER, Orthanc, orthanc_or_skip

from workstation.core.volume import Volume
from workstation.demo.chest_ct import write_chest_ct
from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, write_mammo
from workstation.demo.perfusion import write_perfusion
from workstation.io.dicom_write import patient_tags, write_series
from workstation.io.pacs.nodes import Auth, DicomWebNode, DimseNode

SECRET_VARIABLE = "WORKSTATION_PACS_SECRET"


@dataclass
class Archive:
    """The Orthanc, and for each demo study its UID and the files uploaded."""

    orthanc: Orthanc
    studies: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)
    originals: dict[str, Path] = field(default_factory=dict)

    def dimse(self, **changes: object) -> DimseNode:
        fields = {"name": "", "ae_title": self.orthanc.aet, "host": "127.0.0.1", "port": self.orthanc.dicom_port,
                  "timeout_s": 20.0, **changes}
        return DimseNode(**fields)  # type: ignore[arg-type]

    def web(self, **changes: object) -> DicomWebNode:
        fields = {"name": "", "url": self.orthanc.dicomweb_url, "auth": Auth("basic", USER), "timeout_s": 20.0,
                  **changes}
        return DicomWebNode(**fields)  # type: ignore[arg-type]

    @property
    def dimse_url(self) -> str:
        return f"dicom://{self.orthanc.aet}@127.0.0.1:{self.orthanc.dicom_port}"

    @property
    def web_url(self) -> str:
        return f"dicomweb+http://{USER}@127.0.0.1:{self.orthanc.http_port}/dicom-web"

    def uids(self, study: str) -> set[str]:
        return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in self.files[study]}

    def orthanc_id(self, study_uid: str) -> str:
        found = self.orthanc.rest("POST", "/tools/lookup", raw=study_uid.encode())
        return str(next(item["ID"] for item in found if item["Type"] == "Study"))


def write_demo_studies(root: Path) -> dict[str, list[Path]]:
    """The demo studies the PACS tests use, as DICOM files under ``root``."""
    write_chest_ct(root / "chest")
    write_mammo(root / "mammo", DEMO_SEED, findings=DEMO_FINDINGS)
    write_perfusion(root / "perfusion", shape=(4, 64, 64), n_times=10)
    study_uid = pydicom.uid.generate_uid()
    rng = np.random.default_rng(3)
    for k in range(4):
        volume = Volume(rng.integers(-1000, 1000, (10, 64, 64)).astype(np.int16), spacing=(2.0, 0.8, 0.8))
        write_series(volume, root / "multi" / f"s{k}", study_uid=study_uid, series_number=k + 1,
                     series_description=f"phase {k}", tags=patient_tags(
                         "Multi^Series", "MULTI-4", study_date="20210304", accession="ACC-MULTI"))
    return {name: sorted(p for p in (root / name).rglob("*") if p.is_file() and not p.name.startswith("."))
            for name in ("chest", "mammo", "perfusion", "multi")}


def start_archive(tmp: pytest.TempPathFactory, **config: object) -> Archive:
    """Orthanc with the demo studies uploaded (skips where Orthanc is not installed)."""
    orthanc = orthanc_or_skip(tmp.mktemp("orthanc"), **config)
    archive = Archive(orthanc)
    try:
        archive.files = write_demo_studies(tmp.mktemp("originals"))
        for name, files in archive.files.items():
            orthanc.upload(files)
            archive.studies[name] = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
            for path in files:
                archive.originals[str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path
    except BaseException:
        orthanc.stop()
        raise
    return archive


def assert_same_instances(files: Iterable[Path], originals: dict[str, Path], expected: set[str]) -> None:
    """Every file is one of ``expected`` (each once) with the original's pixel data."""
    seen: set[str] = set()
    for path in files:
        got = pydicom.dcmread(path)
        uid = str(got.SOPInstanceUID)
        assert uid in expected and uid not in seen, f"{path.name}: unexpected or repeated instance"
        seen.add(uid)
        original = pydicom.dcmread(originals[uid])
        assert got.SOPClassUID == original.SOPClassUID
        if "PixelData" in original:
            np.testing.assert_array_equal(got.pixel_array, original.pixel_array)
    assert seen == expected, f"{len(expected - seen)} instances missing"


__all__ = ["PASSWORD", "SECRET_VARIABLE", "Archive", "assert_same_instances", "start_archive"]
