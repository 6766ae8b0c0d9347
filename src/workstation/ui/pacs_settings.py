"""PACS settings in the application's settings file (group ``pacs``), through
:mod:`workstation.io.pacs.config`.

The values are the same text the batch command reads from the settings file without
Qt; passwords and tokens go to the system keyring, never here.  The keys are declared
in the typed settings schema (:mod:`workstation.ui.settings`) as text; their meaning is
checked by :func:`~workstation.io.pacs.config.settings_from`, which notes bad values
and uses the defaults.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from workstation.io.pacs.config import GROUP, KEYS, PacsSettings, settings_from
from workstation.ui.settings import Key, Settings, register

register(*(Key(f"{GROUP}/{key}", str, "", doc=f"PACS: {key.replace('_', ' ')}") for key in KEYS))


def load_pacs_settings(settings: Settings | QSettings | None) -> PacsSettings:
    """The PACS settings stored in ``settings`` (defaults when ``None``)."""
    store = Settings.wrap(settings)
    if store is None:
        return PacsSettings()

    def get(key: str) -> str | None:
        return store.get(f"{GROUP}/{key}") or None

    return settings_from(get)


def save_pacs_settings(settings: Settings | QSettings | None, pacs: PacsSettings) -> None:
    """Store ``pacs`` (every key of the group is written)."""
    store = Settings.wrap(settings)
    if store is None:
        return
    values = pacs.values()
    for key in KEYS:
        store.set(f"{GROUP}/{key}", str(values[key]))
    store.sync()
