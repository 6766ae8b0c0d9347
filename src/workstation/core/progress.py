"""Progress reporting and cancellation shared by every long-running function.

Long functions take ``progress: ProgressFn | None``; they call it with a fraction in
[0, 1] and a short message.  A caller cancels by raising :class:`Cancelled` from the
callback, so kernels need no knowledge of threads or GUIs.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised (from a progress callback) to stop work the user no longer wants."""


def report(progress: Optional[ProgressFn], fraction: float, message: str = "") -> None:
    """Call ``progress`` if given, clamping the fraction to [0, 1]."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def scaled(progress: Optional[ProgressFn], start: float, stop: float) -> Optional[ProgressFn]:
    """A callback mapping [0, 1] of a sub-step onto [start, stop] of ``progress``."""
    if progress is None:
        return None

    def sub(fraction: float, message: str) -> None:
        progress(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    return sub
