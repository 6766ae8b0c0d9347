"""The files an analysis writes, declared once and used by its panel and by the batch.

An analysis's ``artifacts.py`` declares an :class:`ArtifactSet`: one :class:`Artifact`
per kind of file (label image, maps, PDF report, DICOM SR/SEG/derived series, JSON),
each a writer ``write(result, inputs, context) -> [paths]``.  :meth:`ArtifactSet.write`
is the only way they are written: it refuses a folder that holds (or lies inside) the
inputs' source folders, makes the folder, identifies patient and study for reports
and derived DICOM from the study or a source header, and writes the artifacts chosen
(default: those marked ``batch``, which ``workstation-batch`` writes beside the JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Optional, Sequence, TypeVar

from workstation.analyses.inputs import source_files
from workstation.core.study import Study
from workstation.io.writers import check_outside_sources, source_folders, source_header, write_json
from workstation.report.model import ReportHeader, ReportSection
from workstation.report.pdf import write_pdf

I = TypeVar("I")  # noqa: E741 - the inputs type
R = TypeVar("R")


@dataclass(frozen=True)
class ArtifactContext:
    """What a writer gets besides the result and inputs: where, and for whom."""

    folder: Path
    header: ReportHeader
    source: Any = None  # pydicom header of a source image (None for inputs built in memory)
    study: Optional[Study] = None


Writer = Callable[[R, I, ArtifactContext], list[Path]]


@dataclass(frozen=True)
class Artifact(Generic[I, R]):
    """One kind of file: its name, the file names it writes, and its writer."""

    name: str
    files: str
    title: str
    write: Callable[[R, I, ArtifactContext], list[Path]]
    batch: bool = True


@dataclass(frozen=True)
class ArtifactSet(Generic[I, R]):
    """Every file an analysis writes."""

    artifacts: tuple[Artifact[I, R], ...]

    def names(self, *, batch_only: bool = False) -> tuple[str, ...]:
        return tuple(a.name for a in self.artifacts if a.batch or not batch_only)

    def get(self, name: str) -> Artifact[I, R]:
        for a in self.artifacts:
            if a.name == name:
                return a
        raise KeyError(f"no artifact {name!r}; known: {', '.join(self.names())}")

    def write(self, result: R, inputs: I, folder: str | Path, *, names: Optional[Sequence[str]] = None,
              study: Optional[Study] = None) -> list[Path]:
        """Write the artifacts ``names`` (default: the batch ones) into ``folder``.

        Raises
        ------
        workstation.io.writers.SourceFolderError
            When ``folder`` is a folder the inputs (or the study's images) were read from,
            or lies inside one; nothing is written then.
        """
        chosen = [self.get(n) for n in names] if names is not None else [a for a in self.artifacts if a.batch]
        files = source_files(inputs)
        sources = source_folders(files)
        if study is not None:
            sources |= source_folders(f.path for s in study.series for f in s.frames)
        target = check_outside_sources(folder, sources)
        target.mkdir(parents=True, exist_ok=True)
        source = source_header(files) if files else None
        header = ReportHeader.from_study(study) if study is not None else ReportHeader.from_dataset(source)
        context = ArtifactContext(target, header, source, study)
        written: list[Path] = []
        for artifact in chosen:
            written += artifact.write(result, inputs, context)
        return written


def json_artifact(filename: str, *, batch: bool = False) -> Artifact[Any, Any]:
    """The result's ``to_json()`` as a file (the batch writes its own JSON beside the artifacts)."""

    def write(result: Any, _inputs: Any, context: ArtifactContext) -> list[Path]:
        return [write_json(result.to_json(), context.folder / filename)]

    return Artifact("json", filename, "Result (JSON)", write, batch=batch)


def report_artifact(filename: str, title: str, section: Callable[[Any, Any], ReportSection], *,
                    batch: bool = True) -> Artifact[Any, Any]:
    """The analysis's report section as a PDF under the patient/study header."""

    def write(result: Any, inputs: Any, context: ArtifactContext) -> list[Path]:
        return [write_pdf(context.folder / filename, title, context.header, [section(result, inputs)])]

    return Artifact("report", filename, "PDF report", write, batch=batch)
