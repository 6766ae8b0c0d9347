"""File > Send to PACS: send results the application made (SEG, SR, derived series) to a node.

The user picks files or a folder of results; the DICOM objects among them are listed by
kind, the user picks a node and confirms a message naming it, and the files go as a
job (C-STORE or STOW-RS) with progress; what the node refused is listed with why.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from workstation.io.pacs.nodes import Node
from workstation.io.pacs.send import SendFile, SendReport, collect, send
from workstation.ui.pacs_service import PacsService

KINDS = {"1.2.840.10008.5.1.4.1.1.66.4": "SEG", "1.2.840.10008.5.1.4.1.1.88.34": "SR",
         "1.2.840.10008.5.1.4.1.1.88.33": "SR", "1.2.840.10008.5.1.4.1.1.88.22": "SR",
         "1.2.840.10008.5.1.4.1.1.481.3": "RTSTRUCT", "1.2.840.10008.5.1.4.1.1.104.1": "PDF"}


def describe(files: list[SendFile]) -> str:
    """``"1 SEG, 1 SR, 60 images"``: what is about to be sent."""
    kinds = Counter(KINDS.get(sop_class, "images") for _, sop_class, _ in files)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


def confirm_text(files: list[SendFile], node: Node) -> str:
    return f"Send {len(files)} DICOM files ({describe(files)}) to {node.name}\n{node.address}?"


class SendToPacs:
    """The "Send to PACS" command of the main window."""

    def __init__(self, service: PacsService, parent: QWidget) -> None:
        self.service = service
        self.parent = parent

    def choose_and_send(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent, "Folder of results to send",
                                                  str(self.service.results_dir))
        if folder:
            self.send_paths([Path(folder)])

    def send_paths(self, paths: list[Path], node: Node | None = None, *, confirm: bool = True) -> None:
        """List the DICOM files under ``paths`` (a job), then ask and send."""
        nodes = self.service.nodes
        if node is None and not nodes:
            self.service.context.notify("Send to PACS", "No PACS node is configured (File > PACS…).")
            return

        def work(progress: Any) -> tuple[list[SendFile], list[tuple[Path, str]]]:
            return collect(paths)

        self.service.run("List files to send", work, lambda found: self._ask(found[0], node, confirm))

    def _ask(self, files: list[SendFile], node: Node | None, confirm: bool) -> None:
        if not files:
            self.service.context.notify("Send to PACS", "There is no DICOM file there.")
            return
        if node is None:
            names = [n.name for n in self.service.nodes]
            name, ok = QInputDialog.getItem(self.parent, "Send to PACS", f"{describe(files)} to:", names, 0, False)
            if not ok:
                return
            node = self.service.nodes[names.index(name)]
        if confirm and QMessageBox.question(self.parent, "Send to PACS", confirm_text(files, node)) \
                != QMessageBox.StandardButton.Yes:
            return
        target = node

        def work(progress: Any) -> SendReport:
            return send(self.service.client(target), files, progress)

        self.service.run(f"Send {len(files)} files to {node.name}", work, lambda report: self._sent(report, target))

    def _sent(self, report: SendReport, node: Node) -> None:
        text = f"{len(report.sent)} files sent to {node.name}."
        if report.refused:
            text += " Refused: " + "; ".join(f"{p.name}: {why}" for p, why in report.refused[:5])
        self.service.context.notify("Send to PACS", text)
