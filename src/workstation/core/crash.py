"""Crash reports: a readable file for every uncaught exception or fatal error.

A report holds the time, version, platform, compute device, where it happened and the
traceback, passed through :func:`workstation.core.redact.redact` (no patient data).
Reports are ``crash-<time>-<pid>.txt`` files in the log folder.

:func:`install` also enables :mod:`faulthandler` into ``fatal-<pid>.txt``: a hard crash
(segmentation fault, abort) leaves that file behind, and the next start turns it into a
crash report and says so (:func:`collect_fatal_reports`); a clean exit removes it.
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Callable, Optional

from workstation.core import paths
from workstation.core.redact import redact

ExcInfo = tuple[type[BaseException], BaseException, Optional[TracebackType]]
_context: dict[str, str] = {}
_state: dict[str, Any] = {}
FATAL_MARKERS = ("Fatal Python error", "Current thread", "Thread 0x")
_serial = itertools.count(1)


def set_context(**values: str) -> None:
    """Facts every later report names, e.g. ``device="CPU (NumPy)"``, ``program="batch"``."""
    _context.update({k: str(v) for k, v in values.items()})
    fatal = _state.get("fatal_file")
    if fatal is not None:
        for key, value in values.items():
            fatal.write(f"{key}: {redact(str(value))}\n")
        fatal.flush()


def _header(title: str) -> list[str]:
    return [
        f"Workstation {title}",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"version: {paths.version_string()}",
        f"platform: {platform.platform()}; Python {platform.python_version()}",
        f"pid: {os.getpid()}",
    ]


def report_text(exc_type: type[BaseException], exc: BaseException, tb: Optional[TracebackType], where: str) -> str:
    """The text of a crash report for one exception (redacted)."""
    lines = _header("crash report") + [f"where: {where}"]
    lines += [f"{key}: {value}" for key, value in sorted(_context.items())]
    lines += ["", "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()]
    return redact("\n".join(lines)) + "\n"


def write_report(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: Optional[TracebackType],
    where: str = "uncaught exception",
    folder: Optional[Path] = None,
) -> Optional[Path]:
    """Write a report file and return its path (``None`` when it cannot be written)."""
    target = folder or paths.log_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = target / f"crash-{stamp}-{os.getpid()}-{next(_serial)}.txt"
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(report_text(exc_type, exc, tb, where), encoding="utf-8")
    except OSError:
        return None
    return path


def tell_user(path: Optional[Path], program: str = "workstation") -> str:
    """The one-line message for the user after a report was (or could not be) written."""
    if path is None:
        return f"{program}: an internal error occurred; no crash report could be written"
    return f"{program}: an internal error occurred; a crash report was saved to {path}"


def _excepthook(previous: Callable[..., Any], program: str) -> Callable[..., None]:
    def hook(exc_type: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        print(tell_user(write_report(exc_type, exc, tb), program), file=sys.stderr)

    return hook


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    path = write_report(args.exc_type, args.exc_value, args.exc_traceback, where=f"thread {name}")
    print(tell_user(path, _context.get("program", "workstation")), file=sys.stderr)


def _enable_faulthandler(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fatal: IO[str] = open(folder / f"fatal-{os.getpid()}.txt", "a", encoding="utf-8")
    except OSError:
        return
    fatal.write("\n".join(_header("fatal error report")) + "\n")
    fatal.flush()
    _state["faulthandler_was_on"] = faulthandler.is_enabled()
    faulthandler.enable(file=fatal, all_threads=True)
    _state["fatal_file"] = fatal


def install(program: str, folder: Optional[Path] = None) -> None:
    """Report uncaught exceptions (main and other threads) and hard crashes of this process."""
    if _state.get("installed"):
        return
    _context["program"] = program
    _state.update(installed=True, excepthook=sys.excepthook, threadhook=threading.excepthook)
    sys.excepthook = _excepthook(sys.excepthook, program)
    threading.excepthook = _thread_hook
    _enable_faulthandler(folder or paths.log_dir())


def uninstall() -> None:
    """Undo :func:`install`; a clean exit removes the fatal-error file."""
    if not _state.pop("installed", False):
        return
    sys.excepthook = _state.pop("excepthook")
    threading.excepthook = _state.pop("threadhook")
    fatal = _state.pop("fatal_file", None)
    if fatal is not None:
        faulthandler.disable()
        fatal.close()
        Path(fatal.name).unlink(missing_ok=True)
        if _state.pop("faulthandler_was_on", False) and sys.__stderr__ is not None:
            faulthandler.enable(file=sys.__stderr__, all_threads=True)


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def collect_fatal_reports(folder: Optional[Path] = None) -> list[Path]:
    """Turn fatal-error files of ended sessions into crash reports; return those.

    A file of a session that ended without output from :mod:`faulthandler` (killed, or
    the machine lost power) holds no crash and is removed.
    """
    found: list[Path] = []
    for path in sorted((folder or paths.log_dir()).glob("fatal-*.txt")):
        pid_text = path.stem.partition("-")[2]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or process_alive(int(pid_text)):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(marker in text for marker in FATAL_MARKERS):
                stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
                report = path.with_name(f"crash-{stamp}-{pid_text}-fatal.txt")
                path.replace(report)
                found.append(report)
            else:
                path.unlink()
        except OSError:
            continue
    return found
