"""Which models this installation knows, and checking a model file before it is used.

Models are found in two folders, each holding a ``manifest.json``:

* the built-in folder, ``models/`` shipped with the application (in a source checkout
  or editable install the repository's ``models/``; in a package ``workstation/models``);
* the user's folder, from the ``WORKSTATION_MODELS_DIR`` environment variable or a
  setting passed in.  A user model with the same name as a built-in one replaces it,
  when it can be used: otherwise the built-in one is used, and a warning says why.

A fault in the user's folder (a truncated manifest, a bad item, a missing or changed
file) costs only what is faulty, never the built-in models.  :func:`verify` checks the
file's SHA-256 against the manifest, the network's input and output tensors against
the entry, and that the labels name exactly the network's output channels, before any
session is created for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from workstation.core.redact import add_vocabulary
from workstation.ml.manifest import ModelEntry, ModelError, entry_from_dict

log = logging.getLogger(__name__)

ENV_VAR = "WORKSTATION_MODELS_DIR"
MANIFEST = "manifest.json"
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)", "int64": "tensor(int64)",
              "uint8": "tensor(uint8)", "int32": "tensor(int32)"}
_verified: dict[tuple[str, int, int, str], bool] = {}
_warned: set[str] = set()


def builtin_models_dir() -> Path:
    """The folder of the models shipped with the application."""
    try:
        packaged = Path(str(resources.files("workstation") / "models"))
        if (packaged / MANIFEST).is_file():
            return packaged
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - unusual loaders
        pass
    return Path(__file__).resolve().parents[3] / "models"


def user_models_dir(setting: Optional[str | Path] = None) -> Optional[Path]:
    """The user's models folder: ``WORKSTATION_MODELS_DIR`` wins over ``setting``."""
    chosen = os.environ.get(ENV_VAR) or setting
    return Path(chosen).expanduser() if chosen else None


def load_manifest(paths: Path | str | Iterable[Path | str]) -> list[ModelEntry]:
    """Read model entries from manifest files or folders holding ``manifest.json``.

    Parameters
    ----------
    paths
        One path or several; a folder means its ``manifest.json``.  Missing folders
        are skipped (a user folder need not exist); a folder without a manifest or a
        malformed manifest raises :class:`ModelError` naming the file.

    Returns
    -------
    list of ModelEntry
        In file order; a later entry with the same name replaces an earlier one.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    entries: dict[str, ModelEntry] = {}
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            path = path / MANIFEST
            if not path.is_file():
                log.info("no %s in %s", MANIFEST, path.parent)
                continue
        elif not path.exists():
            continue
        for entry in _read_manifest(path):
            entries[entry.name] = entry
    add_vocabulary(entries)  # model names are the program's words, never a patient's
    return list(entries.values())


def _read_manifest(path: Path) -> list[ModelEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable JSON manifest ({exc})") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise ModelError(f"{path}: a manifest needs a 'models' list")
    return [entry_from_dict(item, path.parent, manifest=path) for item in models]


@dataclass(frozen=True)
class Catalogue:
    """The built-in models, the usable entries of the user's folder, and what was wrong there."""

    builtin: dict[str, ModelEntry]
    user: dict[str, ModelEntry]
    problems: tuple[str, ...]

    @property
    def entries(self) -> dict[str, ModelEntry]:
        """Every model by name; a user entry replaces a built-in one of the same name."""
        return {**self.builtin, **self.user}


def read_catalogue(user_dir: Optional[str | Path] = None) -> Catalogue:
    """Built-in and user models; a fault in the user's folder never hides the built-in ones.

    An unreadable user manifest (truncated JSON, no ``models`` list) contributes no
    model, a bad item only itself; each fault is a problem naming the file.  The
    built-in manifest ships with the program and is read strictly.
    """
    builtin = {e.name: e for e in load_manifest(builtin_models_dir())}
    user: dict[str, ModelEntry] = {}
    problems: list[str] = []
    folder = user_models_dir(user_dir)
    path = folder / MANIFEST if folder is not None else None
    if path is not None and path.is_file():
        entries, problems = _read_manifest_items(path)
        user = {e.name: e for e in entries}
        add_vocabulary(user)
    elif folder is not None and folder.is_dir():
        log.info("no %s in %s", MANIFEST, folder)
    return Catalogue(builtin, user, tuple(problems))


def _read_manifest_items(path: Path) -> tuple[list[ModelEntry], list[str]]:
    """The good entries of a manifest and one problem per bad item (or for the whole file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [f"{path}: not a readable JSON manifest ({exc}); its models are not used"]
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [], [f"{path}: a manifest needs a 'models' list; its models are not used"]
    entries, problems = [], []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise ModelError(f"{path}: a model item must be an object, got {item!r}")
            entries.append(entry_from_dict(item, path.parent, manifest=path))
        except (ModelError, TypeError, ValueError, KeyError) as exc:
            problems.append(f"{exc}; this model is not used" if isinstance(exc, ModelError)
                            else f"{path}: a model item is malformed ({type(exc).__name__}: {exc}); it is not used")
    return entries, problems


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def list_models(user_dir: Optional[str | Path] = None, task: Optional[str] = None) -> list[ModelEntry]:
    """All known models (built-in and usable user ones), optionally only those for ``task``.

    Faults in the user's folder are logged (once each) and never hide the built-in models.
    """
    catalogue = read_catalogue(user_dir)
    for problem in catalogue.problems:
        _warn_once(problem)
    return [e for e in catalogue.entries.values() if task is None or e.task == task]


def get_model(name: str, user_dir: Optional[str | Path] = None) -> ModelEntry:
    """The model called ``name``; ``KeyError`` lists the known names.

    A user model carrying a built-in model's name is verified first; if it cannot be
    used (file missing or changed, tensors or labels not matching its entry) the
    built-in model is returned and a warning says why.
    """
    catalogue = read_catalogue(user_dir)
    for problem in catalogue.problems:
        _warn_once(problem)
    entries = catalogue.entries
    if name not in entries:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(entries)) or 'none'}")
    if name in catalogue.user and name in catalogue.builtin:
        try:
            verify(catalogue.user[name])
        except ModelError as exc:
            _warn_once(f"{exc}; the built-in model {name!r} is used instead")
            return catalogue.builtin[name]
    return entries[name]


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(entry: ModelEntry) -> None:
    """Check that ``entry.file`` exists, matches its SHA-256 and its declared tensors.

    Raises
    ------
    ModelError
        Naming the model and the fault: missing file, checksum mismatch, or input or
        output shape/dtype differing from the entry.
    """
    path = Path(entry.file)
    if not path.is_file():
        raise ModelError(f"model {entry.name!r}: file {path} is missing")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, entry.sha256)
    if _verified.get(key):
        return
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise ModelError(
            f"model {entry.name!r}: checksum mismatch for {path} (manifest {entry.sha256[:12]}..., "
            f"file {actual[:12]}...); the file was changed or damaged"
        )
    _check_tensors(entry, path)
    _verified[key] = True


def _check_tensors(entry: ModelEntry, path: Path) -> None:
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"model {entry.name!r}: {path} is not a loadable ONNX model ({exc})") from exc
    inputs = {i.name: i for i in session.get_inputs()}
    spec = entry.input
    if spec.name not in inputs:
        raise ModelError(f"model {entry.name!r}: no input called {spec.name!r}; the network has {sorted(inputs)}")
    actual = inputs[spec.name]
    expected = [None, spec.channels, *spec.tile]
    _compare(entry, f"input {spec.name!r}", actual.shape, actual.type, expected, spec.dtype)
    _check_classes(entry, path, session)
    outputs = {o.name: o for o in session.get_outputs()}
    declared = list(entry.outputs)
    if not declared and entry.task.startswith("segmentation"):
        first = session.get_outputs()[0]
        _compare(entry, f"output {first.name!r}", first.shape, first.type,
                 [None, entry.n_classes, *spec.tile], "float32")
    for out in declared:
        if out.name not in outputs:
            raise ModelError(f"model {entry.name!r}: no output called {out.name!r}; the network has {sorted(outputs)}")
        if out.shape is not None:
            _compare(entry, f"output {out.name!r}", outputs[out.name].shape, outputs[out.name].type,
                     list(out.shape), out.dtype)


def _output_channels(entry: ModelEntry, session: Any) -> tuple[str, int]:
    """The class-score output (``heatmap`` for detectors, else the first) and its channels.

    Read from the graph's output shape; when that dimension is symbolic, from the
    output of one run on a zero tile.
    """
    import numpy as np

    outputs = session.get_outputs()
    chosen = next((o for o in outputs if o.name == "heatmap"), outputs[0]) if entry.task == "detection-2d" \
        else outputs[0]
    shape = list(chosen.shape)
    if len(shape) > 1 and isinstance(shape[1], int):
        return chosen.name, shape[1]
    spec = entry.input
    dtype = np.float16 if spec.dtype == "float16" else np.dtype(spec.dtype)
    zeros = np.zeros((1, spec.channels, *spec.tile), dtype=dtype)
    (scores,) = session.run([chosen.name], {spec.name: zeros})
    return chosen.name, int(np.asarray(scores).shape[1])


def _check_classes(entry: ModelEntry, path: Path, session: Any) -> None:
    """The labels must name the network's classes: 1..C-1 (segmentation, 0 is background), 1..C (detection)."""
    output, channels = _output_channels(entry, session)
    first = 1
    segmentation = entry.task.startswith("segmentation")
    last = channels - 1 if segmentation else channels
    expected = list(range(first, last + 1))
    if sorted(entry.labels) != expected:
        kind = f"background and {channels - 1} classes" if segmentation else f"{channels} classes"
        raise ModelError(
            f"model {entry.name!r} in {entry.manifest or path}: the network's output {output!r} has {channels} "
            f"channels ({kind}) but the manifest names {len(entry.labels)} label(s) {sorted(entry.labels)}; "
            f"it must name labels {first} to {last}")


def _compare(entry: ModelEntry, what: str, shape: Sequence[Any], onnx_type: str,
             expected: Sequence[Optional[int]], dtype: str) -> None:
    want_type = _ORT_TYPES.get(dtype, f"tensor({dtype})")
    if onnx_type != want_type:
        raise ModelError(f"model {entry.name!r}: {what} has type {onnx_type}, the manifest says {dtype}")
    if len(shape) != len(expected):
        raise ModelError(f"model {entry.name!r}: {what} has shape {list(shape)}, the manifest implies {expected}")
    for got, want in zip(shape, expected):
        if want is not None and isinstance(got, int) and got != want:
            raise ModelError(f"model {entry.name!r}: {what} has shape {list(shape)}, the manifest implies {expected}")
