"""Save docs/screenshot-main.png: the main window on the demo chest CT, MPR + 3D layout.

Run from the repository root (an X server is started with Xvfb when there is none)::

    python scripts/screenshot.py [--out docs/screenshot-main.png] [--size 1600x1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional


def start_xvfb_if_needed() -> Optional[subprocess.Popen[bytes]]:
    """Start Xvfb on a free display when no X server is set; returns the process."""
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        raise SystemExit("no DISPLAY and no Xvfb: VisPy needs an X server for the 3D view")
    for number in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1920x1200x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = f":{number}"
    time.sleep(1.0)
    return proc


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshot-main.png")
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--demo-dir", default=None, help="where the demo series is written (default: cache)")
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        return _shoot(Path(args.out), tuple(int(v) for v in args.size.split("x")), args.demo_dir)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def grab_with_3d(window: Any, viewer3d: Any) -> Any:
    """The window as an RGB QImage, the 3D view painted from its own render (GL may grab black offscreen)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage, QPainter

    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    canvas = viewer3d.canvas.native
    rendered = viewer3d.render_image()
    h, w = rendered.shape[:2]
    gl_image = QImage(rendered[..., :3].copy().data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    painter = QPainter(shot)
    painter.drawImage(canvas.mapTo(window, QPoint(0, 0)), gl_image.scaled(canvas.size()))
    painter.end()
    return shot


def _shoot(out: Path, size: tuple[int, ...], demo_dir: Optional[str]) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.demo.chest_ct import ensure_demo
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_dark_theme
    from workstation.ui.transfer_functions import PRESETS

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)  # type: ignore[arg-type]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    window = MainWindow(context, settings=None)
    window.resize(size[0], size[1])
    window.set_layout("mpr-2x2")
    window.show()
    folder = ensure_demo(demo_dir)
    loop = QEventLoop()
    window.loader.series_loaded.connect(lambda *_: loop.quit())
    window.loader.failed.connect(lambda what, err: (print(f"{what}: {err}", file=sys.stderr), loop.quit()))
    QTimer.singleShot(120000, loop.quit)
    window.open_paths([folder])
    loop.exec()
    if context.volume is None:
        print("the demo did not load", file=sys.stderr)
        return 1
    context.jobs.wait(60000)  # thumbnails
    for _ in range(20):
        app.processEvents()
    volume = context.volume
    # centre the crosshair on the heart and aorta region, mediastinal window
    z, y, x = volume.shape
    window.area.state.set_crosshair((z * 0.55, y * 0.47, x * 0.5))
    window.area.state.set_window(350.0, 50.0)
    viewer3d = window.area.viewer3d
    viewer3d.set_preset(PRESETS[1])
    viewer3d.view.camera.elevation, viewer3d.view.camera.azimuth = 20.0, -30.0
    window.load_report.hide()  # shown by the scan when a folder holds non-DICOM files
    for _ in range(20):
        app.processEvents()
    shot = grab_with_3d(window, viewer3d)
    out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(out))
    print(f"saved {out} ({shot.width()}x{shot.height()})")
    window.close()
    context.jobs.wait(5000)
    import shiboken6

    del window
    shiboken6.delete(app)  # release the X connection before Xvfb goes away
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
