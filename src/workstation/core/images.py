"""2D images as a radiologist reads them: projection images, cine loops and stacks of planes.

Projection images (MG, CR, DX, XA, RF, US ...) are not slices of a volume: each is read
on its own, with the patient-orientation letters the header gives, at true size or
fitted to the window, mammograms mirrored as they are hung.  A series whose planes
lie in several orientations (localizers, scouts, radial planes) is a stack of such
images too.  Each :class:`StackImage` wraps a :class:`~workstation.core.volume.Volume`
holding its frames ``(frames, rows, columns)`` (a cine loop has many, a radiograph one)
and the display facts of its header (:class:`ImageFacts`).  Plain data, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from workstation.core.volume import Volume

#: Modalities whose images are projections (or 2D by nature), read in the image viewer.
PROJECTION_MODALITIES = frozenset({"MG", "CR", "DX", "XA", "RF", "US", "IO", "PX", "ES", "XC", "GM", "OP", "SC",
                                   "OT", "DOC"})
_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}


def opposite(letters: str) -> str:
    """The opposite direction of orientation letters (``"AF"`` -> ``"PH"``); unknown letters stay."""
    return "".join(_OPPOSITE.get(ch, ch) for ch in letters)


@dataclass(frozen=True)
class ImageFacts:
    """What a header says about how to display one image.

    Attributes
    ----------
    patient_orientation
        Patient direction letters of the image's rows (towards the right edge) and
        columns (towards the bottom), e.g. ``("A", "FR")``; empty when unknown.
    laterality, view_position
        ``R``/``L``/``B`` and ``CC``, ``MLO``, ``PA``... (empty when unknown).
    frame_time_s
        Seconds between frames of a cine loop (``None``: not given).
    pixel_spacing_mm
        (row, column) mm per pixel at true size, ``None`` when the header gives none.
    spacing_source
        Where the spacing came from: ``PixelSpacing``, ``ImagerPixelSpacing``,
        ``ImagerPixelSpacing corrected for magnification``, or ``""``.
    """

    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    modality: str = ""
    patient_orientation: tuple[str, str] = ("", "")
    laterality: str = ""
    view_position: str = ""
    body_part: str = ""
    frame_time_s: Optional[float] = None
    pixel_spacing_mm: Optional[tuple[float, float]] = None
    spacing_source: str = ""
    photometric: str = "MONOCHROME2"
    voi_lut_function: str = ""
    description: str = ""
    instance_number: Optional[int] = None

    @property
    def view_key(self) -> str:
        """``"R-CC"`` style key of a mammogram ("" when laterality or view is unknown)."""
        return f"{self.laterality}-{self.view_position}" if self.laterality and self.view_position else ""

    def edge_labels(self, mirrored: bool = False) -> dict[str, str]:
        """Orientation letters at the ``left``, ``right``, ``top`` and ``bottom`` screen edges."""
        row, col = self.patient_orientation
        right, bottom = (opposite(row), col) if mirrored else (row, col)
        return {"right": right, "left": opposite(right), "bottom": bottom, "top": opposite(bottom)}

    @property
    def chest_wall_left(self) -> Optional[bool]:
        """For a mammogram: whether the chest wall is at the image's left edge (from the row
        direction: ``A`` means the image's right is anterior, so the chest wall is left)."""
        row = self.patient_orientation[0][:1]
        return {"A": True, "P": False}.get(row)

    @property
    def hanging_mirror(self) -> bool:
        """Whether a mammogram is mirrored to be hung as read: right-breast images with the
        chest wall at their right edge, left-breast images at their left edge (the chest
        walls face each other).  False for every other image."""
        left = self.chest_wall_left
        if self.modality != "MG" or left is None or self.laterality not in ("R", "L"):
            return False
        return left if self.laterality == "R" else not left


@dataclass(frozen=True, eq=False)
class StackImage:
    """One image of a stack: its frames as a volume ``(frames, rows, columns)`` and its facts."""

    volume: Volume
    facts: ImageFacts = field(default_factory=ImageFacts)

    @property
    def n_frames(self) -> int:
        return self.volume.shape[0]

    @property
    def label(self) -> str:
        f = self.facts
        parts = [f.view_key or " ".join(p for p in (f.laterality, f.view_position) if p), f.description]
        return " ".join(p for p in parts if p) or f.modality or "image"


@dataclass(frozen=True, eq=False)
class ImageStack:
    """The images of one series in reading order."""

    images: tuple[StackImage, ...]
    series_uid: str = ""
    modality: str = ""
    issues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.images:
            raise ValueError("an image stack needs at least one image")

    def find(self, *, laterality: str = "", view_position: str = "", index: Optional[int] = None
             ) -> Optional[StackImage]:
        """The first image with this laterality and view (or the ``index``-th), else ``None``."""
        if index is not None:
            return self.images[index] if 0 <= index < len(self.images) else None
        for image in self.images:
            f = image.facts
            same_side = not laterality or f.laterality == laterality
            if same_side and (not view_position or f.view_position == view_position):
                return image
        return None
