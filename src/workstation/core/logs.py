"""Logging for the desktop application and the batch command.

Each program logs to its own rotating file in :func:`workstation.core.paths.log_dir`
(``workstation.log`` or ``batch.log``, 5 MB, 5 old files kept) and to stderr.  Every
line passes through :func:`workstation.core.redact.redact`, so patient names and file
paths outside the application's folders never reach the log.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import Optional

from workstation.core import paths
from workstation.core.redact import add_safe_root, redact

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FILE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"
_MARK = "_workstation_handler"
_state: dict[str, object] = {}


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback) has patient data removed."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _file_handler(path: Path, max_bytes: int, backups: int) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(FILE_FORMAT))
    return handler


def setup_logging(
    program: str,
    *,
    level: int = logging.INFO,
    console_level: int = logging.INFO,
    folder: Optional[Path] = None,
    max_bytes: int = MAX_BYTES,
    backups: int = BACKUPS,
) -> Optional[Path]:
    """Log ``workstation.*`` at ``level`` (others at WARNING) to ``<folder>/<program>.log``.

    Returns the log file, or ``None`` when the folder cannot be written (then only
    stderr is used and a warning says why).  Calling it again replaces the handlers.
    """
    shutdown_logging()
    root = logging.getLogger()
    app_logger = logging.getLogger("workstation")
    _state["levels"] = (root.level, app_logger.level)
    root.setLevel(logging.WARNING)
    app_logger.setLevel(level)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(console_level)
    console.setFormatter(RedactingFormatter(CONSOLE_FORMAT))
    handlers: list[logging.Handler] = [console]
    for safe in paths.user_folders():
        add_safe_root(safe)
    path: Optional[Path] = (folder or paths.log_dir()) / f"{program}.log"
    try:
        handlers.append(_file_handler(path, max_bytes, backups))  # type: ignore[arg-type]
    except OSError as exc:
        path = None
        reason = paths.folder_problem(paths.log_dir()) or exc.strerror or type(exc).__name__
        where = paths.unwritable_message(paths.user_folder("log"), reason) if folder is None else str(exc)
        problem = f"cannot write the log file: {where}; logging to stderr only"
    else:
        problem = ""
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    logging.captureWarnings(True)
    if problem:
        logging.getLogger("workstation").warning(problem)
    _state["file"] = path
    return path


def current_log_file() -> Optional[Path]:
    """The file :func:`setup_logging` opened, if any."""
    value = _state.get("file")
    return value if isinstance(value, Path) else None


def shutdown_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` added; restore the levels."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    levels = _state.pop("levels", None)
    if isinstance(levels, tuple):
        root.setLevel(levels[0])
        logging.getLogger("workstation").setLevel(levels[1])
        logging.captureWarnings(False)
    _state.pop("file", None)
