"""Pick the short-axis cine of a study, load it phase by phase, and check it can be measured.

A cine is an MR or CT series with several planes at each of several positions, or
several series that together make one (one series per slice or per phase,
:mod:`.stacking`; the result says so).  Phases are ordered by trigger delay
(TriggerTime, NominalCardiacTriggerDelayTime), else by the temporal position or
instance number (:func:`workstation.io.dicom.load_time_series`
with ``clock="trigger"``).  Refused with a message (:class:`InputError`): no cine,
slices that are not short-axis, fewer than :data:`MIN_PHASES` phases or
:data:`MIN_SLICES` slices.  Warned (the result carries the warning): few phases, no
trigger times, missing slices in the stack, a header phase count that differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from workstation.analyses.base import InputError
from workstation.analyses.inputs import pixel_arrays, source_files, source_instances
from workstation.compute.backend import get_backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Series, Study
from workstation.core.volume import VolumeSeries

MIN_PHASES, MIN_SLICES = 5, 3
FEW_PHASES = 15
#: A slice normal within this angle of a patient axis makes an axial, coronal or sagittal stack.
CARDINAL_DEG = 15.0
AXES = ("sagittal (left-right)", "coronal (anterior-posterior)", "axial (head-foot)")


@dataclass(frozen=True, eq=False)
class CineInput:
    """A short-axis cine: one volume (slices, rows, cols) per phase, and what the header says.

    ``times_s`` are trigger delays (s after the R wave), else acquisition times, else
    evenly spaced over the R-R interval, else phase numbers (``timed`` false).
    ``positions_mm`` are the slices' positions along the slice normal.
    """

    series: VolumeSeries
    times_s: tuple[float, ...]
    timed: bool
    positions_mm: tuple[float, ...]
    thickness_mm: float
    heart_rate_bpm: Optional[float] = None
    height_m: Optional[float] = None
    weight_kg: Optional[float] = None
    sex: str = ""
    notes: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> Any:
        return self.series.reference

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(phases, slices, rows, cols)``."""
        return (len(self.series.volumes), *self.series.reference.shape)

    @property
    def pixel_spacing(self) -> tuple[float, float]:
        return (self.reference.spacing[1], self.reference.spacing[2])

    @property
    def spacing_mm(self) -> float:
        """Median distance between slice centres (slice thickness plus gap)."""
        return float(self.reference.spacing[0])

    @property
    def source_files(self) -> tuple[Path, ...]:
        return source_files(self.series)

    @property
    def source_instances(self) -> tuple[str, ...]:
        return source_instances(self.series)

    @property
    def pixel_arrays(self) -> tuple[Any, ...]:
        return pixel_arrays(self.series)


def _positions(series: Series) -> int:
    return len({f.position for f in series.frames if f.position is not None})


def _phases(series: Series) -> int:
    return len(series.frames) // max(_positions(series), 1)


def cine_series(study: Study) -> Series:
    """The MR or CT cine of ``study`` with the most slices: a series with several phases per slice, or
    several series joined (one per slice or one per phase, :mod:`.stacking`)."""
    from workstation.analyses.cardiac_function.stacking import stacked_cines

    candidates = [s for s in study.series if s.modality.upper() in ("MR", "CT") and _phases(s) >= 2]
    candidates += stacked_cines(study)
    if not candidates:
        raise InputError("cardiac function needs a cine series (several phases at each of several slice "
                         "positions, MR or CT); none found in this study")
    return max(candidates, key=lambda s: (_positions(s), _phases(s)))


def check_short_axis(direction: Any) -> None:
    """Refuse a stack whose slice normal is within :data:`CARDINAL_DEG` of a patient axis."""
    normal = np.abs(np.asarray(direction, dtype=float)[:, 2])
    axis = int(np.argmax(normal))
    angle = float(np.degrees(np.arccos(min(normal[axis] / np.linalg.norm(normal), 1.0))))
    if angle < CARDINAL_DEG:
        raise InputError(f"the cine's slices are {AXES[axis].split(' ')[0]}: its slice normal lies {angle:.0f} "
                         f"degrees from the {AXES[axis]} axis, so it is not a short-axis stack (the slice normal "
                         "runs along the LV long axis, oblique to every patient axis). Volumes by summation of "
                         "discs need short-axis slices; reformat the cine to short axis or choose that series")


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> CineInput:
    """Load the study's short-axis cine and check it."""
    from workstation.analyses.cardiac_function.stacking import JOINED
    from workstation.io.dicom import load_time_series

    series = cine_series(study)
    loaded = load_time_series(series, progress, allocate=get_backend().host_empty, clock="trigger")
    cine = cine_input(loaded, sex=study.patient_sex)
    joined = series.meta.get(JOINED)
    return replace(cine, notes=(f"cine of {joined}", *cine.notes)) if joined else cine


def cine_input(loaded: VolumeSeries, *, sex: str = "") -> CineInput:
    """Check a loaded cine and gather what the measurements need from its header."""
    ref = loaded.reference
    meta = dict(loaded.meta or ref.meta)
    n_phases, n_slices = len(loaded.volumes), ref.shape[0]
    check_short_axis(ref.direction)
    if n_phases < MIN_PHASES:
        raise InputError(f"too few phases: the cine has {n_phases} per slice; ED and ES need at least {MIN_PHASES} "
                         "(a cine usually has 20 to 30)")
    if n_slices < MIN_SLICES:
        raise InputError(f"too few slices: the stack has {n_slices}; a short-axis stack from base to apex needs at "
                         f"least {MIN_SLICES}")
    # the loader's own words for what the result says more precisely (gaps, missing times)
    notes = [str(i) for i in meta.get("issues") or ()
             if not str(i).startswith(("no usable times", "missing slices"))]
    rr = _rr_ms(meta)
    heart_rate = 60000.0 / rr if rr else None
    times, timed = tuple(float(t) for t in loaded.times), True
    source = meta.get("times_from", "trigger")
    if source == "acquisition":
        notes.append("missing trigger times: phases ordered and timed by their acquisition times")
    elif source == "index":
        timed = bool(rr)
        if rr:
            times = tuple(k * rr / 1000.0 / n_phases for k in range(n_phases))
            notes.append("missing trigger times: phases ordered by temporal position or instance number and taken "
                         f"as evenly spaced over the R-R interval ({rr:.0f} ms from the header)")
        else:
            notes.append("missing trigger times: phases ordered by temporal position or instance number; no heart "
                         "rate in the header, so the curve is drawn against phase number and no cardiac output "
                         "is given")
    if n_phases < FEW_PHASES:
        step = f" ({1000.0 * (times[1] - times[0]):.0f} ms apart)" if timed else ""
        notes.append(f"few phases: {n_phases}{step}; end-systole may fall between phases, which underestimates "
                     "the ejection fraction")
    expected = meta.get("cardiac_number_of_images")
    if expected and int(expected) != n_phases:
        notes.append(f"the header says {int(expected)} phases per slice; {n_phases} were found")
    thickness = float(meta.get("slice_thickness") or ref.spacing[0])
    return CineInput(series=loaded, times_s=times, timed=timed, positions_mm=_slice_positions(loaded),
                     thickness_mm=thickness, heart_rate_bpm=heart_rate, height_m=meta.get("patient_height_m"),
                     weight_kg=meta.get("patient_weight_kg"), sex=str(sex or meta.get("patient_sex") or "").upper(),
                     notes=tuple(dict.fromkeys(notes)), meta=meta)


def _rr_ms(meta: dict[str, Any]) -> Optional[float]:
    """The R-R interval (ms): from the heart rate, else the nominal interval."""
    rate = meta.get("heart_rate_bpm")
    if rate:
        return 60000.0 / float(rate)
    interval = meta.get("nominal_interval_ms")
    return float(interval) if interval else None


def _slice_positions(loaded: VolumeSeries) -> tuple[float, ...]:
    """Each slice's position along the normal (mm), from the files' planes when the stack has gaps.

    The volume is a regular grid at the median step; a missing slice shows as a larger
    step between the stored planes' positions.
    """
    ref = loaded.reference
    regular = tuple(float(k * ref.spacing[0]) for k in range(ref.shape[0]))
    planes = ref.meta.get("slice_positions_mm")
    return tuple(float(p) for p in planes) if planes and len(planes) == ref.shape[0] else regular


def example_study(folder: Path) -> None:
    """A small synthetic short-axis cine (8 slices x 12 phases, 96 x 96 at 3 mm), as MR DICOM."""
    from workstation.demo.cardiac_dicom import write_cine
    from workstation.demo.cardiac_phantom import generate_cine

    write_cine(generate_cine(11, n_slices=8, n_phases=12, rows=96, cols=96, pixel_mm=3.0, thickness_mm=10.0,
                             gap_mm=2.0), folder)
