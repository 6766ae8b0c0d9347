"""Save screenshots of the main window under Xvfb: the demo chest CT and the hanging protocols.

Run from the repository root (an X server is started with Xvfb when there is none)::

    python scripts/screenshot.py [--scene main|mammography|ct-mpr|ct-prior|cine|all] [--size 1600x1000]

``main`` writes docs/screenshot-main.png (chest CT, MPR + 3D); the hanging scenes write
docs/hanging-<scene>.png: the four-view mammogram with its CAD marks, the chest CT in
the CT MPR 2x2 protocol, the chest CT beside a prior of the same patient, and an
ultrasound cine loop of pydicom's test files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

SCENES = ("main", "mammography", "ct-mpr", "ct-prior", "cine")


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
    parser.add_argument("--scene", default="all", choices=(*SCENES, "all"))
    parser.add_argument("--out", default="docs", help="folder of the PNG files")
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--demo-dir", default=None,
                        help="where the demo series are written (default: a temporary folder)")
    args = parser.parse_args(argv)
    xvfb = start_xvfb_if_needed()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    demo = Path(args.demo_dir) if args.demo_dir else Path(tempfile.mkdtemp(prefix="ws-shots-"))
    os.environ.setdefault("WORKSTATION_DEMO_DIR", str(demo / "demo"))
    os.environ.setdefault("XDG_DATA_HOME", str(demo / "data"))
    try:
        scenes = SCENES if args.scene == "all" else (args.scene,)
        return _shoot(Path(args.out), tuple(int(v) for v in args.size.split("x")), scenes, demo)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _wait(app: Any, predicate: Callable[[], bool], seconds: float = 120.0) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.02)
    return False


def grab_with_3d(window: Any, viewer3d: Any = None) -> Any:
    """The window as an RGB QImage, the 3D view painted from its own render (Xvfb grabs GL black)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage, QPainter

    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    if viewer3d is not None and viewer3d.isVisible() and hasattr(viewer3d, "canvas"):
        canvas = viewer3d.canvas.native
        rendered = viewer3d.render_image()
        h, w = rendered.shape[:2]
        gl_image = QImage(rendered[..., :3].copy().data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        painter = QPainter(shot)
        painter.drawImage(canvas.mapTo(window, QPoint(0, 0)), gl_image.scaled(canvas.size()))
        painter.end()
    return shot


def shown_window(size: tuple[int, ...] = (1366, 768), layout: str = "") -> tuple[Any, Any, Any]:
    """(app, context, window): the main window in the dark theme, on the CPU, keeping no
    settings, at ``size`` in ``layout`` (the default: the window's own), shown."""
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)  # type: ignore[arg-type]
    context = ViewerContext(JobRunner(backend=cpu_backend()))
    window = MainWindow(context, settings=None)
    window.resize(size[0], size[1])
    if layout:
        window.set_layout(layout)
    window.show()
    return app, context, window


def save_and_close(app: Any, window: Any, shot: Any, out: Path, note: str = "") -> int:
    """Save ``shot`` to ``out``, close ``window`` and release the X connection (before Xvfb goes)."""
    import shiboken6

    out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(out))
    print(f"saved {out} ({shot.width()}x{shot.height()})" + (f"; {note}" if note else ""))
    window.close()
    window.context.jobs.wait(5000)
    del window
    shiboken6.delete(app)
    return 0


def _grab(window: Any, out: Path) -> None:
    shot = grab_with_3d(window, window.area.viewer3d if window.area.has_viewer3d() else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(out))
    print(f"saved {out} ({shot.width()}x{shot.height()})")


def _open(app: Any, window: Any, paths: list[Path]) -> None:
    done: list[bool] = []
    window.loader.series_loaded.connect(lambda *_: done.append(True))
    window.loader.failed.connect(lambda what, err: (print(f"{what}: {err}", file=sys.stderr), done.append(False)))
    window.open_paths(paths)
    _wait(app, lambda: bool(done))
    window.context.jobs.wait(60000)
    _wait(app, lambda: False, 0.5)


def _annotate(app: Any, view: Any) -> None:
    """A distance across the heart, an ROI in the aorta and an angle, drawn with the mouse."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    def click(r: float, c: float) -> None:
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.view_pos_of(r, c).toPoint())
        app.processEvents()

    rows, cols = view.display_shape()
    for tool, points in (("distance", [(0.40, 0.36), (0.40, 0.64)]), ("roi_ellipse", [(0.66, 0.45), (0.74, 0.53)]),
                         ("angle", [(0.22, 0.30), (0.30, 0.22), (0.38, 0.30)])):
        view.state.set_tool(tool)
        for r, c in points:
            click(r * rows, c * cols)
    view.state.set_tool("navigate")


def _prior_copy(folder: Path, target: Path) -> Path:
    """The chest CT again as an earlier study of the same patient, 12 mm further down the table."""
    import numpy as np
    import pydicom
    from pydicom.uid import generate_uid

    target.mkdir(parents=True, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    for path in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyDate = "20230115"
        ds.StudyDescription = "Prior chest CT"
        position = [float(v) for v in ds.ImagePositionPatient]
        ds.ImagePositionPatient = [position[0], position[1], position[2] - 12.0]
        pixels = ds.pixel_array.astype(np.int32)
        ds.PixelData = np.clip(pixels - 15, 0, 65535).astype(ds.pixel_array.dtype).tobytes()
        ds.save_as(target / path.name, enforce_file_format=True)
    return target


def _shoot(out: Path, size: tuple[int, ...], scenes: tuple[str, ...], work: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import cpu_backend
    from workstation.jobs.runner import JobRunner
    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_dark_theme
    from workstation.ui.transfer_functions import PRESETS

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)  # type: ignore[arg-type]
    for scene in scenes:
        context = ViewerContext(JobRunner(backend=cpu_backend()))
        window = MainWindow(context, settings=None, protocols_folder=work / "protocols")
        window.resize(size[0], size[1])
        window.show()
        if scene in ("main", "ct-mpr", "ct-prior"):
            from workstation.demo.chest_ct import ensure_demo

            folder = ensure_demo(None)
            paths = [folder] + ([_prior_copy(folder, work / "prior")] if scene == "ct-prior" else [])
            if scene == "ct-prior":
                _open(app, window, paths[1:])  # the prior is opened first, then the current study
            _open(app, window, paths[:1])
            volume = context.volume
            z, y, x = volume.shape
            window.area.state.set_crosshair((z * 0.55, y * 0.47, x * 0.5))
            window.area.state.set_window(350.0, 50.0)
            if scene == "main":
                window.set_layout("mpr-2x2")
            if scene == "ct-mpr":
                _annotate(app, window.area.axial)
            if window.area.has_viewer3d() and hasattr(window.area.viewer3d, "set_preset"):
                viewer3d = window.area.viewer3d
                viewer3d.set_preset(PRESETS[1])
                viewer3d.view.camera.elevation, viewer3d.view.camera.azimuth = 20.0, -30.0
        elif scene == "mammography":
            from workstation.demo.mammo import ensure_demo_mammo

            _open(app, window, [ensure_demo_mammo(None)])
            dock = window.analysis_docks.show("mammo-cad")
            panel = window.analysis_docks.panel("mammo-cad")
            assert dock is not None and panel is not None
            panel.start()
            _wait(app, lambda p=panel: p.result is not None, 120)
            dock.hide()
        elif scene == "cine":
            import pydicom

            _open(app, window, [Path(pydicom.__file__).parent / "data" / "test_files" / "examples_ybr_color.dcm"])
            viewport = window.area.image_viewports[0]
            viewport.cine.set_index(12)
        window.load_report.hide()
        window.job_dock.hide() if scene != "main" else None
        _wait(app, lambda: False, 1.0)
        name = "screenshot-main.png" if scene == "main" else f"hanging-{scene}.png"
        _grab(window, out / name)
        window.close()
        context.jobs.wait(5000)
    import shiboken6

    shiboken6.delete(app)  # release the X connection before Xvfb goes away
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
