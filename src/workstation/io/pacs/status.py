"""DIMSE status codes (PS3.4 Annex C) turned into faults with words a user can act on."""

from __future__ import annotations

import logging
from typing import Any

from workstation.core.progress import Cancelled
from workstation.io.pacs.errors import Fault, PacsError

log = logging.getLogger(__name__)

MEANINGS: dict[int, str] = {
    0x0107: "attribute list error",
    0x0117: "invalid SOP instance",
    0x0122: "SOP class not supported",
    0x0124: "not authorised",
    0x0211: "unrecognised operation",
    0xA700: "out of resources",
    0xA701: "out of resources: unable to calculate the number of matches",
    0xA702: "out of resources: unable to perform sub-operations",
    0xA801: "move destination unknown",
    0xA900: "identifier does not match the SOP class",
    0xAA00: "none of the frames requested were found",
    0xB000: "sub-operations completed with failures or warnings",
    0xC000: "unable to process",
}


def status_of(status: Any) -> int | None:
    """The Status value of a response, or ``None`` when there was no response."""
    value = getattr(status, "Status", None) if status is not None else None
    return int(value) if value is not None else None


def meaning(code: int) -> str:
    if code in MEANINGS:
        return MEANINGS[code]
    if 0xC000 <= code <= 0xCFFF:
        return "unable to process"
    if 0xA000 <= code <= 0xAFFF:
        return "refused"
    return "failure"


def check_status(node: str, operation: str, status: Any, waited_s: float, timeout_s: float) -> None:
    """Return for success, pending and warning statuses; raise :class:`PacsError` otherwise.

    An empty status means the association ended without an answer: a time-out when
    the wait (``waited_s`` since the last message) reached ``timeout_s``, else an
    abort by the peer.  ``0xFE00`` (cancelled) raises :class:`Cancelled`.
    """
    code = status_of(status)
    if code is None:
        if waited_s >= 0.9 * timeout_s:
            raise PacsError(node, Fault.TIMEOUT, f"no answer to {operation} within {timeout_s:g} s")
        raise PacsError(node, Fault.PROTOCOL, f"the association ended during {operation}")
    if code in (0x0000, 0xFF00, 0xFF01):
        return
    if code == 0xFE00:
        raise Cancelled()
    comment = str(getattr(status, "ErrorComment", "") or "").strip()
    suffix = f": {comment}" if comment else ""
    if code in (0x0001, 0x0107, 0x0116) or 0xB000 <= code <= 0xBFFF:
        log.warning("%s completed with warning status 0x%04X (%s)%s", operation, code, meaning(code), suffix)
        return
    raise PacsError(node, Fault.REFUSED, f"{operation} failed with status 0x{code:04X} ({meaning(code)}){suffix}")
