"""Where the application keeps settings, data, caches and logs (XDG base directories).

=========  ============================================  =====================================
folder     default                                        what
=========  ============================================  =====================================
config     ``$XDG_CONFIG_HOME`` (``~/.config``)/Workstation  ``Workstation.conf`` (QSettings)
data       ``$XDG_DATA_HOME`` (``~/.local/share``)/workstation  user data
cache      ``$XDG_CACHE_HOME`` (``~/.cache``)/workstation  demo studies, compiled GPU kernels
state      ``$XDG_STATE_HOME`` (``~/.local/state``)/workstation  ``logs/``: logs and crash reports
=========  ============================================  =====================================

``WORKSTATION_LOG_DIR`` overrides the log folder.  Relative values of the XDG variables
are ignored, as the XDG specification asks.  Qt-free, so the batch command uses it too.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

APP = "workstation"
ORGANIZATION = "Workstation"
LOG_DIR_VAR = "WORKSTATION_LOG_DIR"


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
    return config_home() / ORGANIZATION / f"{ORGANIZATION}.conf"


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


def user_folders() -> list[Path]:
    """Every folder the application may write to on its own (not counting ``--out``)."""
    return [config_home() / ORGANIZATION, data_dir(), cache_dir(), state_dir(), log_dir()]


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
