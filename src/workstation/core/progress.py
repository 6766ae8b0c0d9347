"""Progress reporting, cancellation and partial results shared by every long-running function.

Long functions take ``progress: ProgressFn | None``; they call it with a fraction in
[0, 1] and a short message.  A caller cancels by raising :class:`Cancelled` from the
callback, so kernels need no knowledge of threads or GUIs.

Work done in chunks (perfusion slabs, segmentation label slabs, one batch study) can
also hand each finished chunk to whoever watches: :func:`publish` passes a
:class:`Partial` to the ``partial`` method of the progress callback when it has one
(:class:`ProgressSink` is such a callback) and does nothing otherwise, so a run
without a listener pays nothing and returns the same result.  A partial holds final
values of its region, never a preview that a later chunk changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

ProgressFn = Callable[[float, str], None]
PartialFn = Callable[["Partial"], None]


class Cancelled(Exception):
    """Raised (from a progress callback) to stop work the user no longer wants."""


@dataclass(frozen=True)
class Partial:
    """One finished chunk of a result.

    Attributes
    ----------
    kind
        What the chunk is (``"slab"``, ``"labels"``, ``"lesion"``...), defined by the analysis.
    region
        Where it lies in the result: ``(start, stop)`` pairs per axis of the input
        volume (z, y, x voxels), or empty for chunks with no place (a lesion record).
    values
        Named arrays of the region's shape (host NumPy) or other values.
    """

    kind: str
    region: tuple[tuple[int, int], ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)

    def slices(self) -> tuple[slice, ...]:
        """The region as slices into the whole array."""
        return tuple(slice(a, b) for a, b in self.region)


class ProgressSink:
    """A progress callback that also receives partial results.

    ``on_progress(fraction, message)`` and ``on_partial(partial)`` are called from the
    thread doing the work.
    """

    def __init__(self, on_progress: Optional[ProgressFn] = None, on_partial: Optional[PartialFn] = None) -> None:
        self._on_progress = on_progress
        self._on_partial = on_partial

    def __call__(self, fraction: float, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(fraction, message)

    @property
    def partial(self) -> Optional[PartialFn]:
        return self._on_partial


def wants_partials(progress: Optional[ProgressFn]) -> bool:
    """Whether ``progress`` takes partial results (so the work may prepare them)."""
    return getattr(progress, "partial", None) is not None


def publish(progress: Optional[ProgressFn], partial: Partial) -> None:
    """Hand ``partial`` to ``progress``'s listener, if it has one."""
    sink = getattr(progress, "partial", None)
    if sink is not None:
        sink(partial)


def report(progress: Optional[ProgressFn], fraction: float, message: str = "") -> None:
    """Call ``progress`` if given, clamping the fraction to [0, 1]."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def scaled(progress: Optional[ProgressFn], start: float, stop: float) -> Optional[ProgressFn]:
    """A callback mapping [0, 1] of a sub-step onto [start, stop] of ``progress``
    (partial results pass through unchanged)."""
    if progress is None:
        return None

    def sub(fraction: float, message: str) -> None:
        progress(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    return ProgressSink(sub, getattr(progress, "partial", None))
