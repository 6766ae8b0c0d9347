"""Pick and read the mammograms of a study: one image per view, presentation values.

For Presentation images (PresentationIntentType or the SOP class) are preferred; For
Processing images are accepted when a view has nothing else and converted with a
log-inverse: raw detector values are linear in exposure, so
``p = ln(M) - ln(raw)`` (``M`` the largest raw value plus one) is proportional to the
attenuation line integral, bright where tissue is dense, as a For Presentation image
is.  The result is scaled to 0..4095.  MONOCHROME1 images are inverted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.base import InputError
from workstation.analyses.mammo_cad.views import (
    HANGING_ORDER, ViewError, chest_wall_left_from_header, chest_wall_left_from_orientation, laterality_of,
    view_key, view_position_of,
)
from workstation.core.progress import ProgressFn, report

log = logging.getLogger(__name__)

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
#: The folder named by images built in memory (:func:`exam_from_arrays`): not a file.
IN_MEMORY = Path("memory")


@dataclass(frozen=True, eq=False)
class MammoImage:
    """One mammogram ready for the CAD: presentation values and what the header said."""

    key: str  # "R-CC"
    laterality: str
    position: str
    pixels: NDArray[np.float32]  # (rows, columns), bright = dense
    spacing_mm: tuple[float, float]  # (row, column)
    chest_wall_left: Optional[bool]  # from PatientOrientation; None: decide from pixels
    path: Path
    sop_instance_uid: str
    sop_class_uid: str
    for_processing: bool = False
    patient_orientation: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class MammoExam:
    """The images of one mammography study in hanging order, and what was noticed."""

    images: tuple[MammoImage, ...]
    study_uid: str = ""
    patient_id: str = ""
    patient_name: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def get(self, key: str) -> Optional[MammoImage]:
        return next((im for im in self.images if im.key == key), None)

    @property
    def source_files(self) -> tuple[Path, ...]:
        return tuple(im.path for im in self.images if im.path.parent != IN_MEMORY)

    @property
    def source_instances(self) -> tuple[str, ...]:
        return tuple(im.sop_instance_uid for im in self.images) if self.source_files else ()

    @property
    def pixel_arrays(self) -> tuple[Any, ...]:
        return tuple(im.pixels for im in self.images)


def _is_for_processing(ds: Any) -> bool:
    intent = str(getattr(ds, "PresentationIntentType", "")).upper()
    if intent:
        return intent == "FOR PROCESSING"
    return str(getattr(ds, "SOPClassUID", "")) == MG_FOR_PROCESSING


def log_inverse(raw: NDArray[Any]) -> NDArray[np.float32]:
    """For Processing (linear) values -> presentation-like values in 0..4095."""
    raw = np.asarray(raw, dtype=np.float64)
    m = float(raw.max()) + 1.0
    p = np.log(m) - np.log(np.clip(raw, 0, None) + 1.0)
    top = float(p.max())
    return (p * (4095.0 / top if top > 0 else 1.0)).astype(np.float32)


def _spacing(ds: Any, path: Path) -> tuple[float, float]:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = getattr(ds, keyword, None)
        if value and len(value) == 2 and float(value[0]) > 0 and float(value[1]) > 0:
            return (float(value[0]), float(value[1]))
    raise InputError(f"{path}: no PixelSpacing or ImagerPixelSpacing")


def read_image(path: Path) -> MammoImage:
    """Read one MG file (header and pixels); raises InputError naming the file."""
    import pydicom
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(path)
        lat, pos = laterality_of(ds), view_position_of(ds)
        pixels = np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float32)
    except ViewError as exc:
        raise InputError(f"{path}: {exc}") from exc
    except Exception as exc:
        raise InputError(f"{path}: not a readable mammogram ({type(exc).__name__}: {exc})") from exc
    if pixels.ndim != 2:
        raise InputError(f"{path}: expected one 2D image, got shape {pixels.shape}")
    processing = _is_for_processing(ds)
    if processing:
        pixels = log_inverse(pixels)
    elif str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return MammoImage(view_key(lat, pos), lat, pos, pixels, _spacing(ds, path),
                      chest_wall_left_from_header(ds), Path(path), str(ds.SOPInstanceUID),
                      str(ds.SOPClassUID), processing,
                      tuple(str(v).upper() for v in (getattr(ds, "PatientOrientation", None) or ())))


def _header_candidates(paths: Iterable[Path]) -> tuple[dict[str, list[tuple[bool, int, Path]]], list[str], dict[str, str]]:
    import pydicom

    found: dict[str, list[tuple[bool, int, Path]]] = {}
    warnings: list[str] = []
    ids: dict[str, str] = {}
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as exc:
            warnings.append(f"{path.name}: not readable ({type(exc).__name__})")
            continue
        if str(getattr(ds, "Modality", "")) != "MG":
            continue
        try:
            key = view_key(laterality_of(ds), view_position_of(ds))
        except ViewError as exc:
            warnings.append(f"{path.name}: skipped, {exc}")
            continue
        found.setdefault(key, []).append((_is_for_processing(ds), int(getattr(ds, "InstanceNumber", 0) or 0), path))
        ids.setdefault("study_uid", str(getattr(ds, "StudyInstanceUID", "")))
        ids.setdefault("patient_id", str(getattr(ds, "PatientID", "")))
        ids.setdefault("patient_name", str(getattr(ds, "PatientName", "")))
    return found, warnings, ids


def load_exam(paths: Iterable[Path | str], progress: Optional[ProgressFn] = None) -> MammoExam:
    """Read the MG images among ``paths`` (files or folders) into a :class:`MammoExam`."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    found, warnings, ids = _header_candidates(files)
    if not found:
        raise InputError("no mammogram (Modality MG with laterality and view) among the given files")
    images = []
    keys = [k for k in HANGING_ORDER if k in found] + sorted(k for k in found if k not in HANGING_ORDER)
    for i, key in enumerate(keys):
        report(progress, i / len(keys), f"Reading {key}")
        # For Presentation first, then the highest instance number
        choice = sorted(found[key], key=lambda c: (c[0], -c[1]))
        if sum(c[0] == choice[0][0] for c in choice) > 1:
            warnings.append(f"{key}: {len(choice)} images, used {choice[0][2].name}")
        image = read_image(choice[0][2])
        if image.for_processing:
            warnings.append(f"{key}: only a For Processing image; converted by log-inverse")
        images.append(image)
    missing = [k for k in HANGING_ORDER if k not in found]
    if missing:
        warnings.append("missing views: " + ", ".join(missing))
    report(progress, 1.0, "Images read")
    return MammoExam(tuple(images), ids.get("study_uid", ""), ids.get("patient_id", ""),
                     ids.get("patient_name", ""), tuple(warnings))


def exam_from_arrays(
    images: dict[str, NDArray[Any]],
    spacing_mm: float | tuple[float, float],
    orientations: Optional[dict[str, tuple[str, str]]] = None,
) -> MammoExam:
    """An exam from in-memory presentation images keyed ``"R-CC"`` ... (tests, benchmarks).

    ``orientations`` gives PatientOrientation per view; without it the chest-wall side
    is found from the pixels.
    """
    spacing = (float(spacing_mm), float(spacing_mm)) if np.isscalar(spacing_mm) else tuple(spacing_mm)  # type: ignore[arg-type]
    out = []
    keys = [k for k in HANGING_ORDER if k in images] + sorted(k for k in images if k not in HANGING_ORDER)
    for i, key in enumerate(keys):
        lat, pos = key.split("-")
        orient = tuple((orientations or {}).get(key, ()))
        wall = chest_wall_left_from_orientation(orient)
        out.append(MammoImage(key, lat, pos, np.asarray(images[key], dtype=np.float32), spacing,  # type: ignore[arg-type]
                              wall, IN_MEMORY / key, f"2.25.{i + 1}", MG_FOR_PRESENTATION, False, orient))
    return MammoExam(tuple(out))
