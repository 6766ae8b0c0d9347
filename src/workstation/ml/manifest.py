"""Model manifest entries: what a model file is, what it expects and what it returns.

A manifest is a JSON file beside the models it describes::

    {"format_version": 1,
     "models": [{"name": "chest-organs", "file": "chest_organs.onnx", "version": "1.0.0",
                 "sha256": "...", "task": "segmentation-3d", "modality": "CT",
                 "input": {"name": "image", "spacing": [3.0, 3.0, 3.0], "orientation": "LPS",
                           "normalization": {"type": "ct-window", "lo": -1000, "hi": 1000},
                           "tile": [32, 64, 64], "channels": 1},
                 "labels": {"1": "body", "2": "lungs"},
                 "source": "...", "licence": "...", "intended_use": "Not for clinical use",
                 "metrics": {"dice": {"lungs": 0.95}}}]}

``spacing`` and ``tile`` are given in array order (z, y, x) for 3D models and (y, x)
for 2D models; spacing in mm.  ``orientation`` is the three-letter code of the patient
directions of increasing x, y and z index (ITK style; axial DICOM CT is ``LPS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

TASKS = ("segmentation-3d", "segmentation-2d", "detection-2d")
NORMALIZATIONS = ("ct-window", "zscore", "minmax")
_ORIENTATION_LETTERS = ({"L", "R"}, {"P", "A"}, {"S", "I"})


class ModelError(Exception):
    """A model cannot be used; the message names the model and the fault."""


@dataclass(frozen=True)
class Normalization:
    """How raw values become network input.

    ``ct-window``: clip to [``lo``, ``hi``] (HU) and scale to [0, 1].
    ``zscore``: optionally clip to [``lo``, ``hi``], then ``(v - mean) / std``; without
    ``mean``/``std`` the image's own statistics are used.
    ``minmax``: scale the image's [min, max] (or the [``lo``, ``hi``] percentiles when
    given, in percent) to [0, 1].
    """

    type: str
    lo: Optional[float] = None
    hi: Optional[float] = None
    mean: Optional[float] = None
    std: Optional[float] = None


@dataclass(frozen=True)
class InputSpec:
    """The network input: one tensor ``(batch, channels, *tile)`` of ``dtype``."""

    name: str
    spacing: tuple[float, ...]
    tile: tuple[int, ...]
    normalization: Normalization
    channels: int = 1
    orientation: str = "LPS"
    dtype: str = "float32"

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (2 or 3)."""
        return len(self.tile)


@dataclass(frozen=True)
class OutputSpec:
    """One network output; ``shape`` uses ``None`` for free dimensions (the batch)."""

    name: str
    shape: Optional[tuple[Optional[int], ...]] = None
    dtype: str = "float32"


@dataclass(frozen=True)
class ModelEntry:
    """One model of a manifest, with its file resolved against the manifest's folder."""

    name: str
    file: Path
    version: str
    sha256: str
    task: str
    modality: str
    input: InputSpec
    labels: Mapping[int, str]
    outputs: tuple[OutputSpec, ...] = ()
    source: str = ""
    licence: str = ""
    intended_use: str = "Not for clinical use"
    metrics: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    manifest: Optional[Path] = None

    @property
    def n_classes(self) -> int:
        """Output channels of a segmentation model: background plus each label."""
        return max(self.labels, default=0) + 1

    def describe(self) -> str:
        """One line for combo boxes and logs."""
        return f"{self.name} {self.version} ({self.task}, {self.modality})"


def _fail(where: str, message: str) -> ModelError:
    return ModelError(f"{where}: {message}")


def _floats(value: Any, where: str, key: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(where, f"{key} must be a list of numbers, got {value!r}") from None
    if len(out) not in (2, 3) or min(out) <= 0:
        raise _fail(where, f"{key} must hold 2 or 3 positive numbers, got {value!r}")
    return out


def _ints(value: Any, where: str, key: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(where, f"{key} must be a list of integers, got {value!r}") from None
    if len(out) not in (2, 3) or min(out) <= 0:
        raise _fail(where, f"{key} must hold 2 or 3 positive integers, got {value!r}")
    return out


def _normalization(raw: Any, where: str) -> Normalization:
    if not isinstance(raw, Mapping) or raw.get("type") not in NORMALIZATIONS:
        raise _fail(where, f"input.normalization.type must be one of {NORMALIZATIONS}, got {raw!r}")
    opt = {k: (None if raw.get(k) is None else float(raw[k])) for k in ("lo", "hi", "mean", "std")}
    norm = Normalization(type=str(raw["type"]), **opt)
    if norm.type == "ct-window" and (norm.lo is None or norm.hi is None or norm.hi <= norm.lo):
        raise _fail(where, "ct-window normalization needs lo < hi (HU)")
    if norm.std is not None and norm.std <= 0:
        raise _fail(where, "zscore std must be positive")
    return norm


def _orientation(code: Any, where: str) -> str:
    text = str(code).upper()
    if len(text) != 3 or any(not (set(text) & axis) or len(set(text) & axis) != 1 for axis in _ORIENTATION_LETTERS):
        raise _fail(where, f"orientation must be a code like 'LPS' or 'RAS', got {code!r}")
    return text


def _input_spec(raw: Any, where: str) -> InputSpec:
    if not isinstance(raw, Mapping):
        raise _fail(where, "missing 'input' section")
    spacing = _floats(raw.get("spacing"), where, "input.spacing")
    tile = _ints(raw.get("tile"), where, "input.tile")
    if len(spacing) != len(tile):
        raise _fail(where, f"input.spacing has {len(spacing)} values but input.tile has {len(tile)}")
    return InputSpec(
        name=str(raw.get("name", "input")),
        spacing=spacing,
        tile=tile,
        normalization=_normalization(raw.get("normalization"), where),
        channels=int(raw.get("channels", 1)),
        orientation=_orientation(raw.get("orientation", "LPS"), where),
        dtype=str(raw.get("dtype", "float32")),
    )


def _outputs(raw: Any, where: str) -> tuple[OutputSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(where, "'outputs' must be a list")
    specs = []
    for item in raw:
        shape = item.get("shape")
        specs.append(
            OutputSpec(
                name=str(item["name"]),
                shape=None if shape is None else tuple(None if s is None else int(s) for s in shape),
                dtype=str(item.get("dtype", "float32")),
            )
        )
    return tuple(specs)


def _labels(raw: Any, where: str) -> dict[int, str]:
    if not isinstance(raw, Mapping):
        raise _fail(where, "'labels' must map label index to name")
    try:
        labels = {int(k): str(v) for k, v in raw.items()}
    except ValueError:
        raise _fail(where, f"label keys must be integers, got {list(raw)}") from None
    if any(k < 0 for k in labels):
        raise _fail(where, "label indices must be >= 0")
    labels.pop(0, None)  # 0 is always background
    return labels


def entry_from_dict(raw: Mapping[str, Any], folder: Path, manifest: Optional[Path] = None) -> ModelEntry:
    """Build a :class:`ModelEntry` from one manifest item; ``file`` is relative to ``folder``."""
    where = f"model {raw.get('name', '?')!r} in {manifest or folder}"
    for key in ("name", "file", "version", "sha256", "task"):
        if not raw.get(key):
            raise _fail(where, f"missing {key!r}")
    if raw["task"] not in TASKS:
        raise _fail(where, f"task must be one of {TASKS}, got {raw['task']!r}")
    sha = str(raw["sha256"]).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise _fail(where, "sha256 must be 64 hexadecimal digits")
    known = {"name", "file", "version", "sha256", "task", "modality", "input", "labels", "outputs",
             "source", "licence", "license", "intended_use", "metrics"}
    return ModelEntry(
        name=str(raw["name"]),
        file=(folder / str(raw["file"])).resolve(),
        version=str(raw["version"]),
        sha256=sha,
        task=str(raw["task"]),
        modality=str(raw.get("modality", "")),
        input=_input_spec(raw.get("input"), where),
        labels=_labels(raw.get("labels", {}), where),
        outputs=_outputs(raw.get("outputs"), where),
        source=str(raw.get("source", "")),
        licence=str(raw.get("licence", raw.get("license", ""))),
        intended_use=str(raw.get("intended_use", "Not for clinical use")),
        metrics=dict(raw.get("metrics", {})),
        extra={k: v for k, v in raw.items() if k not in known},
        manifest=manifest,
    )
