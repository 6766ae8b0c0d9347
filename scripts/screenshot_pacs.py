"""Save docs/screenshot-pacs.png: the PACS dialog with query results from a real Orthanc.

Starts Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``) on free loopback ports with
the demo studies uploaded, opens the main window and the PACS dialog under Xvfb,
queries, expands a study and retrieves one series (so the job dock shows it), and
grabs the dialog.  Run from the repository root::

    python scripts/screenshot_pacs.py [--out docs/screenshot-pacs.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests"), str(ROOT / "tests" / "integration")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-pacs.png")
    args = parser.parse_args(argv)
    from screenshot import start_xvfb_if_needed

    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    work = Path(tempfile.mkdtemp(prefix="screenshot-pacs-"))
    for variable in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ[variable] = str(work / variable.lower())
    try:
        return _shoot(Path(args.out), work)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _wait(app: object, condition: object, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def _shoot(out: Path, work: Path) -> int:
    from orthanc_server import PASSWORD, USER, start_orthanc
    from pacs_archive import write_demo_studies
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.io.pacs.nodes import Auth, DicomWebNode, DimseNode, Node
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow
    from workstation.ui.pacs_query import KIND_ROLE
    from workstation.ui.theme import apply_dark_theme

    orthanc = start_orthanc(work / "orthanc")
    try:
        for files in write_demo_studies(work / "studies").values():
            orthanc.upload(files)
        os.environ["WORKSTATION_PACS_SECRET"] = PASSWORD
        app = QApplication.instance() or QApplication([])
        apply_dark_theme(app)  # type: ignore[arg-type]
        settings = QSettings(str(work / "Workstation.conf"), QSettings.Format.IniFormat)
        window = MainWindow(ViewerContext(JobRunner(backend=cpu_backend())), settings)
        window.resize(1366, 768)
        window.show()
        service = window.pacs.service
        from dataclasses import replace

        nodes: list[Node] = [DimseNode("Radiology PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port),
                 DicomWebNode("Radiology DICOMweb", orthanc.dicomweb_url, Auth("basic", USER))]
        service.save(replace(service.config, nodes=nodes))
        dialog = window.pacs.show_dialog()
        dialog.nodes.refresh()
        dialog.nodes.list.setCurrentRow(0)
        dialog.search()
        _wait(app, lambda: dialog.results.topLevelItemCount() >= 3)
        chest = next(uid for uid, row in dialog.results.studies.items() if row.patient_id == "DEMO-0001")
        item = dialog.results.study_item(chest)
        item.setExpanded(True)
        _wait(app, lambda: item.childCount() == 1 and (item.child(0) or item).data(0, KIND_ROLE) == "series")
        dialog.results.clearSelection()
        item.setSelected(True)
        dialog.retrieve(open_after=True)
        context = window.context
        _wait(app, lambda: context.volume is not None)
        context.jobs.wait(30000)
        for _ in range(30):
            app.processEvents()
        dialog.raise_()
        shot = dialog.grab()
        out.parent.mkdir(parents=True, exist_ok=True)
        shot.save(str(out))
        window.pacs.dock.raise_()
        window.pacs.dock.search()
        for _ in range(30):
            app.processEvents()
        window.grab().save(str(out.with_name(out.stem + "-database.png")))
        print(f"saved {out} ({shot.width()}x{shot.height()})")
        dialog.close()
        window.close()
        window.context.jobs.wait(5000)
        import shiboken6

        del window
        shiboken6.delete(app)
    finally:
        orthanc.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
