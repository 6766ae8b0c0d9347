"""Per-study parameters for ``workstation-batch run --inputs FILE.csv``.

The CSV has one row per study: a ``StudyInstanceUID`` column and one column per
parameter to set, named like the analysis's parameters (``workstation-batch list``
shows them).  An empty cell leaves that parameter as ``--param`` (or the default) gives
it.  Every cell is checked against the parameter's declaration before any study runs;
a fault names the file, row, column and value.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Mapping

from workstation.core.params import specs, with_overrides
from workstation.core.study import Study

UID_COLUMN = "StudyInstanceUID"


class InputsError(ValueError):
    """The inputs table cannot be used (the message names file, row and column)."""


def read_inputs(path: Path, params_type: type) -> dict[str, dict[str, str]]:
    """``StudyInstanceUID -> {parameter: text}`` of the non-empty cells of ``path``."""
    known = {s.name for s in specs(params_type)}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in reader.fieldnames or ()]
            if UID_COLUMN not in columns:
                raise InputsError(f"{path}: no {UID_COLUMN} column (columns: {', '.join(columns) or 'none'})")
            unknown = [c for c in columns if c != UID_COLUMN and c not in known]
            if unknown:
                raise InputsError(f"{path}: column(s) {', '.join(unknown)} are not parameters; "
                                  f"known: {', '.join(sorted(known))}")
            table: dict[str, dict[str, str]] = {}
            for row_number, row in enumerate(reader, start=2):
                cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
                uid = cells.pop(UID_COLUMN, "")
                if not uid:
                    raise InputsError(f"{path}: row {row_number} has no {UID_COLUMN}")
                if uid in table:
                    raise InputsError(f"{path}: row {row_number}: study {uid} is listed twice")
                table[uid] = {k: v for k, v in cells.items() if v != ""}
    except OSError as exc:
        raise InputsError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputsError(f"{path}: not a readable CSV file ({exc})") from None
    return table


def per_study_params(base: Any, path: Path, studies: Iterable[Study]) -> tuple[dict[str, Any], list[str]]:
    """Parameters of every study (``base`` with the study's row applied) and notes.

    Notes name rows whose study was not found.  Raises :class:`InputsError` for a cell
    its parameter does not accept.
    """
    table = read_inputs(path, type(base))
    found = {s.uid for s in studies}
    params: dict[str, Any] = {}
    for uid in found:
        row: Mapping[str, str] = table.get(uid, {})
        try:
            params[uid] = with_overrides(type(base), base, row) if row else base
        except ValueError as exc:
            raise InputsError(f"{path}: study {uid}: {exc}") from None
    notes = [f"{path}: study {uid} is not among the studies found" for uid in table if uid not in found]
    return params, notes
