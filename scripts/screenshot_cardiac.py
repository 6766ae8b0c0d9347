"""Save docs/screenshot-cardiac.png: the main window at 1366 x 768 with the cardiac function dock on the demo cine.

Opens the demo short-axis cine from the File menu, runs the analysis on the CPU, shows
the ED phase of a mid-ventricular slice with its contours and the volume-time curve.
Run from the repository root (Xvfb is started when there is no X server)::

    python scripts/screenshot_cardiac.py [--out docs/screenshot-cardiac.png] [--tab Curve]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import save_and_close, shown_window, start_xvfb_if_needed  # noqa: E402


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-cardiac.png")
    parser.add_argument("--tab", default="Curve", help="the dock's tab to show: Curve, Results, Segments, Limits")
    parser.add_argument("--demo-dir", default=None, help="where the demo cine is written (default: cache)")
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    if args.demo_dir:
        os.environ["WORKSTATION_DEMO_DIR"] = args.demo_dir
    try:
        return _shoot(Path(args.out), args.tab)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _shoot(out: Path, tab: str) -> int:
    from PySide6.QtCore import QEventLoop, Qt, QTimer


    app, context, window = shown_window()
    loop = QEventLoop()
    window.loader.series_loaded.connect(lambda *_: loop.quit())
    window.loader.failed.connect(lambda what, err: (print(f"{what}: {err}", file=sys.stderr), loop.quit()))
    QTimer.singleShot(300_000, loop.quit)
    window.open_demo("cardiac_cine")
    loop.exec()
    if context.volume is None:
        print("the demo cine did not load", file=sys.stderr)
        return 1
    dock = window.analysis_docks.show("cardiac-function")
    if dock is None:
        print("the cardiac function dock did not open", file=sys.stderr)
        return 1
    panel = window.analysis_docks.panel("cardiac-function")
    window.resizeDocks([dock], [470], Qt.Orientation.Horizontal)
    panel.start()
    waiting = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: waiting.quit() if panel.result is not None else None)
    poll.start(200)
    QTimer.singleShot(300_000, waiting.quit)
    waiting.exec()
    poll.stop()
    if panel.result is None:
        print("the analysis did not finish", file=sys.stderr)
        return 1
    titles = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    panel.tabs.setCurrentIndex(titles.index(tab))
    window.load_report.hide()
    for _ in range(30):
        app.processEvents()
    return save_and_close(app, window, window.grab(), out, panel.summary.text().splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
