"""Where the application keeps settings, data, caches and logs (XDG base directories).

=========  ============================================  =====================================
folder     default                                        what
=========  ============================================  =====================================
config     ``$XDG_CONFIG_HOME`` (``~/.config``)/Workstation  ``Workstation.conf`` (QSettings)
data       ``$XDG_DATA_HOME`` (``~/.local/share``)/workstation  user data
cache      ``$XDG_CACHE_HOME`` (``~/.cache``)/workstation  demo studies, compiled GPU kernels
Qt cache   ``$XDG_CACHE_HOME`` (``~/.cache``)/Workstation  Qt's own cache (``qtshadercache-*``)
state      ``$XDG_STATE_HOME`` (``~/.local/state``)/workstation  ``logs/``: logs and crash reports
=========  ============================================  =====================================

``WORKSTATION_LOG_DIR`` overrides the log folder and ``WORKSTATION_DEMO_DIR`` the demo
folder.  Relative values of the XDG variables are ignored, as the XDG specification
asks.  :func:`folder_problems` says which of these folders cannot be written and which
variable moves it.  Qt-free, so the batch command uses it too.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Optional

APP = "workstation"
ORGANIZATION = "Workstation"
APPLICATION = "Workstation"  # Qt's application name: QSettings file and Qt cache folder
LOG_DIR_VAR = "WORKSTATION_LOG_DIR"
DEMO_DIR_VAR = "WORKSTATION_DEMO_DIR"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def config_home() -> Path:
    """``$XDG_CONFIG_HOME`` or ``~/.config``."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def data_home() -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share``."""
    return _xdg("XDG_DATA_HOME", ".local/share")


def cache_home() -> Path:
    """``$XDG_CACHE_HOME`` or ``~/.cache``."""
    return _xdg("XDG_CACHE_HOME", ".cache")


def state_home() -> Path:
    """``$XDG_STATE_HOME`` or ``~/.local/state``."""
    return _xdg("XDG_STATE_HOME", ".local/state")


def settings_file() -> Path:
    """The QSettings file of the desktop application."""
    return config_home() / ORGANIZATION / f"{APPLICATION}.conf"


def data_dir() -> Path:
    return data_home() / APP


def cache_dir() -> Path:
    return cache_home() / APP


def state_dir() -> Path:
    return state_home() / APP


def log_dir() -> Path:
    """Logs and crash reports: ``$WORKSTATION_LOG_DIR`` or ``<state>/workstation/logs``."""
    override = os.environ.get(LOG_DIR_VAR, "")
    return Path(override).expanduser() if override else state_dir() / "logs"


def demo_root() -> Path:
    """Demo studies: ``$WORKSTATION_DEMO_DIR`` or ``<cache>/workstation/demo``."""
    override = os.environ.get(DEMO_DIR_VAR, "")
    return Path(override).expanduser() if override else cache_dir() / "demo"


def qt_cache_dir() -> Path:
    """Qt's cache location for this application's organisation (shader cache)."""
    return cache_home() / ORGANIZATION


def user_folders() -> list[Path]:
    """Every folder the application may write to on its own (not counting ``--out``)."""
    return [config_home() / ORGANIZATION, data_dir(), cache_dir(), qt_cache_dir(), state_dir(), log_dir(),
            demo_root()]


@dataclass(frozen=True)
class UserFolder:
    """A per-user folder, what it holds and the environment variables that move it."""

    role: str
    path: Path
    variables: tuple[str, ...]
    holds: str


def user_folder_table() -> list[UserFolder]:
    """The folders the application writes, in the order the self-check lists them."""
    logs = (LOG_DIR_VAR,) if os.environ.get(LOG_DIR_VAR) else (LOG_DIR_VAR, "XDG_STATE_HOME")
    demo = (DEMO_DIR_VAR,) if os.environ.get(DEMO_DIR_VAR) else (DEMO_DIR_VAR, "XDG_CACHE_HOME")
    return [
        UserFolder("settings", config_home() / ORGANIZATION, ("XDG_CONFIG_HOME",), "settings"),
        UserFolder("data", data_dir(), ("XDG_DATA_HOME",), "user data"),
        UserFolder("cache", cache_dir(), ("XDG_CACHE_HOME",), "caches"),
        UserFolder("log", log_dir(), logs, "logs and crash reports"),
        UserFolder("demo", demo_root(), demo, "demo studies"),
    ]


class FolderNotWritable(PermissionError):
    """A per-user folder cannot be written; the message names it and the variable that fixes it."""


def folder_problem(path: Path) -> Optional[str]:
    """Why ``path`` cannot be written or created (``None`` if it can); creates nothing."""
    probe = Path(path)
    while not os.path.exists(probe) and probe.parent != probe:
        probe = probe.parent
    if not os.path.isdir(probe):
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"no permission to write in {probe}"
    return None


def unwritable_message(folder: UserFolder, reason: str) -> str:
    """``the demo folder /x is not writable (reason): set WORKSTATION_DEMO_DIR or XDG_CACHE_HOME ...``."""
    fixes = [f"{v} (now {os.environ[v]})" if os.environ.get(v) else v for v in folder.variables]
    return (f"the {folder.role} folder {folder.path}{os.sep} is not writable ({reason}): "
            f"set {' or '.join(fixes)} to a writable folder")


def user_folder(role: str) -> UserFolder:
    """The entry of :func:`user_folder_table` for ``role``."""
    return next(f for f in user_folder_table() if f.role == role)


def folder_problems() -> list[str]:
    """One message per per-user folder that cannot be written (empty when all can)."""
    problems = []
    for folder in user_folder_table():
        reason = folder_problem(folder.path)
        if reason:
            problems.append(unwritable_message(folder, reason))
    return problems


@contextmanager
def explain_unwritable(role: str) -> Iterator[None]:
    """Around code writing the ``role`` folder: an ``OSError`` raised because that folder
    cannot be written becomes :class:`FolderNotWritable`, naming the folder and its variable."""
    try:
        yield
    except FolderNotWritable:
        raise
    except OSError:
        folder = user_folder(role)
        reason = folder_problem(folder.path)
        if reason is None:
            raise
        raise FolderNotWritable(unwritable_message(folder, reason)) from None


def resource_file(*parts: str) -> Path:
    """A file of ``resources/``: inside the package when packaged, else in the repository."""
    from importlib import resources

    packaged = Path(str(resources.files("workstation"))).joinpath("resources", *parts)
    return packaged if packaged.exists() else Path(__file__).resolve().parents[3].joinpath("resources", *parts)


@lru_cache(maxsize=1)
def build_info() -> dict[str, Any]:
    """What the packaged build recorded (flavor, commit, date); ``{}`` in a source checkout."""
    from importlib import resources

    try:
        text = (resources.files("workstation") / "build_info.json").read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError, TypeError, ModuleNotFoundError):
        return {}
    return data if isinstance(data, dict) else {}


def version_string() -> str:
    """``0.1.0 (cpu build abc1234)`` when packaged, else ``0.1.0 (source)``."""
    from workstation import __version__

    info = build_info()
    if not info:
        return f"{__version__} (source)"
    return f"{__version__} ({info.get('flavor', '?')} build {info.get('commit', '?')})"
