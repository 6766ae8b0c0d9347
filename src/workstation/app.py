"""The desktop application: ``workstation [PATH ...] [--device auto|cpu|cuda|cuda:N] [--demo]``.

With no path (or with ``--demo``) the bundled demo chest CT is written once to the
cache folder and opened.  Settings (window layout, last folder, device, models
folder) persist in ``QSettings("Workstation", "Workstation")``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

log = logging.getLogger("workstation")
ORGANIZATION = "Workstation"
APPLICATION = "Workstation"


def setup_logging(level: int = logging.INFO, log_file: Optional[Path] = None) -> None:
    """Log to stderr and, when given, to ``log_file`` (no patient data is logged)."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workstation", description="DICOM 2D/MPR/3D viewer and analyses.")
    parser.add_argument("paths", nargs="*", help="DICOM folders or files to open (default: the demo chest CT)")
    parser.add_argument("--device", default=None, help="compute device: auto, cpu, cuda or cuda:N")
    parser.add_argument("--demo", action="store_true", help="open the demo chest CT")
    parser.add_argument("--layout", default=None, help="2d, mpr-1x3, mpr-2x2 or 3d")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.device is not None:
        from workstation.compute.backend import parse_device

        try:
            parse_device(args.device)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the application; returns the exit status."""
    args = parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import select_backend, set_backend
    from workstation.jobs.runner import JobRunner
    from workstation.ui.errors import ErrorReporter
    from workstation.ui.main_window import MainWindow
    from workstation.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    apply_dark_theme(app)  # type: ignore[arg-type]
    reporter = ErrorReporter(show_dialogs=True)
    reporter.install()
    settings = QSettings(ORGANIZATION, APPLICATION)
    device = args.device or str(settings.value("compute/device", "auto"))
    if args.device is not None:
        settings.setValue("compute/device", args.device)
    backend = select_backend(device)
    set_backend(backend)
    log.info("compute backend: %s", backend.describe())
    context = ViewerContext(JobRunner(backend=backend))
    window = MainWindow(context, settings)
    if args.layout:
        window.set_layout(args.layout)
    window.show()
    if args.paths and not args.demo:
        QTimer.singleShot(0, lambda: window.open_paths(list(args.paths)))
    else:
        QTimer.singleShot(0, window.open_demo)
    try:
        return int(app.exec())
    finally:
        context.jobs.cancel_all()
        context.jobs.wait(10000)
        reporter.uninstall()


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("QT_API", "pyside6")
    raise SystemExit(main())
