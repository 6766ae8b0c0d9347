"""The models a panel may offer: built-in ones plus the usable ones of the user's folder.

Unlike :func:`workstation.ml.registry.list_models`, a fault in the user's folder (no
folder, no or unreadable ``manifest.json``, a bad item, a missing or changed file, a
network whose tensors differ from its entry) does not hide the built-in models: the
faulty model (or, for a manifest that cannot be read whole, the folder) is left out
and the fault is reported in words naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from workstation.ml.manifest import ModelEntry, ModelError, entry_from_dict
from workstation.ml.registry import MANIFEST, builtin_models_dir, load_manifest, user_models_dir, verify


@dataclass(frozen=True)
class ModelChoice:
    """A usable model and the ``models_dir`` to run it with (``None``: the built-in one)."""

    entry: ModelEntry
    models_dir: Optional[str]


@dataclass(frozen=True)
class ModelListing:
    """The usable models of a task, the user folder read, and what was wrong in it."""

    choices: tuple[ModelChoice, ...]
    user_dir: Optional[Path]
    problems: tuple[str, ...]


def available_models(setting: Optional[str], task: str,
                     check: Callable[[ModelEntry], None] = verify) -> ModelListing:
    """Built-in and user models for ``task``; user ones only if ``check`` accepts them.

    ``setting`` is the stored models folder (``WORKSTATION_MODELS_DIR`` wins over it).
    A valid user model replaces a built-in one of the same name; a faulty one does not.
    """
    problems: list[str] = []
    choices: dict[str, ModelChoice] = {}
    try:
        for entry in load_manifest(builtin_models_dir()):
            if entry.task == task:
                choices[entry.name] = ModelChoice(entry, None)
    except ModelError as exc:
        problems.append(f"built-in models: {exc}")
    user_dir = user_models_dir(setting)
    if user_dir is not None:
        entries = _read_user_manifest(user_dir, problems)
        for entry in (e for e in entries if e.task == task):
            fault = _fault(entry, check)
            if fault is None:
                choices[entry.name] = ModelChoice(entry, str(user_dir))
            else:
                builtin = entry.name in choices and choices[entry.name].models_dir is None
                kept = " (the built-in one is used)" if builtin else ""
                problems.append(fault + kept)
    return ModelListing(tuple(choices.values()), user_dir, tuple(problems))


def _read_user_manifest(folder: Path, problems: list[str]) -> list[ModelEntry]:
    """The readable entries of ``folder/manifest.json``; each fault is added to ``problems``."""
    path = folder / MANIFEST
    if not folder.is_dir():
        problems.append(f"models folder {folder} does not exist")
        return []
    if not path.is_file():
        problems.append(f"models folder {folder} has no {MANIFEST}")
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path}: not a readable JSON manifest ({exc})")
        return []
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        problems.append(f"{path}: a manifest needs a 'models' list")
        return []
    entries, faults = [], []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise ModelError(f"{path}: a model item must be an object, got {item!r}")
            entries.append(entry_from_dict(item, folder, manifest=path))
        except ModelError as exc:
            faults.append(str(exc))
    if faults:  # the registry reads a manifest whole, so none of its models would run
        problems.extend(faults)
        problems.append(f"no model of {path} is offered until these are fixed")
        return []
    return entries


def _fault(entry: ModelEntry, check: Callable[[ModelEntry], None]) -> Optional[str]:
    """Why ``entry`` cannot be used (``check``'s message naming the model), or ``None``."""
    try:
        check(entry)
    except ModelError as exc:
        return str(exc)
    except Exception as exc:  # ONNX Runtime missing or failing: still a message, not a crash
        return f"model {entry.name!r}: could not be checked ({type(exc).__name__}: {exc})"
    return None
