"""Laterality, view position, chest-wall side and the hanging protocol of mammograms.

Laterality comes from ImageLaterality, else Laterality; the view from ViewPosition,
else the code or meaning of ViewCodeSequence.  The chest-wall side comes from the row
direction of PatientOrientation (``A``: the image's right is anterior, so the chest wall
is on the left; ``P``: on the right), else from the pixels (where the breast meets the
image edge).

Hanging protocol: R-CC, L-CC, R-MLO, L-MLO in a 2 x 2 grid, right breast in the left
column, mirrored so the chest walls face each other: right-breast images are shown with
the chest wall at their right edge, left-breast images at their left edge.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

HANGING_ORDER: tuple[str, ...] = ("R-CC", "L-CC", "R-MLO", "L-MLO")

#: ViewCodeSequence code values (SNOMED CT and the older SNOMED RT) -> ViewPosition.
VIEW_CODE_VALUES: dict[str, str] = {
    "399162004": "CC", "R-10242": "CC",
    "399368009": "MLO", "R-10226": "MLO",
    "399260004": "ML", "R-10224": "ML",
    "399352003": "LM", "R-10228": "LM",
    "399099002": "XCCL", "R-1024A": "XCCL",
}
_VIEW_MEANINGS = (("medio-lateral oblique", "MLO"), ("mediolateral oblique", "MLO"),
                  ("cranio-caudal", "CC"), ("craniocaudal", "CC"))


class ViewError(ValueError):
    """A mammogram whose laterality or view cannot be determined."""


def _text(ds: Any, keyword: str) -> str:
    value = getattr(ds, keyword, None)
    return str(value).strip().upper() if value not in (None, "") else ""


def laterality_of(ds: Any) -> str:
    """``"R"`` or ``"L"`` from ImageLaterality, Laterality or FrameLaterality."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = _text(ds, keyword)
        if value in ("R", "L"):
            return value
    groups = getattr(ds, "SharedFunctionalGroupsSequence", None)
    if groups:
        frame = getattr(groups[0], "FrameAnatomySequence", None)
        if frame and _text(frame[0], "FrameLaterality") in ("R", "L"):
            return _text(frame[0], "FrameLaterality")
    raise ViewError("no ImageLaterality or Laterality (R/L) in the header")


def view_position_of(ds: Any) -> str:
    """The view (``CC``, ``MLO``, ...) from ViewPosition, else ViewCodeSequence."""
    value = _text(ds, "ViewPosition")
    if value:
        return value
    seq = getattr(ds, "ViewCodeSequence", None)
    if seq:
        item = seq[0]
        code = str(getattr(item, "CodeValue", "")).strip()
        if code in VIEW_CODE_VALUES:
            return VIEW_CODE_VALUES[code]
        meaning = str(getattr(item, "CodeMeaning", "")).lower()
        for text, view in _VIEW_MEANINGS:
            if text in meaning:
                return view
    raise ViewError("no ViewPosition or recognised ViewCodeSequence in the header")


def view_key(laterality: str, position: str) -> str:
    """``"R-CC"`` style key."""
    return f"{laterality}-{position}"


def chest_wall_left_from_orientation(orientation: Sequence[str]) -> Optional[bool]:
    """True/False from the row direction of a PatientOrientation pair; None when it does not say."""
    if not orientation:
        return None
    row = str(orientation[0]).upper()
    if row.startswith("A"):
        return True
    if row.startswith("P"):
        return False
    return None


def chest_wall_left_from_header(ds: Any) -> Optional[bool]:
    """:func:`chest_wall_left_from_orientation` of the dataset's PatientOrientation."""
    return chest_wall_left_from_orientation(list(getattr(ds, "PatientOrientation", None) or ()))


def display_flip(laterality: str, chest_wall_left: bool) -> bool:
    """Whether to mirror an image's columns for the hanging (chest walls facing)."""
    return chest_wall_left if laterality == "R" else not chest_wall_left


def detector_flip(chest_wall_left: bool) -> bool:
    """Whether to mirror columns for the detector (its common orientation: chest wall left)."""
    return not chest_wall_left


def hanging(keys: list[str]) -> list[Optional[str]]:
    """The 2 x 2 grid in reading order (row-major), ``None`` for missing views.

    Views other than CC and MLO are not hung.
    """
    have = set(keys)
    return [k if k in have else None for k in HANGING_ORDER]


def grid_position(key: str) -> tuple[int, int]:
    """(row, column) of a view in the hanging grid."""
    index = HANGING_ORDER.index(key)
    return divmod(index, 2)
