"""Which models this installation knows, and checking a model file before it is used.

Models are found in two folders, each holding a ``manifest.json``:

* the built-in folder, ``models/`` shipped with the application (in a source checkout
  or editable install the repository's ``models/``; in a package ``workstation/models``);
* the user's folder, from the ``WORKSTATION_MODELS_DIR`` environment variable or a
  setting passed in.  A user model with the same name as a built-in one replaces it.

:func:`verify` checks the file's SHA-256 against the manifest and the network's input
and output tensors against the entry before any session is created for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from workstation.ml.manifest import ModelEntry, ModelError, entry_from_dict

log = logging.getLogger(__name__)

ENV_VAR = "WORKSTATION_MODELS_DIR"
MANIFEST = "manifest.json"
_ORT_TYPES = {"float32": "tensor(float)", "float16": "tensor(float16)", "int64": "tensor(int64)",
              "uint8": "tensor(uint8)", "int32": "tensor(int32)"}
_verified: dict[tuple[str, int, int, str], bool] = {}


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


def model_dirs(user_dir: Optional[str | Path] = None) -> list[Path]:
    """Folders searched for manifests, built-in first (later ones override earlier)."""
    dirs = [builtin_models_dir()]
    user = user_models_dir(user_dir)
    if user is not None:
        dirs.append(user)
    return dirs


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


def list_models(user_dir: Optional[str | Path] = None, task: Optional[str] = None) -> list[ModelEntry]:
    """All known models (built-in and user), optionally only those for ``task``."""
    entries = load_manifest(model_dirs(user_dir))
    return [e for e in entries if task is None or e.task == task]


def get_model(name: str, user_dir: Optional[str | Path] = None) -> ModelEntry:
    """The model called ``name``; ``KeyError`` lists the known names."""
    entries = {e.name: e for e in list_models(user_dir)}
    if name not in entries:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(entries)) or 'none'}")
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
    outputs = {o.name: o for o in session.get_outputs()}
    declared = list(entry.outputs)
    if not declared and entry.task == "segmentation-3d":
        first = session.get_outputs()[0]
        _compare(entry, f"output {first.name!r}", first.shape, first.type,
                 [None, entry.n_classes, *spec.tile], "float32")
    for out in declared:
        if out.name not in outputs:
            raise ModelError(f"model {entry.name!r}: no output called {out.name!r}; the network has {sorted(outputs)}")
        if out.shape is not None:
            _compare(entry, f"output {out.name!r}", outputs[out.name].shape, outputs[out.name].type,
                     list(out.shape), out.dtype)


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
