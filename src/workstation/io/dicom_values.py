"""Small converters from DICOM attribute values to Python numbers and dates.

Each returns ``None`` for a missing or malformed value instead of raising: a header
with one odd attribute should still load.
"""

from __future__ import annotations

import math
import os
import struct
from datetime import date
from functools import lru_cache
from typing import Any, Optional, Sequence

from pydicom import config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement


def as_float(value: Any) -> Optional[float]:
    """A finite float from a DS/FD/IS value (first item of a multi-value), else None."""
    if value is None or value == "":
        return None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) == 0:
            return None
        value = value[0]
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def as_int(value: Any) -> Optional[int]:
    """An int from an IS/US value, else None."""
    number = as_float(value)
    return None if number is None else int(round(number))


def as_floats(value: Any, n: int) -> Optional[tuple[float, ...]]:
    """Exactly ``n`` finite floats from a multi-valued attribute, else None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):  # one value, not a sequence of characters
        value = [value]
    try:
        items = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(items) != n or not all(math.isfinite(v) for v in items):
        return None
    return tuple(items)


def tm_seconds(value: Any) -> Optional[float]:
    """Seconds since midnight of a TM value (``HHMMSS.FFFFFF``; also ``HH:MM:SS``)."""
    if value is None:
        return None
    text = str(value).strip().replace(":", "")
    if len(text) < 2 or not text[:2].isdigit():
        return None
    try:
        hours = int(text[0:2])
        minutes = int(text[2:4]) if len(text) >= 4 else 0
        seconds = float(text[4:]) if len(text) > 4 else 0.0
    except ValueError:
        return None
    return hours * 3600.0 + minutes * 60.0 + seconds


def dt_seconds(value: Any) -> Optional[float]:
    """Seconds since midnight of a DT value (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``)."""
    if value is None:
        return None
    text = str(value).strip()
    for sign in ("+", "-"):
        if sign in text[8:]:
            text = text[: 8 + text[8:].index(sign)]
    if len(text) <= 8:
        return None
    return tm_seconds(text[8:])


def da_date(value: Any) -> Optional[date]:
    """A date from a DA value (``YYYYMMDD``; also ``YYYY.MM.DD``)."""
    if value is None:
        return None
    text = str(value).strip().replace(".", "").replace("-", "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def age_years(patient_age: Any, birth: Optional[date], on: Optional[date]) -> Optional[float]:
    """Age in years from PatientAge (``NNND/W/M/Y``), else from birth date to ``on``."""
    text = str(patient_age or "").strip().upper()
    units = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}
    if len(text) >= 2 and text[-1] in units and text[:-1].isdigit():
        return int(text[:-1]) * units[text[-1]]
    if birth is not None and on is not None and on >= birth:
        years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
        return float(years)
    return None


def first_text(value: Any) -> str:
    """A stripped string (the first item of a multi-value), '' when missing."""
    if value is None:
        return ""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return str(value[0]).strip() if len(value) else ""
    return str(value).strip()


_FAST_VRS = {"DS", "IS", "CS", "UI", "DA", "TM", "DT", "AS"}
_TEXT_VRS = {"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
# Malformed values are this module's business (unknown, or a load problem naming the
# attribute); pydicom's validation warnings would also copy raw values, patient data
# included, into the logs.
config.settings.reading_validation_mode = config.IGNORE


class BadValue(ValueError):
    """An attribute is present but cannot be read (wrong VR, bad bytes, beyond the file's end)."""

    def __init__(self, keyword: str, reason: str) -> None:
        self.keyword = keyword
        super().__init__(f"unreadable {keyword} ({reason})")


@lru_cache(maxsize=512)
def _tag_and_vr(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"unknown DICOM keyword {keyword!r}")
    return int(tag), dictionary_VR(tag)


def _file_size(ds: Any) -> Optional[int]:
    name = getattr(ds, "filename", None)
    if not isinstance(name, str):
        return None
    try:
        return os.path.getsize(name)
    except OSError:
        return None


def value(ds: Any, keyword: str) -> Any:
    """The value of ``keyword`` in ``ds``, or None when absent.

    Plain-ASCII values (DS, IS, CS, UI, dates and times) and US numbers are decoded
    straight from the raw bytes, skipping pydicom's general conversion, which
    dominates header reading; multi-values come back as a list of strings.  pydicom
    converts the others lazily, here, so every conversion fault surfaces here.

    Raises
    ------
    BadValue
        When the attribute is present but cannot be converted (a wrong or unknown VR,
        a length that is not a multiple of the value size, a deferred value said to
        reach beyond the end of the file).
    """
    tag, vr = _tag_and_vr(keyword)
    if ds is None:
        return None
    try:
        elem = ds.get_item(tag, keep_deferred=True)
    except Exception as exc:  # noqa: BLE001 - a malformed item is a fault of the file
        raise BadValue(keyword, type(exc).__name__) from None
    if elem is None:
        return None
    if isinstance(elem, RawDataElement):
        raw = elem.value
        if raw is None and elem.length not in (0, 0xFFFFFFFF):
            size = _file_size(ds)
            if size is None or elem.value_tell + elem.length > size:
                raise BadValue(keyword, f"its {elem.length} bytes reach beyond the end of the file")
        elif isinstance(raw, bytes):
            if vr == "US" and len(raw) >= 2:
                return struct.unpack("<H" if elem.is_little_endian else ">H", raw[:2])[0]
            if vr in _FAST_VRS or (vr in _TEXT_VRS and elem.VR not in (None, vr)):
                # The dictionary's VR wins over a wrong one in the file: the bytes are text.
                text = raw.decode("latin-1").strip(" \x00")
                return text.split("\\") if "\\" in text else text
    try:
        return ds[tag].value
    except Exception as exc:  # noqa: BLE001 - pydicom's conversion faults are faults of the file
        raise BadValue(keyword, type(exc).__name__) from None


def optional(ds: Any, keyword: str) -> Any:
    """:func:`value` for a type 2 or 3 attribute: a malformed value counts as unknown (None)."""
    try:
        return value(ds, keyword)
    except BadValue:
        return None
