"""The desktop application and the one command line of the packaged program.

::

    workstation [PATH ...] [--device auto|cpu|cuda|cuda:N] [--demo] [--layout L] [--quit-after S]
    workstation batch run calcium /data/studies --out results   (same as workstation-batch)
    workstation --self-check | --version

With no path (or with ``--demo``) the bundled demo chest CT is written once to the
cache folder and opened.  Settings (window layout, last folder, device, models
folder) persist in ``QSettings("Workstation", "Workstation")``.  Logs and crash
reports go to the log folder (:mod:`workstation.core.paths`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from workstation.core.paths import APPLICATION, ORGANIZATION

log = logging.getLogger("workstation")
BATCH_NAMES = ("workstation-batch",)
INTERNAL_ERROR = 70  # EX_SOFTWARE
USAGE_ERROR = 2
#: Qt platforms that need no display server (QT_QPA_PLATFORM).
HEADLESS_PLATFORMS = ("offscreen", "minimal", "minimalegl", "eglfs", "linuxfb", "vnc", "vkkhrdisplay")
NO_DISPLAY = ("workstation: no display found: run with a desktop session, or use `workstation batch` "
              "for headless work")


def setup_logging(level: int = logging.INFO, log_file: Optional[Path] = None) -> Optional[Path]:
    """Log to stderr and to the rotating log file (``log_file``'s folder when given)."""
    from workstation.core.logs import setup_logging as setup

    return setup("workstation", level=level, console_level=level, folder=log_file.parent if log_file else None)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="DICOM 2D/MPR/3D viewer and analyses. `workstation batch ...` runs analyses headless.",
    )
    parser.add_argument("paths", nargs="*", help="DICOM folders or files to open (default: the demo chest CT)")
    parser.add_argument("--device", default=None, help="compute device: auto, cpu, cuda or cuda:N")
    parser.add_argument("--demo", action="store_true", help="open the demo chest CT")
    parser.add_argument("--layout", default=None,
                        help="2d, mpr-1x3, mpr-2x2 or 3d: open studies in this layout, not their hanging protocol's")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.add_argument(
        "--quit-after", type=float, default=None, metavar="SECONDS",
        help="exit 0 once the window is shown and the study loaded (1 if not within SECONDS); "
        "prints the start-up times",
    )
    parser.add_argument("--self-check", action="store_true", help="check the installation and exit")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if args.device is not None:
        from workstation.compute.backend import parse_device

        try:
            parse_device(args.device)
        except ValueError as exc:
            parser.error(str(exc))
    if args.quit_after is not None and args.quit_after <= 0:
        parser.error("--quit-after needs a positive number of seconds")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the program named by the command line; returns the exit status.

    ``workstation batch ...`` (or the executable called as ``workstation-batch``) runs
    :func:`workstation.jobs.batch.main`; anything else opens the desktop application.
    """
    os.environ.setdefault("QT_API", "pyside6")
    if argv is None:
        argv = sys.argv[1:]
        if Path(sys.argv[0]).name in BATCH_NAMES:
            argv = ["batch", *argv]
    argv = list(argv)
    if argv[:1] == ["batch"]:
        from workstation.jobs.batch import main as batch_main

        return batch_main(argv[1:])
    args = parse_args(argv)
    if args.version:
        from workstation.core.paths import version_string

        print(f"workstation {version_string()}")
        return 0
    if args.self_check:
        from workstation.selfcheck import main as self_check

        return self_check()
    return run_gui(args)


def display_missing() -> bool:
    """True where the window could not open: no X11 or Wayland display and no display-free
    Qt platform chosen (Qt would abort with a message about missing libraries)."""
    if sys.platform in ("win32", "darwin") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return False
    chosen = [p.split(":", 1)[0].strip() for p in os.environ.get("QT_QPA_PLATFORM", "").split(";")]
    return not any(p in HEADLESS_PLATFORMS for p in chosen)


def run_gui(args: argparse.Namespace) -> int:
    """The desktop application with logging and crash reports set up around it."""
    from workstation.analyses import names
    from workstation.core import crash
    from workstation.core.logs import shutdown_logging
    from workstation.core.redact import add_vocabulary

    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return USAGE_ERROR
    add_vocabulary(names())  # the program's words are never taken for a patient's name
    log_file = setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    crash.install("workstation")
    try:
        fatal = crash.collect_fatal_reports()
        for report in fatal:
            log.warning("the previous session ended with a fatal error; report: %s", report)
        log.info("workstation %s starting; log file %s", _version(), log_file)
        return _run_window(args, fatal)
    except Exception as exc:
        path = crash.write_report(type(exc), exc, exc.__traceback__, where="start-up of the desktop application")
        log.exception("the application could not start")
        print(crash.tell_user(path), file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        crash.uninstall()
        shutdown_logging()


def _version() -> str:
    from workstation.core.paths import version_string

    return version_string()


def _run_window(args: argparse.Namespace, fatal_reports: Sequence[Path] = ()) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from workstation.analyses.panel_api import ViewerContext
    from workstation.compute.backend import select_backend, set_backend
    from workstation.core import crash
    from workstation.jobs.queue import open_queue
    from workstation.jobs.runner import JobRunner
    from workstation.ui.errors import ErrorReporter
    from workstation.ui.main_window import MainWindow
    from workstation.ui.settings import Settings
    from workstation.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    _set_identity(app)
    settings = Settings()
    apply_theme(app, settings.get("view/theme"))  # type: ignore[arg-type]
    reporter = ErrorReporter(show_dialogs=True, crash_reports=True)
    reporter.install()
    device = args.device or settings.get("compute/device")
    if args.device is not None:
        settings.set("compute/device", args.device)
    backend = select_backend(device)
    set_backend(backend)
    crash.set_context(device=backend.describe())
    log.info("compute backend: %s", backend.describe())
    context = ViewerContext(JobRunner(backend=backend, queue=open_queue(), work_queue=True))
    context.study_changed.connect(_forget_patient_in_logs)
    window = MainWindow(context, settings)
    reporter.parent_window = window
    if args.layout:
        window.set_layout(args.layout)
        window.layout_override = args.layout  # instead of each study's hanging protocol
    window.show()
    quitter = None
    if args.quit_after is not None:
        from workstation.ui.quit_after import QuitAfter

        quitter = QuitAfter(window, args.quit_after)
    folder_problems = _folder_problems()
    if folder_problems:
        window.notify("Folders not writable", "\n".join(folder_problems))
    if fatal_reports:
        window.notify("Previous session", f"The previous session ended unexpectedly; a report was saved to "
                      f"{fatal_reports[-1]}")
    if args.paths and not args.demo:
        QTimer.singleShot(0, lambda: window.open_paths(list(args.paths)))
    else:
        QTimer.singleShot(0, window.open_demo)
    try:
        return int(app.exec())
    finally:
        context.jobs.shutdown(10000)
        reporter.uninstall()
        del quitter


def _folder_problems() -> list[str]:
    """Per-user folders that cannot be written, each logged once with its remedy."""
    from workstation.core.paths import folder_problems

    problems = folder_problems()
    for problem in problems:
        log.warning("%s", problem)
    return problems


def _set_identity(app: Any) -> None:
    """Window icon and desktop-file name (the desktop links the window to the menu entry)."""
    from PySide6.QtGui import QIcon

    from workstation.core.paths import resource_file

    app.setDesktopFileName("workstation")
    icon = resource_file("icons", "workstation.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def _forget_patient_in_logs(study: Any) -> None:
    """Keep the loaded patient's name and ID out of logs and crash reports."""
    if study is not None:
        from workstation.core.redact import register_sensitive

        register_sensitive([study.patient_name, study.patient_id])


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
