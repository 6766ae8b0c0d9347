"""Round trips against a real Orthanc: find, retrieve (C-GET, C-MOVE, WADO-RS), resume, send back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import free_port
from pacs_archive import (
    PASSWORD,
    SECRET_VARIABLE,
    Archive,
    assert_same_instances,
    start_archive,
)

from workstation.core.progress import Cancelled
from workstation.io import dicom
from workstation.io.database import StudyDatabase
from workstation.io.pacs.cache import StudyCache
from workstation.io.pacs.client import connect
from workstation.io.pacs.nodes import LocalAE, Node
from workstation.io.pacs.query import (
    InstanceRow,
    PatientRow,
    Query,
    SeriesRow,
    StudyRow,
)
from workstation.io.pacs.retrieve import retrieve
from workstation.io.pacs.scp import StoreServer
from workstation.io.pacs.send import collect, send
from workstation.io.pacs.transfer import FolderDestination

pytestmark = pytest.mark.integration
OUR_AE = "WSTEST"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_VARIABLE, PASSWORD)
        found = start_archive(tmp_path_factory)
        try:
            yield found
        finally:
            found.orthanc.stop()


@pytest.fixture(scope="module")
def store_server(archive: Archive) -> Iterator[StoreServer]:
    """Our storage SCP on a free loopback port, registered in Orthanc as a C-MOVE destination."""
    port = free_port()
    archive.orthanc.register_modality("workstation", OUR_AE, port)
    with StoreServer(LocalAE(OUR_AE, port, "127.0.0.1")) as server:
        yield server


def _client(archive: Archive, protocol: str, server: StoreServer | None = None) -> object:
    node: Node = archive.web() if protocol == "wado" else archive.dimse(retrieve="move" if protocol == "move" else "get")
    return connect(node, LocalAE(OUR_AE, server.port if server else 0), server)


def test_echo_over_both_protocols(archive: Archive) -> None:
    assert 0 < connect(archive.dimse(), LocalAE(OUR_AE)).echo() < 5
    assert 0 < connect(archive.web()).echo() < 5


@pytest.mark.parametrize("protocol", ["dimse", "dicomweb"])
def test_find_studies_by_every_key(archive: Archive, protocol: str) -> None:
    client = connect(archive.dimse() if protocol == "dimse" else archive.web(), LocalAE(OUR_AE))

    def found(**keys: object) -> set[str]:
        rows = client.find("STUDY", Query(**keys))  # type: ignore[arg-type]
        return {r.study_uid for r in rows if isinstance(r, StudyRow)}

    s = archive.studies
    assert found() == set(s.values())
    assert found(patient_name="demo*") == {s["chest"], s["perfusion"]}
    assert found(patient_name="MULTI^SERIES") == {s["multi"]}
    assert found(patient_id="DEMO-0001") == {s["chest"]}
    assert found(date_from=date(2024, 1, 1), date_to=date(2024, 1, 31)) == {s["chest"]}
    assert found(date_to=date(2021, 12, 31)) == {s["multi"]}
    assert found(modality="MG") == {s["mammo"]}
    assert found(accession="ACC-MULTI") == {s["multi"]}
    row = next(r for r in client.find("STUDY", Query(patient_id="DEMO-0001")) if isinstance(r, StudyRow))
    assert (row.patient_name, row.study_date, row.modalities, row.n_instances) == (
        "DEMO^CHEST", "20240115", ("CT",), len(archive.files["chest"]))


@pytest.mark.parametrize("protocol", ["dimse", "dicomweb"])
def test_find_patients_series_and_instances(archive: Archive, protocol: str) -> None:
    client = connect(archive.dimse() if protocol == "dimse" else archive.web(), LocalAE(OUR_AE))
    patients = [r for r in client.find("PATIENT", Query(patient_id="MULTI-4")) if isinstance(r, PatientRow)]
    assert [(p.patient_name, p.n_studies) for p in patients] == [("Multi^Series", 1)]
    series = [r for r in client.find("SERIES", Query(study_uid=archive.studies["multi"])) if isinstance(r, SeriesRow)]
    assert sorted((r.number, r.description, r.n_instances) for r in series) == [
        (k + 1, f"phase {k}", 10) for k in range(4)]
    first = min(series, key=lambda r: r.number or 0)
    images = client.find("IMAGE", Query(study_uid=archive.studies["multi"], series_uid=first.series_uid))
    assert len({r.sop_uid for r in images if isinstance(r, InstanceRow)}) == 10


@pytest.mark.parametrize("protocol", ["get", "move", "wado"])
def test_every_retrieved_instance_equals_the_original(
    archive: Archive, store_server: StoreServer, protocol: str, tmp_path: Path
) -> None:
    client = _client(archive, protocol, store_server)
    for name, study_uid in archive.studies.items():
        report = retrieve(client, study_uid, FolderDestination(tmp_path), parallel=4)  # type: ignore[arg-type]
        assert report.complete and report.listed == len(archive.files[name]) == len(report.received)
        assert_same_instances(report.received, archive.originals, archive.uids(name))
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize("protocol", ["get", "move", "wado"])
def test_a_cancelled_retrieve_keeps_what_arrived_and_resumes(
    archive: Archive, store_server: StoreServer, protocol: str, tmp_path: Path
) -> None:
    client = _client(archive, protocol, store_server)
    study = archive.studies["chest"]
    seen: list[str] = []

    def cancel_after_some(fraction: float, message: str) -> None:
        seen.append(message)
        if message.startswith("20 of"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        retrieve(client, study, FolderDestination(tmp_path), progress=cancel_after_some)  # type: ignore[arg-type]
    kept = sorted(tmp_path.rglob("*.dcm"))
    assert 20 <= len(kept) < len(archive.files["chest"]) and not list(tmp_path.rglob("*.part"))
    before = {p: p.stat().st_mtime_ns for p in kept}
    report = retrieve(client, study, FolderDestination(tmp_path))  # type: ignore[arg-type]
    assert report.already_present == len(kept) and len(report.received) == len(archive.files["chest"]) - len(kept)
    assert {p: p.stat().st_mtime_ns for p in kept} == before  # nothing fetched twice
    assert_same_instances(tmp_path.rglob("*.dcm"), archive.originals, archive.uids("chest"))


def test_retrieve_into_the_cache_indexes_and_reopens_the_study(archive: Archive, tmp_path: Path) -> None:
    cache = StudyCache(StudyDatabase(tmp_path / "db.sqlite"), tmp_path / "cache")
    client = connect(archive.dimse(), LocalAE(OUR_AE))
    first = retrieve(client, archive.studies["chest"], cache)
    again = retrieve(client, archive.studies["chest"], cache)
    assert len(first.received) == len(archive.files["chest"]) and again.received == []
    assert again.already_present == len(archive.files["chest"])
    study, problems = cache.database.open_study(archive.studies["chest"])
    assert problems == [] and study.patient_id == "DEMO-0001"
    volume = dicom.load_series(study.series[0])
    expected = dicom.load(archive.files["chest"][0].parent)
    np.testing.assert_array_equal(volume.array, expected.array)
    assert cache.usage_bytes() == sum(p.stat().st_size for p in first.received)


@pytest.fixture(scope="module")
def seg_file(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DICOM SEG of the chest CT written by the application's own SEG writer."""
    from workstation.analyses.segmentation.artifacts import write_dicom_seg

    files = archive.files["chest"]
    volume = dicom.load(files[0].parent)
    labels = np.zeros(volume.shape, np.uint8)
    labels[20:30, 200:260, 220:300] = 1
    return write_dicom_seg(labels, volume, files, {1: "heart"}, tmp_path_factory.mktemp("seg") / "seg.dcm",
                           model="test", version="1")


@pytest.fixture(scope="module")
def sr_file(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mammography CAD's DICOM SR of the demo mammogram (the application's SR writer)."""
    from workstation.jobs.execute import run_study

    study = dicom.scan(archive.files["mammo"]).studies[0]
    outcome = run_study("mammo-cad", study, tmp_path_factory.mktemp("cad"), device="cpu")
    assert outcome.ok, outcome.message
    return next(Path(f) for f in outcome.files if f.endswith("_sr.dcm"))


@pytest.mark.parametrize("protocol", ["dimse", "dicomweb"])
def test_seg_and_sr_sent_back_are_found_again(
    archive: Archive, protocol: str, seg_file: Path, sr_file: Path, tmp_path: Path
) -> None:
    for path in (seg_file, sr_file):
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        for item in archive.orthanc.rest("POST", "/tools/lookup", raw=uid.encode()):
            archive.orthanc.rest("DELETE", f"/instances/{item['ID']}")
    sender = connect(archive.dimse() if protocol == "dimse" else archive.web(), LocalAE(OUR_AE))
    files, skipped = collect([seg_file, sr_file, tmp_path])
    result = send(sender, files)
    assert result.ok and sorted(result.sent) == sorted([seg_file, sr_file]) and skipped == []
    other = connect(archive.web() if protocol == "dimse" else archive.dimse(), LocalAE(OUR_AE))
    for path, modality, study in ((seg_file, "SEG", "chest"), (sr_file, "SR", "mammo")):
        original = pydicom.dcmread(path)
        assert original.StudyInstanceUID == archive.studies[study]
        series = [r for r in other.find("SERIES", Query(study_uid=archive.studies[study]))
                  if isinstance(r, SeriesRow) and r.modality == modality]
        assert [r.series_uid for r in series] == [original.SeriesInstanceUID]
        report = retrieve(other, archive.studies[study], FolderDestination(tmp_path / modality),  # type: ignore[arg-type]
                          series_uids=[original.SeriesInstanceUID])
        back = pydicom.dcmread(report.received[0])
        assert back.SOPInstanceUID == original.SOPInstanceUID
        if modality == "SEG":
            assert back.PixelData == original.PixelData
        else:
            assert back.ContentSequence == original.ContentSequence


def test_an_instance_of_a_class_not_proposed_up_front_still_arrives_by_c_get(
    archive: Archive, tmp_path: Path
) -> None:
    source = archive.files["multi"][:3]
    study, series = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    originals: dict[str, Path] = {}
    for k, path in enumerate(source):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, pydicom.uid.generate_uid()
        if k == 1:  # ophthalmic photography: not among the classes a whole-series C-GET proposes
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.UID("1.2.840.10008.5.1.4.1.1.77.1.5.1")
        target = tmp_path / "rare" / f"{k}.dcm"
        target.parent.mkdir(exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
        originals[str(ds.SOPInstanceUID)] = target
    archive.orthanc.upload(originals.values())
    report = retrieve(connect(archive.dimse(), LocalAE(OUR_AE)), study, FolderDestination(tmp_path / "got"))
    assert report.complete and len(report.received) == 3
    assert_same_instances(report.received, originals, set(originals))
