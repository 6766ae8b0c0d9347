"""What an analysis contributes to a study report: structured items and one sentence.

An analysis's ``report.py`` defines ``findings(result_json) -> Findings``.  It reads the
result as ``to_json()`` gives it (so the same hook serves a result in memory and one
read back from what ``workstation-batch run`` wrote) and returns:

* :class:`Item` s: one value each (a number with its unit, a category, a text), with
  the JSON key it came from and, where DICOM has one, the code the SR names it by;
* a sentence in plain words for the report text;
* a notice (decision support, not for clinical use) printed with them;
* optionally, images worth showing (:class:`KeySuggestion`): a headless report takes
  its key images from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

Value = Union[float, int, str, None]


@dataclass(frozen=True)
class Code:
    """A coded concept: ``value`` in ``scheme`` (DCM, SCT, LN, UCUM or a local 99... scheme)."""

    value: str
    scheme: str
    meaning: str


@dataclass(frozen=True)
class Item:
    """One structured value of a finding.

    ``value`` is a number (shown with ``decimals`` and ``unit``), a text (a category, a
    side) or ``None`` (shown as ``missing``).  ``key`` is where the value sits in the
    result JSON (``summary.core_ml``, ``per_artery.LAD.agatston``), which is how a
    report item stays traceable to its result.  ``code`` names the concept in the SR
    (a local code is made when ``None``); ``ucum`` is the SR unit (from ``unit`` when
    empty).  Items of one ``group`` (a structure, a lesion) form one measurement group in the SR,
    so that several values of one concept (the volume of each organ) stay apart.
    """

    label: str
    value: Value
    unit: str = ""
    decimals: int = 1
    key: str = ""
    code: Optional[Code] = None
    ucum: str = ""
    missing: str = "n/a"
    group: str = ""

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, (int, float)) and not isinstance(self.value, bool) \
            and math.isfinite(float(self.value))

    @property
    def text(self) -> str:
        """The value as the report prints it (``226.4``, ``180.2 mm3``, ``A2``)."""
        if self.value is None or (isinstance(self.value, float) and not math.isfinite(self.value)):
            return self.missing
        if self.is_number:
            number = f"{float(self.value):.{self.decimals}f}"
            return f"{number} {self.unit}".strip() if self.unit not in ("", "%") else number + self.unit
        return str(self.value)


@dataclass(frozen=True)
class KeySuggestion:
    """An image of the analysis's inputs worth a key image: by SOP instance or by slice of its volume.

    ``annotations`` are records as :func:`workstation.report.key_image_render.draw_annotations`
    draws them (``{"kind": "rectangle", "points": [[r0, c0], [r1, c1]], "text": "1"}``);
    ``window`` (width, level) ``None`` means a window spanning the image's values.
    """

    caption: str
    sop_instance_uid: str = ""
    slice_index: Optional[int] = None
    window: Optional[tuple[float, float]] = None
    annotations: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Findings:
    """An analysis's contribution to a report: items, a sentence, a notice and key image suggestions."""

    items: tuple[Item, ...]
    sentence: str
    notice: str = ""
    key_images: tuple[KeySuggestion, ...] = ()


def lookup(result: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` of a result JSON (``per_artery.LAD.agatston``, ``findings.0.score``)."""
    node: Any = result
    for part in key.split("."):
        if isinstance(node, Mapping):
            node = node[part]
        elif isinstance(node, (list, tuple)):
            node = node[int(part)]
        else:
            raise KeyError(f"{key}: {part!r} is below a {type(node).__name__}")
    return node


def number(result: Mapping[str, Any], key: str) -> Optional[float]:
    """A numeric value of a result JSON, ``None`` when absent or not a finite number."""
    try:
        value = lookup(result, key)
    except (KeyError, IndexError, ValueError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return None
    return float(value)


def ordinal(value: float) -> str:
    """``1st``, ``22nd``, ``63rd``, ``11th``: a whole number as an English ordinal."""
    n = int(round(value))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def item(result: Mapping[str, Any], key: str, label: str, unit: str = "", decimals: int = 1,
         code: Optional[Code] = None, ucum: str = "") -> Item:
    """The :class:`Item` of the number at ``key`` (``None`` when the result has none)."""
    return Item(label, number(result, key), unit, decimals, key, code, ucum)


def text_item(result: Mapping[str, Any], key: str, label: str, code: Optional[Code] = None) -> Item:
    """The :class:`Item` of the text at ``key`` (``None`` when absent)."""
    try:
        value = lookup(result, key)
    except (KeyError, IndexError, ValueError):
        value = None
    return Item(label, None if value is None else str(value), key=key, code=code)
