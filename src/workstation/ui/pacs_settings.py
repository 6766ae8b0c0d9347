"""PACS settings in the application's QSettings (group ``pacs``), through :mod:`workstation.io.pacs.config`.

The values are the same text the batch command reads from the settings file without
Qt; passwords and tokens go to the system keyring, never here.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from workstation.io.pacs.config import GROUP, KEYS, PacsSettings, settings_from


def load_pacs_settings(settings: QSettings | None) -> PacsSettings:
    """The PACS settings stored in ``settings`` (defaults when ``None``)."""
    if settings is None:
        return PacsSettings()

    def get(key: str) -> str | None:
        value = settings.value(f"{GROUP}/{key}")
        return None if value is None else str(value)

    return settings_from(get)


def save_pacs_settings(settings: QSettings | None, pacs: PacsSettings) -> None:
    """Store ``pacs`` (every key of the group is written)."""
    if settings is None:
        return
    values = pacs.values()
    for key in KEYS:
        settings.setValue(f"{GROUP}/{key}", values[key])
    settings.sync()
