"""Save docs/screenshot-coronary.png: the coronary CTA dock on the demo CTA at 1366x768.

The demo coronary CTA is written (first time only), the vessels are found automatically
from the aortic root on the CPU, and the dock shows the LAD's curved and straightened
MPR, its cross-section at the worst stenosis and its lumen-diameter plot, with the 2D
viewer's crosshair on that stenosis.  Run from the repository root (Xvfb is started
when there is no X server)::

    python scripts/screenshot_coronary.py [--out docs/screenshot-coronary.png] [--vessel LAD] [--tab Views]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional

from screenshot import save_and_close, shown_window, start_xvfb_if_needed


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-coronary.png")
    parser.add_argument("--size", default="1366x768")
    parser.add_argument("--vessel", default="LAD")
    parser.add_argument("--tab", default="Views", choices=("Views", "Vessels"))
    parser.add_argument("--demo-dir", default=None, help="where the demo series is written (default: cache)")
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        size = tuple(int(v) for v in args.size.split("x"))
        return _shoot(Path(args.out), (size[0], size[1]), args.vessel, args.tab, args.demo_dir)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _wait(app: object, done: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        if done():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _shoot(out: Path, size: tuple[int, int], vessel: str, tab: str, demo_dir: Optional[str]) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    from workstation.demo.coronary_cta import ensure_demo

    app, context, window = shown_window(size, "2d")
    folder = ensure_demo(demo_dir)
    window.open_paths([folder])
    if not _wait(app, lambda: context.volume is not None, 300):
        print("the demo did not load", file=sys.stderr)
        return 1
    context.jobs.wait(60000)
    window.load_report.hide()
    window.job_dock.hide()
    dock = window.analysis_docks.show("coronary-cta")
    assert dock is not None
    panel = window.analysis_docks.panel("coronary-cta")
    window.resizeDocks([window.browser, dock], [200, 560], Qt.Orientation.Horizontal)
    panel.start()
    if not _wait(app, lambda: panel.result is not None, 1200):
        print(f"the analysis did not finish: {panel.status.text()}", file=sys.stderr)
        return 1
    names = [v.name for v in panel.result.vessels]
    panel.views.vessel_combo.setCurrentIndex(names.index(vessel) if vessel in names else 0)
    panel.views.angle.setValue(20)
    panel.tabs.setCurrentIndex(0 if tab == "Vessels" else 1)
    window.area.state.set_window(800.0, 200.0)
    _wait(app, lambda: False, 1.0)
    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    return save_and_close(app, window, shot, out, f"vessels {', '.join(names)}; CAD-RADS {panel.result.cad_rads}")


if __name__ == "__main__":
    raise SystemExit(main())
