"""The PACS page of the settings dialog: the configured nodes and this workstation's AE.

:class:`~workstation.ui.pacs_menu.PacsIntegration` registers it in place of the
placeholder page, bound to the window's :class:`~workstation.ui.pacs_service.PacsService`:
nodes are stored as they are added, edited or removed (secrets in the keyring), our AE
title, store port, receiving and the cache limit when the dialog applies.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout

from workstation.io.pacs.errors import PacsError
from workstation.io.pacs.nodes import check_ae_title
from workstation.ui.pacs_dialog import LocalSettings
from workstation.ui.pacs_nodes import NodeList
from workstation.ui.pacs_service import PacsService
from workstation.ui.settings import Settings
from workstation.ui.settings_dialog import SettingsPage

TITLE = "PACS nodes"


class PacsPage(SettingsPage):
    title = TITLE

    def __init__(self, service: PacsService) -> None:
        super().__init__()
        self.service = service
        self.nodes = NodeList(service)
        self.local = LocalSettings(service)
        heading = QLabel("This workstation")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Nodes to query, retrieve from and send to (Test sends a C-ECHO or a QIDO-RS):"))
        layout.addWidget(self.nodes, 1)
        layout.addWidget(heading)
        layout.addWidget(self.local)

    def load(self, settings: Settings) -> None:
        self.nodes.refresh()
        self.local.refresh_usage()

    def apply(self, settings: Settings) -> None:
        """Store our AE (the service writes the PACS group of the same settings file)."""
        try:
            check_ae_title(self.local.ae_title.text(), "our AE title")
        except PacsError as exc:
            raise ValueError(str(exc)) from exc  # the dialog names the page and keeps it open
        self.local.apply()
