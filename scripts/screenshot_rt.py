"""Save docs/screenshot-rt-dose.png: the demo RT plan in MPR + 3D with the RT dose dock, at 1366x768.

Run from the repository root (an X server is started with Xvfb when there is none)::

    python scripts/screenshot_rt.py [--out docs/screenshot-rt-dose.png] [--size 1366x768] [--tab DVH]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import grab_with_3d, save_and_close, shown_window, start_xvfb_if_needed  # noqa: E402


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-rt-dose.png")
    parser.add_argument("--size", default="1366x768")
    parser.add_argument("--tab", default="DVH", help="dock tab shown: Dose, Structures, DVH or Plan")
    parser.add_argument("--optimise", action="store_true", help="run the optimisation first (Plan tab)")
    parser.add_argument("--demo-dir", default=None)
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        return _shoot(Path(args.out), tuple(int(v) for v in args.size.split("x")), args.tab, args.optimise,
                      args.demo_dir)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _shoot(out: Path, size: tuple[int, ...], tab: str, optimise: bool, demo_dir: Optional[str]) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from workstation.analyses.rt_dose.demo_plan import TUMOUR_CENTRE, ensure_demo_plan

    app, context, window = shown_window(size, "mpr-2x2")
    folder = ensure_demo_plan(demo_dir)
    loop = QEventLoop()
    window.loader.series_loaded.connect(lambda *_: loop.quit())
    QTimer.singleShot(120000, loop.quit)
    window.open_paths([folder])
    loop.exec()
    if context.volume is None or context.volume.modality != "CT":
        ct = next(s for s in context.study.series if s.modality == "CT") if context.study else None
        if ct is None:
            print("the demo plan did not load", file=sys.stderr)
            return 1
        window.loader.load_series(ct)
        loop.exec()
    context.jobs.wait(60000)
    window.analysis_docks.show("rt-dose")
    panel = window.analysis_docks.panel("rt-dose")
    panel.start()
    context.jobs.wait(120000)
    for _ in range(50):
        app.processEvents()
    if optimise:
        panel.plan_tab.iterations.setValue(60)
        panel.plan_tab.compression.setCurrentText("sparse+lowrank")
        panel.plan_tab.optimise()
        context.jobs.wait(300000)
        for _ in range(50):
            app.processEvents()
    names = [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
    panel.tabs.setCurrentIndex(names.index(tab))
    volume = context.volume
    window.area.state.set_crosshair(volume.patient_to_index(TUMOUR_CENTRE))
    window.area.state.set_window(1400.0, -400.0)
    window.load_report.hide()
    viewer3d = window.area.viewer3d
    viewer3d.view.camera.elevation, viewer3d.view.camera.azimuth = 25.0, -40.0
    for _ in range(30):
        app.processEvents()
    viewer3d.surfaces.wait()
    for _ in range(30):
        app.processEvents()
    return save_and_close(app, window, grab_with_3d(window, viewer3d), out)


if __name__ == "__main__":
    raise SystemExit(main())
