"""What an analysis plugin provides, so the GUI and the batch CLI can drive any of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn
from workstation.core.study import Study


class InputError(ValueError):
    """The study holds nothing this analysis can run on (message says what is missing)."""


class Result(Protocol):
    """An analysis result: a frozen dataclass that serialises to JSON."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Analysis:
    """One registered analysis.

    Attributes
    ----------
    name
        Command-line name (``workstation-batch run NAME``) and JSON file stem.
    title
        Human title for menus and docks.
    params_type
        Frozen dataclass of parameters; ``params_type()`` gives the defaults.
    run
        ``run(data, params, backend, progress) -> Result``: the pure computation.
    prepare
        ``prepare(study, progress) -> data``: picks and loads the input from a study
        (raises :class:`InputError` when there is none).
    write_artifacts
        ``write_artifacts(result, data, out_dir) -> list[Path]``: files beside the
        JSON (maps, label images, reports); optional.
    panel
        ``"module:Class"`` of the Qt dock widget, imported only by the GUI.
    """

    name: str
    title: str
    params_type: type
    run: Callable[[Any, Any, Backend, Optional[ProgressFn]], Result]
    prepare: Callable[[Study, Optional[ProgressFn]], Any]
    write_artifacts: Optional[Callable[[Any, Any, Path], list[Path]]] = None
    panel: Optional[str] = None
    description: str = ""

    def default_params(self) -> Any:
        return self.params_type()
