"""What opening a series loads for reading: its pixels, the protocol's other images and the prior.

:func:`load_reading` runs in a job (no Qt): it decides how the series reads
(:func:`~workstation.io.dicom_images.reading_kind`), picks the hanging protocol from the
study's facts, and loads what the protocol shows: the volume (or every time point of
a dynamic series, or the image stack), the images of the study's other series the
protocol names (the four views of a mammogram stored as four series), and the
comparable series of a prior study of the same patient among those opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from workstation.core.images import ImageStack
from workstation.core.progress import ProgressFn, report, scaled
from workstation.core.study import Series, Study
from workstation.core.volume import Volume, VolumeSeries
from workstation.ui.hanging_protocols import HangingProtocol, StudyFacts, choose


@dataclass
class Prior:
    """A prior study of the patient and the volume of its comparable series."""

    study: Study
    series: Series
    volume: Optional[Volume] = None


@dataclass
class Reading:
    """Everything loaded to read one series under one protocol."""

    study: Optional[Study]
    series: Series
    kind: str
    volume: Volume  # what the context shows (the first time point, the first image)
    protocol: HangingProtocol
    time_series: Optional[VolumeSeries] = None
    stacks: list[ImageStack] = field(default_factory=list)
    prior: Optional[Prior] = None
    facts: Optional[StudyFacts] = None

    @property
    def n_images(self) -> int:
        return sum(len(s.images) for s in self.stacks)


def find_prior(study: Optional[Study], series: Series, studies: Iterable[Study]) -> Optional[Prior]:
    """The most recent earlier study of the same patient with a series of the same modality.

    Studies without a date count as earlier than dated ones; a study without a
    PatientID has no prior.
    """
    if study is None or not study.patient_id:
        return None
    candidates = []
    for other in studies:
        if other.uid == study.uid or other.patient_id != study.patient_id:
            continue
        if study.study_date is not None and other.study_date is not None and other.study_date > study.study_date:
            continue
        same = [s for s in other.series if s.modality == series.modality]
        if same:
            candidates.append((other.study_date.toordinal() if other.study_date else 0, other,
                               max(same, key=lambda s: s.n_frames)))
    if not candidates:
        return None
    _, other, best = max(candidates, key=lambda c: c[0])
    return Prior(other, best)


def body_part(series: Series) -> str:
    """BodyPartExamined of the series' first image ('' when unknown)."""
    from workstation.io.dicom_display import read_facts
    from workstation.io.errors import DicomReadError

    if not series.frames:
        return ""
    try:
        return read_facts(series.frames[0].path).body_part
    except DicomReadError:
        return ""


def load_reading(study: Optional[Study], series: Series, studies: Sequence[Study],
                 protocols: Sequence[HangingProtocol], forced: Optional[HangingProtocol] = None,
                 progress: Optional[ProgressFn] = None) -> Reading:
    """Load ``series`` and what its hanging protocol shows besides (see the module notes)."""
    from workstation.io.dicom import load_time_series
    from workstation.io.dicom_images import load_display_volume, load_images, reading_kind, with_display

    kind = reading_kind(series)
    prior = find_prior(study, series, studies) if kind == "volume" else None
    n_series = len(study.series) if study is not None else 1
    facts = StudyFacts(series.modality.upper(), body_part(series), kind, n_series, series.n_frames, prior is not None)
    protocol = forced or choose(facts, protocols)
    report(progress, 0.05, f"Hanging protocol: {protocol.name}")
    main = scaled(progress, 0.05, 0.7)
    time_series: Optional[VolumeSeries] = None
    stacks: list[ImageStack] = []
    if kind == "images":
        stacks.append(load_images(series, main))
        volume = stacks[0].images[0].volume
    elif kind == "dynamic":
        loaded = load_time_series(series, main)
        reference = with_display(series, loaded.reference)
        time_series = VolumeSeries(tuple([reference, *loaded.volumes[1:]]), loaded.times, loaded.meta)
        volume = reference
    else:
        volume = load_display_volume(series, main)
    wanted = {vp.modality for vp in protocol.viewports if vp.kind == "image" and vp.modality}
    if study is not None and wanted:
        others = [s for s in study.series if s.uid != series.uid and s.modality in wanted]
        for k, other in enumerate(others):
            stacks.append(load_images(other, scaled(progress, 0.7 + 0.15 * k / len(others),
                                                    0.7 + 0.15 * (k + 1) / len(others))))
    if prior is not None and any(vp.kind == "prior" for vp in protocol.viewports):
        prior.volume = load_display_volume(prior.series, scaled(progress, 0.85, 1.0))
    report(progress, 1.0, "Loaded")
    facts = StudyFacts(facts.modality, facts.body_part, kind, n_series,
                       sum(len(s.images) for s in stacks) or 1, prior is not None)
    return Reading(study, series, kind, volume, protocol, time_series, stacks, prior, facts)
