"""Key images marked while reading: which image, which plane, which window, what caption.

A :class:`KeyImageRecord` is plain data: the viewer makes one when the reader marks the
image shown, the study report keeps them (and a rendered copy), the PDF prints them
and the DICOM Key Object Selection references their instances.  Annotations drawn on
the image (arrows, angles, text) travel with it as the viewer's annotation records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

AXIS_PLANES = {0: "axial", 1: "coronal", 2: "sagittal"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class KeyImageRecord:
    """One key image.

    Attributes
    ----------
    study_uid, series_uid
        Where the image belongs.
    sop_instance_uid, frame
        The DICOM instance shown (``frame``: 1-based number inside a multi-frame
        instance, ``None`` for a single-frame one).  Empty for a reformatted plane
        (coronal or sagittal through an axial series), which no instance holds.
    slice_index, axis
        The plane through the loaded volume: index along volume axis ``axis`` (0: z,
        acquired plane; 1: y; 2: x).
    window_width, window_level
        The grey-scale window shown, in the image's units (HU for CT).
    caption
        The reader's words for it.
    annotations
        The annotation records drawn on it (kept as the viewer made them).
    """

    study_uid: str
    series_uid: str
    sop_instance_uid: str = ""
    frame: Optional[int] = None
    slice_index: int = 0
    axis: int = 0
    window_width: float = 400.0
    window_level: float = 40.0
    caption: str = ""
    annotations: tuple[Any, ...] = ()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_utc: str = field(default_factory=_now)

    @property
    def plane(self) -> str:
        return AXIS_PLANES.get(self.axis, f"axis {self.axis}")

    def describe(self) -> str:
        """``axial 42, W 400 L 40``: where and how, for captions and lists."""
        return f"{self.plane} {self.slice_index + 1}, W {self.window_width:.0f} L {self.window_level:.0f}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "study_uid": self.study_uid, "series_uid": self.series_uid,
                "sop_instance_uid": self.sop_instance_uid, "frame": self.frame, "slice_index": self.slice_index,
                "axis": self.axis, "window": [self.window_width, self.window_level], "caption": self.caption,
                "annotations": [annotation_json(a) for a in self.annotations], "created_utc": self.created_utc}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "KeyImageRecord":
        window = list(data.get("window") or (400.0, 40.0))
        frame = data.get("frame")
        return cls(str(data["study_uid"]), str(data["series_uid"]), str(data.get("sop_instance_uid") or ""),
                   None if frame is None else int(frame), int(data.get("slice_index", 0)), int(data.get("axis", 0)),
                   float(window[0]), float(window[1]), str(data.get("caption", "")),
                   tuple(data.get("annotations") or ()), str(data.get("key") or uuid.uuid4().hex),
                   str(data.get("created_utc") or _now()))


def annotation_json(annotation: Any) -> Any:
    """An annotation record as JSON: its ``to_json()``, a dataclass's fields, or the mapping itself."""
    if hasattr(annotation, "to_json"):
        return annotation.to_json()
    if hasattr(annotation, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(annotation)
    return annotation
