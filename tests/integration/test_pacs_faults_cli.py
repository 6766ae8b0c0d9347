"""``workstation-batch pacs`` and ``run --pacs`` against a real Orthanc, and every fault's message and exit code."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from orthanc_server import free_port, orthanc_or_skip
from pacs_archive import (
    PASSWORD,
    SECRET_VARIABLE,
    Archive,
    assert_same_instances,
    start_archive,
)

from workstation.io.database import StudyDatabase, StudySearch
from workstation.io.pacs.client import connect
from workstation.io.pacs.dimse import DimseClient, retrieve_identifier
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import DimseNode, LocalAE
from workstation.io.pacs.query import Query
from workstation.io.pacs.transfer import FolderDestination, SopSink
from workstation.jobs.batch import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    found = start_archive(tmp_path_factory)
    try:
        yield found
    finally:
        found.orthanc.stop()


@pytest.fixture(autouse=True)
def user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings, database and cache of this test in its own folders; the password in the environment."""
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv(SECRET_VARIABLE, PASSWORD)
    return tmp_path


def batch(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_echo_over_both_protocols(archive: Archive, capsys: pytest.CaptureFixture[str]) -> None:
    for server in (archive.dimse_url, archive.web_url):
        code, out, err = batch(capsys, "pacs", "echo", server)
        assert code == 0 and "OK" in out and err == "", err


def test_find_prints_one_json_object_per_study(archive: Archive, capsys: pytest.CaptureFixture[str]) -> None:
    for server in (archive.dimse_url, archive.web_url):
        code, out, _ = batch(capsys, "pacs", "find", server, "--patient-name", "demo*", "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and {r["StudyInstanceUID"] for r in rows} == {archive.studies["chest"],
                                                                        archive.studies["perfusion"]}
        chest = next(r for r in rows if r["PatientID"] == "DEMO-0001")
        assert (chest["StudyDate"], chest["ModalitiesInStudy"], chest["NumberOfStudyRelatedInstances"]) == (
            "20240115", ["CT"], len(archive.files["chest"]))
    code, out, _ = batch(capsys, "pacs", "find", archive.dimse_url, "--study-date", "20210101-20211231",
                         "--modality", "CT", "--accession", "ACC-MULTI", "--json")
    assert code == 0 and [json.loads(x)["StudyInstanceUID"] for x in out.splitlines()] == [archive.studies["multi"]]
    code, _, err = batch(capsys, "pacs", "find", archive.dimse_url, "--study-date", "2021")
    assert code == 2 and "--study-date" in err


def test_get_writes_the_study_and_resumes(archive: Archive, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "got"
    study = archive.studies["multi"]
    code, out, err = batch(capsys, "pacs", "get", archive.web_url, "--study", study, "--out", str(out_dir))
    assert code == 0 and "40 instances received" in out, err
    assert_same_instances(out_dir.rglob("*.dcm"), archive.originals, archive.uids("multi"))
    for path in sorted(out_dir.rglob("*.dcm"))[:7]:
        path.unlink()
    code, out, _ = batch(capsys, "pacs", "get", archive.dimse_url, "--aet", "WSCLI", "--study", study,
                         "--out", str(out_dir))
    assert code == 0 and "7 instances received, 33 already" in out
    code, _, err = batch(capsys, "pacs", "get", archive.dimse_url, "--study", "1.2.3.999", "--out", str(out_dir))
    assert code == 1 and "not found" in err and len(err.strip().splitlines()) == 1


def test_get_by_move_needs_our_ae_registered(archive: Archive, capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    port = free_port()
    args = ["pacs", "get", archive.dimse_url, "--retrieve", "move", "--store-port", str(port), "--bind", "127.0.0.1",
            "--study", archive.studies["perfusion"], "--out", str(tmp_path / "moved")]
    code, _, err = batch(capsys, *args, "--aet", "STRANGER")
    assert code == 1
    assert err.strip() == (f"workstation-batch pacs get: PACS {archive.dimse_url}: unknown destination AE: the PACS "
                           f"refused to send to AE 'STRANGER' (status 0xC000, no sub-operation started): register AE "
                           f"'STRANGER' on the PACS with our host and port {port}")
    archive.orthanc.register_modality("cli", "WSMOVE", port)
    code, _, err = batch(capsys, *args, "--aet", "WSMOVE")
    assert code == 0, err
    assert_same_instances((tmp_path / "moved").rglob("*.dcm"), archive.originals, archive.uids("perfusion"))


def test_wrong_password(archive: Archive, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, "not-the-password")
    code, out, err = batch(capsys, "pacs", "find", archive.web_url)
    assert code == 5 and out == ""
    assert err.strip() == (f"workstation-batch pacs find: PACS {archive.web_url}: wrong credentials: QIDO-RS study "
                           "search: the server refused user 'radiology' (HTTP 401 Unauthorized)")
    assert "not-the-password" not in err
    monkeypatch.delenv(SECRET_VARIABLE)
    code, _, err = batch(capsys, "pacs", "echo", archive.web_url)
    assert code == 5 and "no password is set" in err and "WORKSTATION_PACS_SECRET" in err


def test_rejected_association_names_the_called_ae(archive: Archive, capsys: pytest.CaptureFixture[str]) -> None:
    server = f"dicom://NOT_ORTHANC@127.0.0.1:{archive.orthanc.dicom_port}"
    code, _, err = batch(capsys, "pacs", "echo", server)
    assert code == 5 and err.strip() == (
        f"workstation-batch pacs echo: PACS {server}: association rejected: Rejected Permanent, by the Service User: "
        "Called AE title not recognised; is 'NOT_ORTHANC' the PACS's AE title?")


def test_a_stopped_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stopped = orthanc_or_skip(tmp_path / "orthanc", users=False)
    stopped.stop()
    dimse = f"dicom://ORTHANC@127.0.0.1:{stopped.dicom_port}"
    web = f"dicomweb+http://127.0.0.1:{stopped.http_port}/dicom-web"
    code, _, err = batch(capsys, "pacs", "echo", dimse)
    assert code == 3 and err.strip() == (
        f"workstation-batch pacs echo: PACS {dimse}: node unreachable: connection refused at "
        f"127.0.0.1:{stopped.dicom_port}: is the PACS running and is this its DICOM port?")
    code, _, err = batch(capsys, "pacs", "find", web)
    assert code == 3 and err.strip() == (f"workstation-batch pacs find: PACS {web}: node unreachable: QIDO-RS study "
                                         "search: connection refused: is the server running and is this its port?")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung PACS)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_time_outs(silent_server: int, capsys: pytest.CaptureFixture[str]) -> None:
    dimse = f"dicom://PACS@127.0.0.1:{silent_server}"
    code, _, err = batch(capsys, "pacs", "echo", dimse, "--timeout", "1")
    assert code == 4 and err.strip().endswith("time-out: no answer to the association request within 1 s")
    web = f"dicomweb+http://127.0.0.1:{silent_server}/dicom-web"
    code, _, err = batch(capsys, "pacs", "echo", web, "--timeout", "1")
    assert code == 4 and err.strip().endswith("time-out: no answer to QIDO-RS within 1 s")


def _fault_of(call: Any, *args: Any) -> str:
    with pytest.raises(PacsError) as caught:
        call(*args)
    return str(caught.value)


def test_c_get_association_faults_read_as_every_other_operations(
        archive: Archive, silent_server: int, tmp_path: Path) -> None:
    """C-GET has its own upper layer; a rejection, a stopped server and a hung one read the same."""
    stopped = orthanc_or_skip(tmp_path / "orthanc", users=False)
    stopped.stop()
    nodes = [
        archive.dimse(ae_title="NOT_ORTHANC"),
        DimseNode("", "ORTHANC", "127.0.0.1", stopped.dicom_port),
        DimseNode("", "PACS", "127.0.0.1", silent_server, timeout_s=1),
    ]
    for node in nodes:
        client = DimseClient(node, LocalAE("WSCLI"))
        sink = SopSink(FolderDestination(tmp_path / "out"))
        by_get = _fault_of(client.get, retrieve_identifier("1.2.3", "1.2.3.4", None), (), sink, lambda: None)
        assert by_get == _fault_of(client.echo)
    assert not (tmp_path / "out").exists()


def test_send_reports_what_is_not_dicom(archive: Archive, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("not DICOM")
    source = archive.files["mammo"][0]
    (folder / "copy.dcm").write_bytes(source.read_bytes())
    code, out, err = batch(capsys, "pacs", "send", archive.dimse_url, str(folder))
    assert code == 0 and "1 of 1 files sent" in out and "notes.txt: not a DICOM file" in err
    code, _, err = batch(capsys, "pacs", "send", archive.web_url, str(folder / "notes.txt"))
    assert code == 2 and "no DICOM file to send" in err


def test_run_from_the_pacs_sends_results_back(archive: Archive, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    study = archive.studies["mammo"]
    code, out, err = batch(capsys, "run", "mammo-cad", "--pacs", archive.web_url, "--study", study, "--out",
                           str(tmp_path / "out"), "--device", "cpu", "--send-results")
    assert code == 0, out + err
    assert "1 of 1 studies succeeded" in out and "sent 1 of 1 DICOM results" in out
    sr = pydicom.dcmread(next((tmp_path / "out" / study).glob("*sr*.dcm")))
    found = connect(archive.dimse(), LocalAE("WS")).find("IMAGE", Query(study_uid=study,
                                                                        series_uid=str(sr.SeriesInstanceUID)))
    assert [getattr(r, "sop_uid", "") for r in found] == [sr.SOPInstanceUID]
    record = StudyDatabase().search(StudySearch(patient_id="SYN-MG-0001"))
    assert record and record[0].cached_bytes > 0  # retrieved into the cache and indexed
    code, out, _ = batch(capsys, "run", "mammo-cad", "--pacs", archive.dimse_url, "--study", study, "--out",
                         str(tmp_path / "again"), "--device", "cpu")
    assert code == 0 and "1 instances received, 4 already in the cache" in out  # only the SR sent back is new
    code, _, err = batch(capsys, "run", "mammo-cad", str(tmp_path), "--pacs", archive.web_url, "--study", study,
                         "--out", str(tmp_path / "x"))
    assert code == 2 and "not both" in err


def _listen(archive: Archive, tmp_path: Path, names: list[str], *extra: str) -> int | None:
    """Run ``pacs listen`` with a calcium rule for CT while Orthanc pushes the studies ``names``."""
    port = free_port()
    archive.orthanc.register_modality("listener", "WSLISTEN", port)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"analysis": "calcium", "modality": "CT", "description": "calcium"}]))
    results: dict[str, int] = {}
    args = ["pacs", "listen", "--aet", "WSLISTEN", "--port", str(port), "--bind", "127.0.0.1", "--route",
            str(rules), "--out", str(tmp_path / "results"), "--device", "cpu", "--stable", "1",
            "--max-studies", str(len(names)), "--duration", "120", *extra]
    thread = threading.Thread(target=lambda: results.setdefault("code", main(args)))
    thread.start()
    try:
        connect(archive.dimse(), LocalAE("PROBE")).echo()  # Orthanc is up; now wait for our SCP
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                threading.Event().wait(0.1)
        for name in names:
            archive.orthanc.rest("POST", "/modalities/listener/store", archive.orthanc_id(archive.studies[name]))
    finally:
        thread.join(timeout=180)
    return results.get("code")


def test_listen_receives_a_pushed_study_and_runs_the_routed_analysis(
    archive: Archive, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = _listen(archive, tmp_path, ["chest", "mammo"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"received study {archive.studies['chest']}: 1 series, 60 instances; analyses: calcium" in out
    mammo = next(line for line in out.splitlines() if line.startswith(f"received study {archive.studies['mammo']}"))
    assert mammo.endswith("analyses: none")  # no rule for MG (it may hold the SR another test sent back)
    record = json.loads((tmp_path / "results" / archive.studies["chest"] / "calcium.json").read_text())
    assert record["agatston_total"] > 0
    database = StudyDatabase()
    assert {r.study_uid for r in database.search()} == {archive.studies["chest"], archive.studies["mammo"]}


def test_listen_with_queue_puts_routed_analyses_in_the_job_queue(
    archive: Archive, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from workstation.jobs.queue import ROUTED, JobQueue

    code = _listen(archive, tmp_path, ["chest"], "--queue")
    out = capsys.readouterr().out
    assert code == 0, out
    (job,) = JobQueue().jobs()
    assert f"study {archive.studies['chest']}: calcium queued as job {job.id}" in out
    assert (job.analysis, job.origin, job.priority, job.state) == ("calcium", "routed", ROUTED, "queued")
    assert job.study_ref is not None and len(job.study_ref.paths) == 60
    assert not (tmp_path / "results" / archive.studies["chest"]).exists()  # nothing ran here


def test_exit_codes_follow_the_fault() -> None:
    from workstation.io.pacs.errors import EXIT_CODES

    assert {EXIT_CODES[f] for f in (Fault.UNREACHABLE, Fault.TIMEOUT, Fault.AUTH, Fault.REJECTED)} == {3, 4, 5}
    assert PacsError("n", Fault.UNKNOWN_DESTINATION, "x").exit_code == 1
