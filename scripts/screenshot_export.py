"""Save docs/screenshot-export.png: the export dialog over the main window on the demo CT.

Run from the repository root (an X server is started with Xvfb when there is none)::

    python scripts/screenshot_export.py [--out docs/screenshot-export.png]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import save_and_close, shown_window, start_xvfb_if_needed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-export.png")
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        return _shoot(Path(args.out))
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _shoot(out: Path) -> int:
    from PySide6.QtCore import QEventLoop, QPoint, QTimer
    from PySide6.QtGui import QImage, QPainter

    from workstation.demo.chest_ct import ensure_demo
    from workstation.ui.export_dialog import ExportDialog

    app, context, window = shown_window()
    loop = QEventLoop()
    window.loader.series_loaded.connect(lambda *_: loop.quit())
    QTimer.singleShot(120000, loop.quit)
    window.open_paths([ensure_demo(None)])
    loop.exec()
    if context.volume is None:
        print("the demo did not load", file=sys.stderr)
        return 1
    context.jobs.wait(60000)
    window.load_report.hide()
    window.area.state.set_window(350.0, 50.0)
    dialog = ExportDialog(context, window.area, window)
    dialog.what.setCurrentIndex(dialog.what.findData("range"))
    dialog.first.setValue(20)
    dialog.last.setValue(40)
    dialog.size_mode.setCurrentIndex(1)
    dialog.width_px.setValue(1024)
    dialog.watermark.setText("NOT FOR DIAGNOSTIC USE")
    dialog.folder.setText("/home/reader/Exports/teaching")
    dialog.show()
    for _ in range(30):
        app.processEvents()
    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    painter = QPainter(shot)
    painter.drawImage(window.mapFromGlobal(dialog.mapToGlobal(QPoint(0, 0))), dialog.grab().toImage())
    painter.end()
    dialog.close()
    return save_and_close(app, window, shot, out)


if __name__ == "__main__":
    raise SystemExit(main())
