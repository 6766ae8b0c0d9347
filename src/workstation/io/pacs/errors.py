"""The one error type of PACS work: which node, which fault, what happened.

Every failure of a DIMSE or DICOMweb exchange (node down, time-out, association
rejected, wrong credentials, refused move, unknown destination AE...) is raised as a
:class:`PacsError`.  Its message is one line, ``PACS <node>: <fault>: <detail>``, and
never holds patient data or secrets; ``exit_code`` is what the command line returns.
"""

from __future__ import annotations

import enum


class Fault(enum.Enum):
    """What kind of failure it was; the value is the words shown to the user."""

    UNREACHABLE = "node unreachable"
    TIMEOUT = "time-out"
    REJECTED = "association rejected"
    AUTH = "wrong credentials"
    TLS = "TLS failure"
    REFUSED = "request refused"
    UNKNOWN_DESTINATION = "unknown destination AE"
    NOT_FOUND = "not found"
    INCOMPLETE = "incomplete transfer"
    CONFIG = "bad configuration"
    PROTOCOL = "protocol error"


#: Command-line exit status per fault (0 is success, 2 a bad command line).
EXIT_CODES: dict[Fault, int] = {
    Fault.REFUSED: 1,
    Fault.UNKNOWN_DESTINATION: 1,
    Fault.NOT_FOUND: 1,
    Fault.INCOMPLETE: 1,
    Fault.PROTOCOL: 1,
    Fault.CONFIG: 2,
    Fault.UNREACHABLE: 3,
    Fault.TIMEOUT: 4,
    Fault.REJECTED: 5,
    Fault.AUTH: 5,
    Fault.TLS: 5,
}


class PacsError(Exception):
    """A PACS exchange failed.

    Parameters
    ----------
    node
        How the node is shown to the user: its name, or ``dicom://AET@host:port``.
    fault
        The kind of failure.
    detail
        What happened and, where it helps, what to do about it.
    """

    def __init__(self, node: str, fault: Fault, detail: str) -> None:
        self.node = node
        self.fault = fault
        self.detail = detail
        super().__init__(f"PACS {node}: {fault.value}: {detail}")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.fault]
