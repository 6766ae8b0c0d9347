"""What an analysis plugin provides, so the GUI, the batch CLI and the job queue can drive any of them.

The contract, file by file in ``analyses/<name>/`` (``docs/contributing.md`` walks
through it):

``params.py``     a frozen :class:`~workstation.core.params.Params` dataclass; every
                  field declares unit, default and valid range
                  (:func:`~workstation.core.params.param`)
``prepare.py``    ``prepare(study, progress) -> inputs``; :class:`InputError` when the
                  study holds nothing to run on
``logic.py``      ``run(inputs, params, backend, progress) -> result``, pure (no Qt, no
                  files), and ``estimate_memory(inputs, params, backend) -> bytes``
``result.py``     a frozen result with ``to_json()`` and its ``provenance``
``artifacts.py``  the :class:`~.artifacts.ArtifactSet` of every file it writes
``report.py``     ``section(result, inputs) -> ReportSection`` built from ``report/``, and
                  ``findings(result_json) -> Findings``: its items and sentence in a
                  study report
``panel.py``      the Qt dock (an :class:`AnalysisPanel`)
``__init__.py``   ``ANALYSIS = Analysis(...)`` tying these together
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, Mapping, Optional, Protocol, Sequence, TypeVar, runtime_checkable

from workstation.analyses.artifacts import ArtifactSet
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn
from workstation.core.provenance import Provenance
from workstation.core.study import Study
from workstation.report.findings import Findings
from workstation.report.model import ReportSection

I = TypeVar("I")  # noqa: E741 - the inputs type
P = TypeVar("P")
R = TypeVar("R", bound="Result")


class InputError(ValueError):
    """The study holds nothing this analysis can run on (message says what is missing)."""


@runtime_checkable
class Result(Protocol):
    """An analysis result: a frozen dataclass that serialises to JSON and says how it was made."""

    @property
    def provenance(self) -> Provenance: ...

    def to_json(self) -> dict[str, Any]: ...


@runtime_checkable
class AnalysisPanel(Protocol):
    """What every analysis dock offers the main window and its tests.

    The panel is built as ``Panel(context)`` with the shared
    :class:`~workstation.analyses.panel_api.ViewerContext`.
    """

    @property
    def result(self) -> Any:
        """The result shown (``None`` before a run or after the study changed)."""

    def start(self) -> None:
        """Run the analysis on what the context holds, in a background job."""

    def export_to(self, folder: Path) -> Any:
        """Write the panel's export through its ``artifacts.py``; refuses a source folder."""

    def export(self, folder: Optional[Path] = None) -> list[Path]:
        """What the Export button does: default folder beside the study; faults shown, never raised."""


MemoryEstimate = Callable[[Any, Any, Backend], int]


@dataclass(frozen=True)
class Analysis(Generic[I, P, R]):
    """One registered analysis.

    Attributes
    ----------
    name
        Command-line name (``workstation-batch run NAME``) and JSON file stem.
    title
        Human title for menus, docks and report sections.
    params_type
        Frozen parameters dataclass; ``params_type()`` gives the defaults.
    run
        ``run(inputs, params, backend, progress) -> result``: the pure computation.
    prepare
        ``prepare(study, progress) -> inputs`` (raises :class:`InputError`).
    artifacts
        Every file the analysis writes (panel and batch both use it).
    estimate_memory
        ``estimate_memory(inputs, params, backend) -> bytes`` the run needs on the
        backend's device at its peak (the job queue places work by it).
    report
        ``report(result, inputs) -> ReportSection``: the analysis's part of a report.
    findings
        ``findings(result_json) -> Findings``: the structured items and the sentence in
        plain words this result adds to a study report, read from ``to_json()`` (so a
        result written by ``workstation-batch run`` serves as well as one in memory).
    example
        ``example(folder)`` writes a small synthetic study this analysis runs on, as
        DICOM (contract tests, documentation, demos).
    commands
        Extra ``workstation-batch`` sub-commands: name -> module defining ``HELP``,
        ``add_arguments(parser)`` and ``main(args) -> int``.
    panel
        ``"module:Class"`` of the Qt dock, imported only by the GUI.
    """

    name: str
    title: str
    params_type: type[P]
    run: Callable[[I, P, Backend, Optional[ProgressFn]], R]
    prepare: Callable[[Study, Optional[ProgressFn]], I]
    artifacts: Optional[ArtifactSet[I, R]] = None
    estimate_memory: Optional[Callable[[I, P, Backend], int]] = None
    report: Optional[Callable[[R, I], ReportSection]] = None
    findings: Optional[Callable[[Mapping[str, Any]], Findings]] = None
    example: Optional[Callable[[Path], None]] = None
    commands: Mapping[str, str] = field(default_factory=dict)
    panel: Optional[str] = None
    description: str = ""

    def default_params(self) -> P:
        return self.params_type()

    def write_artifacts(self, result: R, inputs: I, out_dir: str | Path, *, names: Optional[Sequence[str]] = None,
                        study: Optional[Study] = None) -> list[Path]:
        """Write the artifacts ``names`` (default: the batch ones) into ``out_dir``; never a source folder."""
        if self.artifacts is None:
            return []
        return self.artifacts.write(result, inputs, out_dir, names=names, study=study)
