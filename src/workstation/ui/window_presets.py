"""Window presets: the built-in four (keys 1-4) and the user's own (keys 5-9), kept in the settings.

User presets are stored as ``name|width|level`` text entries of the ``view/window_presets``
setting (a list), checked on reading: a malformed entry is dropped with the setting's
usual warning.  The main window loads them at start and after the settings dialog.
"""

from __future__ import annotations

from typing import Iterable, Optional

from workstation.compute.windowing import PRESETS, WindowPreset
from workstation.ui.settings import Key, Settings, register

MAX_USER = 5  # keys 5-9
_user: list[WindowPreset] = []


def parse(entry: str) -> WindowPreset:
    """``"Liver|150|60"`` -> a preset; ``ValueError`` when it is not name|width|level with width > 0."""
    parts = [p.strip() for p in str(entry).split("|")]
    if len(parts) != 3 or not parts[0]:
        raise ValueError(f"{entry!r} is not name|width|level")
    width, level = float(parts[1]), float(parts[2])
    if not width > 0:
        raise ValueError(f"{entry!r}: the width must be positive")
    return WindowPreset(parts[0], width, level)


def format_entry(preset: WindowPreset) -> str:
    return f"{preset.name}|{preset.width:g}|{preset.level:g}"


def _valid(entries: list[str]) -> bool:
    try:
        for entry in entries:
            parse(entry)
    except ValueError:
        return False
    return len(entries) <= MAX_USER


register(Key("view/window_presets", list, [], _valid, "your window presets, name|width|level, keys 5-9"))


def user_presets() -> list[WindowPreset]:
    """The user's presets, in key order (5, 6, ...)."""
    return list(_user)


def set_user_presets(presets: Iterable[WindowPreset], settings: Optional[Settings] = None) -> None:
    """Use ``presets`` (at most five) and store them in ``settings`` when given."""
    chosen = list(presets)[:MAX_USER]
    _user[:] = chosen
    if settings is not None:
        settings.set("view/window_presets", [format_entry(p) for p in chosen])


def load_user_presets(settings: Optional[Settings]) -> list[WindowPreset]:
    """Read the stored presets (none without settings)."""
    entries = settings.get("view/window_presets") if settings is not None else []
    _user[:] = [parse(e) for e in entries]
    return user_presets()


def all_presets() -> list[tuple[str, WindowPreset]]:
    """(key, preset) for every preset with a key: 1-4 built in, 5-9 the user's."""
    keys = [(str(i + 1), p) for i, p in enumerate(PRESETS)]
    keys += [(str(len(PRESETS) + 1 + i), p) for i, p in enumerate(_user)]
    return keys


def preset_for_key(number: int) -> Optional[WindowPreset]:
    """The preset on key ``number`` (1-9), ``None`` when that key has none."""
    return dict(all_presets()).get(str(number))
