"""The report dock in the main window: mark a key image, insert the calcium result, sign, export;
a spoken command moves between sections."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from workstation.analyses import get
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.io.dicom import load_series, scan
from workstation.jobs.runner import JobRunner

pytestmark = pytest.mark.ui


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from workstation.ui.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    get("calcium").example(tmp_path / "study")
    study = scan([tmp_path / "study"]).studies[0]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    win = MainWindow(context, None)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    context.set_loaded(study, study.series[0], load_series(study.series[0]))
    yield win
    context.jobs.wait(10000)


def test_mark_insert_sign_export(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dock, context = window.report_dock, window.context
    assert dock.report is not None and dock.report.template == "ct-calcium-score"
    panel = window.analysis_docks.show("calcium").widget()
    panel.start()
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60000)
    dock.watcher.poll()
    assert dock.insert_result("calcium")
    findings = dock.report.section("findings")
    agatston = panel.result.agatston_total
    assert f"Agatston score {agatston:.1f}" in findings.text
    assert findings.insertions[0].items[0].value == pytest.approx(agatston)
    assert dock.items.rowCount() == len(findings.insertions[0].items)

    window.area.axial.set_index(3)
    window.area.axial.setFocus()
    record = dock.mark_key_image("Calcified plaque")
    assert record is not None and record.slice_index == 3 and record.caption == "Calcified plaque"
    assert record.sop_instance_uid == context.volume.meta["source_instances"][3].split("/")[0]
    assert dock.report.key_images == (record,) and dock.key_list.count() == 1
    assert dock.images[record.key].shape[2] == 3

    dock.sign(confirm=False)
    assert dock.report.is_final and dock.report.version >= 1 and dock.editor.isReadOnly()
    assert dock.mark_key_image("late") is None  # a final report takes no more key images

    out = tmp_path / "export"
    dock.export(out)
    qtbot.waitUntil(lambda: dock.last_export is not None, timeout=60000)
    import pydicom

    sr = pydicom.dcmread(dock.last_export.sr)
    assert sr.VerificationFlag == "VERIFIED" and sr.CompletionFlag == "COMPLETE"
    assert pydicom.dcmread(dock.last_export.kos).CurrentRequestedProcedureEvidenceSequence
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(dock.last_export.pdf), "-"], capture_output=True, text=True).stdout
        assert "Electronically signed by" in text and f"{agatston:.1f}" in text
    actions = [e["action"] for e in dock.audit.events(context.study.uid)]
    assert actions[-3:] == ["create", "sign", "export"] or actions[-2:] == ["sign", "export"]
    assert all(context.study.patient_name not in str(e) for e in dock.audit.events()) if context.study.patient_name \
        else True

    dock.add_addendum("Aortic valve calcification also present.")
    assert dock.report.addenda and [v.state for v in dock.store.versions(context.study.uid)][-2:] == ["final", "final"]
    shots = os.environ.get("WORKSTATION_SCREENSHOT_DIR")
    if shots:
        window.grab().save(str(Path(shots) / "screenshot-report.png"))


def test_spoken_command_moves_to_the_next_section(qtbot, window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.speech_audio import speak

    dock = window.report_dock
    samples = speak(tmp_path, "next section")
    start = dock.current
    with qtbot.waitSignal(dock.voice.heard, timeout=30000):
        dock.voice.press("command", use_microphone=False)
        for i in range(0, len(samples), 1600):
            dock.voice.push(samples[i:i + 1600])
        dock.voice.release()
    qtbot.waitUntil(lambda: dock.current == start + 1, timeout=5000)
    assert "next section" in dock.heard.text()


def test_no_microphone_is_a_message(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from workstation.voice.capture import CaptureError

    dock = window.report_dock

    class NoMicrophone:
        def start(self) -> None:
            raise CaptureError("no microphone found")

        def stop(self) -> None:
            pass

    dock.voice.microphone = NoMicrophone()  # type: ignore[assignment]
    with qtbot.waitSignal(dock.voice.problem) as said:
        dock.voice.press("dictation")
    assert "no microphone" in said.args[0] and not dock.voice.active
    assert "no microphone" in dock.status.text()
