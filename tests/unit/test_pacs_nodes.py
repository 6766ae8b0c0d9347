"""PACS nodes, server strings, credentials, queries and settings: no network needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest

from workstation.io.pacs import credentials
from workstation.io.pacs.config import (
    PacsSettings,
    ini_group,
    read_settings_file,
    settings_from,
    unescape_qt,
)
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import (
    Auth,
    DicomWebNode,
    DimseNode,
    LocalAE,
    Node,
    Tls,
    node_from_dict,
    node_to_dict,
    nodes_from_json,
    parse_server,
)
from workstation.io.pacs.query import (
    Query,
    StudyRow,
    find_identifier,
    matches,
    parse_date_range,
    qido_filters,
    row_from_json,
)


def test_dimse_server_strings() -> None:
    node = parse_server("dicom://ORTHANC@pacs.example.org:4242")
    assert isinstance(node, DimseNode)
    assert (node.ae_title, node.host, node.port, node.tls) == ("ORTHANC", "pacs.example.org", 4242, None)
    assert node.label == "dicom://ORTHANC@pacs.example.org:4242"
    tls = parse_server("dicom+tls://MY%20PACS@[::1]:2762", retrieve="move", timeout_s=3)
    assert isinstance(tls, DimseNode)
    assert (tls.ae_title, tls.host, tls.port, tls.retrieve, tls.timeout_s) == ("MY PACS", "::1", 2762, "move", 3)
    assert tls.tls == Tls()
    assert parse_server("dicom://A@h").port == 104  # type: ignore[union-attr]


def test_dicomweb_server_strings() -> None:
    node = parse_server("dicomweb+https://alice@pacs.example.org:8443/dicom-web/")
    assert isinstance(node, DicomWebNode)
    assert node.url == "https://pacs.example.org:8443/dicom-web"
    assert node.auth == Auth("basic", "alice") and node.tls == Tls()
    assert node.label == "dicomweb+https://alice@pacs.example.org:8443/dicom-web"
    plain = parse_server("dicomweb+http://127.0.0.1:8042/dicom-web")
    assert isinstance(plain, DicomWebNode) and plain.auth.kind == "none" and plain.tls is None


@pytest.mark.parametrize(("text", "words"), [
    ("dicomweb+https://alice:secret@host/dicom-web", "holds a password"),
    ("dicom://host:104", "CALLED_AET@host:port"),
    ("dicom://A@host:99999", "port"),
    ("dicom://THIS_AE_TITLE_IS_TOO_LONG@host:104", "not a valid AE title"),
    ("ftp://host/x", "unknown scheme"),
    ("Main PACS", "no PACS node of this name"),
])
def test_bad_server_strings_name_the_fault(text: str, words: str) -> None:
    with pytest.raises(PacsError) as caught:
        parse_server(text)
    assert caught.value.fault is Fault.CONFIG and words in str(caught.value)
    assert "secret" not in str(caught.value)


def test_named_nodes_round_trip_through_json() -> None:
    nodes: list[Node] = [
        DimseNode("Main PACS", "ORTHANC", "10.0.0.5", 4242, retrieve="move", timeout_s=12.0),
        DicomWebNode("Cloud", "https://cloud.example.org/dicom-web", Auth("bearer"),
                     Tls(ca_file="/etc/ssl/ca.pem"), parallel=6),
    ]
    text = "[" + ",".join(json.dumps(node_to_dict(n)) for n in nodes) + "]"
    back, problems = nodes_from_json(text)
    assert back == nodes and problems == []
    assert parse_server("main pacs", {n.name: n for n in back}) == nodes[0]
    assert "secret" not in text and "password" not in text


def test_bad_node_entries_are_skipped_with_a_reason() -> None:
    nodes, problems = nodes_from_json('[{"kind": "dimse", "name": "x", "ae_title": "A", "host": "h", "port": 0},'
                                      '{"kind": "dicomweb", "name": "y", "url": "https://u:p@h/x"},'
                                      '{"kind": "dimse", "name": "ok", "ae_title": "A", "host": "h", "port": 11}]')
    assert [n.name for n in nodes] == ["ok"]
    assert len(problems) == 2 and "PACS x" in problems[0] and "PACS y" in problems[1]
    with pytest.raises(PacsError):
        node_from_dict({"kind": "tape"})


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend keeping secrets in a dict: the real keyring API, no system store."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    for name in ("WORKSTATION_PACS_SECRET", "WORKSTATION_PACS_SECRET_MAIN_PACS"):
        monkeypatch.delenv(name, raising=False)
    yield memory
    keyring.set_keyring(previous)


def test_secrets_come_from_the_environment_then_the_keyring(memory_keyring: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    node = DicomWebNode("Main PACS", "https://h/dicom-web", Auth("basic", "alice"))
    assert credentials.env_name(node) == "WORKSTATION_PACS_SECRET_MAIN_PACS"
    with pytest.raises(PacsError) as caught:
        credentials.require_secret(node)
    assert caught.value.fault is Fault.AUTH and "WORKSTATION_PACS_SECRET_MAIN_PACS" in str(caught.value)
    credentials.store_secret(node, "from-keyring")
    assert memory_keyring.store == {("workstation-pacs:Main PACS", "alice"): "from-keyring"}
    assert credentials.find_secret(node) == "from-keyring"
    monkeypatch.setenv("WORKSTATION_PACS_SECRET", "generic")
    assert credentials.find_secret(node) == "generic"
    monkeypatch.setenv("WORKSTATION_PACS_SECRET_MAIN_PACS", "own")
    assert credentials.find_secret(node) == "own"
    credentials.store_secret(node, "")
    assert memory_keyring.store == {}


def test_query_keys_for_cfind_and_qido() -> None:
    query = Query(patient_name="DOE^J*", patient_id="123", date_from=date(2024, 1, 1), date_to=date(2024, 1, 31),
                  modality="ct", accession="A 1")
    study = find_identifier("STUDY", query)
    assert (study.QueryRetrieveLevel, study.PatientName, study.PatientID) == ("STUDY", "DOE^J*", "123")
    assert (study.StudyDate, study.ModalitiesInStudy, study.AccessionNumber) == ("20240101-20240131", "CT", "A 1")
    assert study.NumberOfStudyRelatedInstances == "" and study.StudyInstanceUID == ""
    series = find_identifier("SERIES", Query(study_uid="1.2.3", modality="MR", patient_name="x"))
    assert (series.StudyInstanceUID, series.Modality) == ("1.2.3", "MR") and "PatientName" not in series
    filters, loosened = qido_filters("STUDY", query)
    assert filters["PatientName"] == "DOE*J*" and filters["AccessionNumber"] == "A*1" and loosened
    assert qido_filters("STUDY", Query(patient_id="ID-7"))[1] is False


def test_wider_qido_answers_are_narrowed_with_dicom_matching() -> None:
    query = Query(patient_name="doe^j*")
    assert matches(StudyRow("1", patient_name="DOE^JANE"), query)
    assert not matches(StudyRow("2", patient_name="DOE JANE"), query)
    assert not matches(StudyRow("3", patient_name="DOEXJANE"), query)
    assert matches(StudyRow("4", accession="A 1"), Query(accession="A 1"))
    assert not matches(StudyRow("5", accession="A-1"), Query(accession="A 1"))


def test_date_ranges() -> None:
    assert parse_date_range("20240105") == (date(2024, 1, 5), date(2024, 1, 5))
    assert parse_date_range("20240101-20240131") == (date(2024, 1, 1), date(2024, 1, 31))
    assert parse_date_range("-20240131") == (None, date(2024, 1, 31))
    assert Query(date_from=date(2024, 1, 1)).date_range == "20240101-"
    for bad in ("2024", "20241301", "20240201-20240101", "-"):
        with pytest.raises(ValueError):
            parse_date_range(bad)


def test_dicom_json_rows_with_missing_attributes_are_unknown() -> None:
    row = row_from_json("STUDY", {"0020000D": {"vr": "UI", "Value": ["1.2.3"]},
                                  "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]},
                                  "00080061": {"vr": "CS", "Value": ["CT", "SR"]}})
    assert isinstance(row, StudyRow)
    assert (row.study_uid, row.patient_name, row.modalities) == ("1.2.3", "DOE^JANE", ("CT", "SR"))
    assert row.n_instances is None and row.study_date == ""


def test_settings_round_trip_and_bad_values_fall_back() -> None:
    settings = PacsSettings(nodes=[DimseNode("a", "A", "h", 11)], local=LocalAE("ME", 11113), listen=True,
                            cache_limit_gb=5.0)
    values = settings.values()
    back = settings_from(values.get)
    assert (back.nodes, back.local, back.listen, back.cache_limit_gb, back.problems) == (
        settings.nodes, settings.local, True, 5.0, [])
    bad = settings_from({"store_port": "port", "local_aet": "", "cache_limit_gb": "lots", "routing": "[{}]"}.get)
    assert bad.local == LocalAE() and len(bad.problems) == 3


def test_qt_ini_values_are_unescaped() -> None:
    assert unescape_qt(r'"[{\"name\": \"a, b\"}]"') == '[{"name": "a, b"}]'
    assert unescape_qt(r'"caf\xe9 \\ end"') == "café \\ end"
    text = '[General]\nx=1\n\n[pacs]\nlocal_aet=ME\nnodes="[]"\nstate=@ByteArray(abc)\n'
    assert ini_group(text, "pacs") == {"local_aet": "ME", "nodes": "[]"}


def test_settings_file_is_read_without_qt(tmp_path: Any) -> None:
    conf = tmp_path / "Workstation.conf"
    conf.write_text('[pacs]\nlocal_aet=READER\nstore_port=4000\n'
                    'nodes="[{\\"kind\\": \\"dimse\\", \\"name\\": \\"n\\", \\"ae_title\\": \\"X\\", '
                    '\\"host\\": \\"h\\", \\"port\\": 1}]"\n')
    settings = read_settings_file(conf)
    assert settings.local == LocalAE("READER", 4000) and settings.by_name["n"] == DimseNode("n", "X", "h", 1)
    assert read_settings_file(tmp_path / "absent.conf").nodes == []


def test_file_meta_of_received_instances_matches_pydicoms_writer() -> None:
    from pydicom.dataset import FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

    from workstation.io.pacs.transfer import IMPLEMENTATION_VERSION, part10_header

    for sop_class, sop, syntax in (("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.5", "1.2.840.10008.1.2.1"),
                                   ("1.2.840.10008.5.1.4.1.1.66.4", "1.2.3.44", "1.2.840.10008.1.2.4.90")):
        meta = FileMetaDataset()
        meta.FileMetaInformationVersion = b"\x00\x01"
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = UID(sop_class), UID(sop)
        meta.TransferSyntaxUID = UID(syntax)
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION
        reference = DicomBytesIO()
        write_file_meta_info(reference, meta, enforce_standard=True)
        assert part10_header(sop_class, sop, syntax) == b"\x00" * 128 + b"DICM" + reference.getvalue()
