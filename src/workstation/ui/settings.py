"""Typed access to the desktop application's settings (``Workstation.conf``, QSettings).

Every key the application reads is declared once in :data:`SCHEMA` with its type and
default (and, where needed, a check of its value).  :meth:`Settings.get` returns a
value of that type or the default: a value of the wrong type or an invalid one (a
hand-edited file, a file of another version) is logged once with the file and key,
removed from the file, and the default is used, so a bad setting never stops the
application.  A feature with settings of its own adds its keys with :func:`register`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import QByteArray, QSettings

from workstation.core.paths import APPLICATION, ORGANIZATION

log = logging.getLogger(__name__)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_warned: set[tuple[str, str]] = set()
KIND_NAMES = {str: "text", int: "whole number", float: "number", bool: "true or false",
              bytes: "Qt byte array (@ByteArray)", list: "list of text"}


@dataclass(frozen=True)
class Key:
    """One setting: ``name`` (``group/key``), value ``kind``, ``default`` and an optional ``check``.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``bytes`` (Qt byte arrays
    such as window geometry) or ``list`` (a list of strings).
    """

    name: str
    kind: type
    default: Any
    check: Optional[Callable[[Any], bool]] = None
    doc: str = ""


def _valid_device(value: str) -> bool:
    from workstation.compute.backend import parse_device

    try:
        parse_device(value)
    except ValueError:
        return False
    return True


def _valid_layout(value: str) -> bool:
    from workstation.ui.mpr import LAYOUTS

    return value in LAYOUTS


SCHEMA: dict[str, Key] = {}


def register(*keys: Key) -> None:
    """Declare settings keys (a feature's own settings)."""
    for key in keys:
        if key.kind not in KIND_NAMES:
            raise TypeError(f"setting {key.name}: unsupported kind {key.kind.__name__}")
        SCHEMA[key.name] = key


register(
    Key("window/geometry", bytes, None, doc="main window position and size (Qt saveGeometry)"),
    Key("window/state", bytes, None, doc="docks and toolbars (Qt saveState)"),
    Key("view/layout", str, "2d", _valid_layout, "viewer layout: 2d, mpr-1x3, mpr-2x2 or 3d"),
    Key("compute/device", str, "auto", _valid_device, "auto, cpu, cuda or cuda:N"),
    Key("files/recent", list, [], doc="recently opened folders and files"),
    Key("files/last_folder", str, "", doc="where the file dialogs start"),
    Key("models/folder", str, "", doc="the user's ONNX models folder"),
)


class BadValue(ValueError):
    """A stored value that does not fit its key."""


def _convert(key: Key, value: Any) -> Any:
    """``value`` as read by QSettings, converted to ``key.kind``; :class:`BadValue` if impossible."""
    kind = key.kind
    if kind is bytes:
        if isinstance(value, QByteArray):
            return bytes(value.data())
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
    elif kind is list:
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
    elif kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
    elif kind in (int, float):
        if isinstance(value, int if kind is int else (int, float)) and not isinstance(value, bool):
            return kind(value)
        if isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    elif isinstance(value, str):
        return value
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise BadValue(f"{shown} ({type(value).__name__}) where a {KIND_NAMES[kind]} belongs")


class Settings:
    """The application's settings: a QSettings store read through :data:`SCHEMA`."""

    def __init__(self, store: Optional[QSettings] = None) -> None:
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    @classmethod
    def wrap(cls, settings: Settings | QSettings | None) -> Optional[Settings]:
        """``settings`` as :class:`Settings` (``None`` stays ``None``)."""
        if settings is None or isinstance(settings, Settings):
            return settings
        return cls(settings)

    @property
    def file_name(self) -> str:
        return str(self.store.fileName())

    def get(self, name: str) -> Any:
        """The value of ``name``, of its declared type, or its default."""
        key = SCHEMA[name]
        raw = self.store.value(name)
        if raw is None:
            return _copy(key.default)
        try:
            value = _convert(key, raw)
            if key.check is not None and not key.check(value):
                raise BadValue(f"{value!r} is not valid")
        except BadValue as exc:
            self.reject(name, str(exc))
            return _copy(key.default)
        return value

    def set(self, name: str, value: Any) -> None:
        """Store ``value`` for ``name``; a value that does not fit the key raises ``TypeError``."""
        key = SCHEMA[name]
        exact = {bytes: (bytes, bytearray, QByteArray), list: (list, tuple), float: (int, float)}.get(key.kind, key.kind)
        if not isinstance(value, exact) or (isinstance(value, bool) and key.kind is not bool):
            raise TypeError(f"setting {name}: {type(value).__name__} where a {KIND_NAMES[key.kind]} belongs")
        try:
            checked = _convert(key, value)
        except BadValue as exc:
            raise TypeError(f"setting {name}: {exc}") from None
        if key.check is not None and not key.check(checked):
            raise TypeError(f"setting {name}: {checked!r} is not valid")
        self.store.setValue(name, QByteArray(checked) if key.kind is bytes else checked)

    def reject(self, name: str, reason: str) -> None:
        """Forget the stored value of ``name`` (the default applies), logging why once."""
        if (self.file_name, name) not in _warned:
            _warned.add((self.file_name, name))
            log.warning("setting %s in %s: %s; using the default %r", name, self.file_name, reason,
                        SCHEMA[name].default)
        self.store.remove(name)

    def sync(self) -> None:
        self.store.sync()


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
