"""One entry point from a node to its client: DIMSE or DICOMweb, the same calls."""

from __future__ import annotations

from workstation.io.pacs.dicomweb import DicomWebClient
from workstation.io.pacs.dimse import DimseClient
from workstation.io.pacs.nodes import DicomWebNode, LocalAE, Node
from workstation.io.pacs.scp import StoreServer

Client = DimseClient | DicomWebClient


def connect(node: Node, local: LocalAE | None = None, store_server: StoreServer | None = None) -> Client:
    """The client of ``node``; nothing is sent until a call (echo, find, fetch, store).

    ``store_server`` is our running storage SCP, needed for C-MOVE retrieves.
    Raises :class:`~workstation.io.pacs.errors.PacsError` (``AUTH``) when a DICOMweb
    node needs a password or token that is set nowhere.
    """
    if isinstance(node, DicomWebNode):
        return DicomWebClient(node)
    return DimseClient(node, local or LocalAE(), store_server)
