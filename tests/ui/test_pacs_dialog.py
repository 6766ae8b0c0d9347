"""The PACS dialog against a real Orthanc: add a node, query, retrieve, open, see the image; send; receive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import PASSWORD, USER, Orthanc, free_port, orthanc_or_skip
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from workstation.compute.windowing import window_to_uint8
from workstation.demo.chest_ct import write_chest_ct
from workstation.io import dicom
from workstation.io.pacs.config import read_settings_file
from workstation.io.pacs.nodes import Auth, DicomWebNode, DimseNode, LocalAE
from workstation.ui.main_window import MainWindow
from workstation.ui.pacs_send import confirm_text

pytestmark = [pytest.mark.integration, pytest.mark.ui]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Orthanc, Path]]:
    server = orthanc_or_skip(tmp_path_factory.mktemp("orthanc"))
    try:
        folder = tmp_path_factory.mktemp("chest")
        write_chest_ct(folder, n_slices=46)
        server.upload(sorted(folder.glob("*.dcm")))
        yield server, folder
    finally:
        server.stop()


@pytest.fixture
def window(make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    for variable in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv("WORKSTATION_PACS_SECRET", PASSWORD)
    win = make_window(settings=True, size=(1300, 760))
    yield win
    win.context.jobs.cancel_all()
    win.context.jobs.wait(10000)
    win.close()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):  # notices such as "Study received"
            widget.close()


def test_query_retrieve_open_and_see_the_image(qtbot: QtBot, window: MainWindow, orthanc: tuple[Orthanc, Path],
                                              tmp_path: Path) -> None:
    server, folder = orthanc
    dialog = window.pacs.show_dialog()
    editor = dialog.nodes.add()
    editor.name.setText("Orthanc web")
    editor.kind.setCurrentIndex(1)
    editor.url.setText(server.dicomweb_url)
    editor.auth.setCurrentText("basic")
    editor.username.setText(USER)
    editor.accept()
    assert dialog.nodes.list.count() == 1 and editor.error.text() == ""
    assert window.settings is not None
    window.settings.sync()
    saved = read_settings_file(tmp_path / "settings.ini")  # what the batch command reads, without Qt
    assert saved.by_name["Orthanc web"] == DicomWebNode("Orthanc web", server.dicomweb_url, Auth("basic", USER))
    assert PASSWORD not in (tmp_path / "settings.ini").read_text()

    dialog.nodes.test()
    qtbot.waitUntil(lambda: "OK" in dialog.nodes.status.text(), timeout=15000)
    dialog.form.patient_name.setText("demo*")
    dialog.form.search.click()
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 1, timeout=15000)
    study_uid = str(pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True).StudyInstanceUID)
    study_item = dialog.results.study_item(study_uid)
    assert (study_item.text(2), study_item.text(3), study_item.text(6)) == ("2024-01-15", "CT", "46")
    study_item.setExpanded(True)
    qtbot.waitUntil(lambda: study_item.childCount() == 1 and (study_item.child(0) or study_item).text(3) == "CT",
                    timeout=15000)
    dialog.results.clearSelection()
    study_item.setSelected(True)
    dialog.open_button.click()
    qtbot.waitUntil(lambda: window.context.volume is not None, timeout=60000)

    volume, expected = window.context.volume, dicom.load(folder)
    assert volume is not None
    np.testing.assert_array_equal(volume.array, expected.array)
    view = window.area.axial
    assert view.plane is not None
    gray = view.rendered_gray()
    assert gray is not None and gray.shape == (512, 512) and gray.std() > 10  # an image, not a blank view
    shown = window_to_uint8(view.plane.extract(expected.array, view.index), view.state.width, view.state.level)
    np.testing.assert_array_equal(gray, shown)
    titles = [row.job.title for row in window.job_dock.rows]
    assert "Retrieve CT #1 (46 images)" in titles
    retrieve_row = next(r for r in window.job_dock.rows if r.job.title == "Retrieve CT #1 (46 images)")
    assert retrieve_row.state_label.text() == "done" and retrieve_row.bar.value() == 1000
    dialog.close()


def test_local_database_reopens_without_the_pacs_and_send_names_the_node(
    qtbot: QtBot, window: MainWindow, orthanc: tuple[Orthanc, Path], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path
) -> None:
    server, folder = orthanc
    node = DimseNode("Orthanc DIMSE", server.aet, "127.0.0.1", server.dicom_port, timeout_s=20.0)
    service = window.pacs.service
    service.save(replace(service.config, nodes=[node]))
    dialog = window.pacs.show_dialog()
    dialog.search()
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 1, timeout=15000)
    patient = dialog.results.topLevelItem(0)
    assert patient is not None
    patient.setSelected(True)
    with qtbot.waitSignal(dialog.retrieval.study_done, timeout=60000):
        dialog.retrieve_button.click()
    dialog.close()
    dock = window.pacs.dock
    dock.name.setText("chest")
    dock.search()
    where = dock.table.item(0, 7)
    assert dock.table.rowCount() == 1 and where is not None and where.text() == "cache"

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("reopening from the local database must not call the PACS")

    monkeypatch.setattr("workstation.io.pacs.client.connect", no_network)
    monkeypatch.setattr("workstation.ui.pacs_service.connect", no_network)
    dock.open_row(0)
    qtbot.waitUntil(lambda: window.context.volume is not None, timeout=30000)
    reopened = window.context.volume
    assert reopened is not None
    np.testing.assert_array_equal(reopened.array, dicom.load(folder).array)
    monkeypatch.undo()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg_data_home"))

    from workstation.analyses.segmentation.artifacts import write_dicom_seg

    labels = np.zeros(reopened.shape, np.uint8)
    labels[10:20, 200:260, 220:300] = 1
    results = tmp_path / "results"
    seg = write_dicom_seg(labels, dicom.load(folder), sorted(folder.glob("*.dcm")), {1: "heart"},
                          results / "seg.dcm", model="test", version="1")
    asked: list[str] = []
    def answer_yes(parent: object, title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_yes)
    window.pacs.send_to_pacs.send_paths([results], node)
    qtbot.waitUntil(lambda: bool(server.rest("POST", "/tools/lookup",
                                             raw=str(pydicom.dcmread(seg).SOPInstanceUID).encode())), timeout=30000)
    assert asked == [f"Send 1 DICOM files (1 SEG) to Orthanc DIMSE\n{node.address}?"]


def test_confirmation_names_the_node_and_what_goes() -> None:
    node = DimseNode("Main PACS", "ORTHANC", "pacs", 4242)
    files = [(Path("seg.dcm"), "1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.1.2.1"),
             (Path("sr.dcm"), "1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.1.2.1")]
    assert confirm_text(files, node) == "Send 2 DICOM files (1 SEG, 1 SR) to Main PACS\ndicom://ORTHANC@pacs:4242?"


def test_pushed_studies_are_received_and_listed(qtbot: QtBot, window: MainWindow,
                                                orthanc: tuple[Orthanc, Path]) -> None:
    server, folder = orthanc
    service = window.pacs.service
    service.stable_s = 1.0  # a study is complete after 1 s without new instances
    port = free_port()
    service.save(replace(service.config, local=LocalAE("WSGUI", port, "127.0.0.1"), listen=True))
    assert service.listening
    server.register_modality("gui", "WSGUI", port)
    study_uid = str(pydicom.dcmread(next(folder.glob("*.dcm")), stop_before_pixels=True).StudyInstanceUID)
    found = server.rest("POST", "/tools/lookup", raw=study_uid.encode())
    with qtbot.waitSignal(service.study_received, timeout=60000) as received:
        server.rest("POST", "/modalities/gui/store", next(i["ID"] for i in found if i["Type"] == "Study"))
    record = received.args[0]
    assert record.study_uid == study_uid
    assert [s.n_instances for s in record.series if s.is_image] == [46]  # (and any SEG another test sent)
    window.pacs.dock.search()
    assert window.pacs.dock.table.rowCount() == 1
    service.save(replace(service.config, listen=False))
    assert not service.listening


def test_settings_dialog_pacs_page_stores_nodes_and_our_ae(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from workstation.ui.pacs_page import PacsPage
    from workstation.ui.settings_dialog import PAGES, PacsPlaceholderPage

    dialog = window.menus.open_settings()
    assert dialog is not None
    qtbot.addWidget(dialog)
    page = dialog.pages["pacs"]
    assert isinstance(page, PacsPage)
    editor = page.nodes.add()
    editor.name.setText("Main PACS")
    editor.ae_title.setText("MAINPACS")
    editor.host.setText("pacs.example.org")
    editor.port.setValue(11112)
    editor.accept()
    assert page.nodes.list.count() == 1 and editor.error.text() == ""
    page.local.ae_title.setText("READING1")
    page.local.port.setValue(11200)
    assert dialog.apply()
    saved = read_settings_file(tmp_path / "settings.ini")
    assert saved.by_name["Main PACS"] == DimseNode("Main PACS", "MAINPACS", "pacs.example.org", 11112)
    assert (saved.local.ae_title, saved.local.store_port) == ("READING1", 11200)
    page.local.ae_title.setText("A TITLE FAR TOO LONG FOR DICOM")
    assert not dialog.apply()
    assert dialog.problem.text().startswith("PACS nodes:") and "not a valid AE title" in dialog.problem.text()
    assert read_settings_file(tmp_path / "settings.ini").local.ae_title == "READING1"
    dialog.close()
    window.close()
    assert PAGES["pacs"][1] is PacsPlaceholderPage  # no page left bound to the closed window
