"""Hanging protocols: which layout a study opens in, chosen from its modality, body part and series.

A :class:`HangingProtocol` matches a study by modality, body part (BodyPartExamined),
how it reads (a volume, a dynamic series or 2D images), its number of series and
whether a prior study of the same patient is open; the best match (highest priority,
then the user's own before the built-in ones) decides the grid and what each viewport
shows (:class:`ViewportSpec`).  Users save their own as JSON files in the settings
folder (``<config>/Workstation/hanging_protocols/``); a file that cannot be read is
named with the reason and skipped.  Plain data, no Qt.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from workstation.core.paths import ORGANIZATION, config_home

VIEWPORT_KINDS = ("plane", "3d", "image", "prior")
PLANES = ("axial", "coronal", "sagittal")
READING_KINDS = ("volume", "dynamic", "images")
MAX_GRID = 4


@dataclass(frozen=True)
class ViewportSpec:
    """What one cell of the grid shows.

    ``kind``: ``plane`` (a slice view of the current volume: ``plane`` axial, coronal or
    sagittal), ``3d``, ``image`` (an image of the current study chosen by ``modality``,
    ``laterality`` and ``view``, else the ``index``-th image) or ``prior`` (a slice view
    of the prior study).
    """

    kind: str
    plane: str = "axial"
    modality: str = ""
    laterality: str = ""
    view: str = ""
    index: Optional[int] = None

    def __post_init__(self) -> None:
        if self.kind not in VIEWPORT_KINDS:
            raise ValueError(f"viewport kind {self.kind!r} is not one of {', '.join(VIEWPORT_KINDS)}")
        if self.plane not in PLANES:
            raise ValueError(f"plane {self.plane!r} is not one of {', '.join(PLANES)}")
        if self.laterality not in ("", "R", "L", "B"):
            raise ValueError(f"laterality {self.laterality!r} is not R, L or B")

    @property
    def title(self) -> str:
        if self.kind == "image":
            wanted = "-".join(p for p in (self.laterality, self.view) if p)
            return wanted or (f"image {self.index + 1}" if self.index is not None else "image")
        if self.kind == "prior":
            return f"prior {self.plane}"
        return "3D" if self.kind == "3d" else self.plane


@dataclass(frozen=True)
class StudyFacts:
    """What protocol matching looks at in the study being opened."""

    modality: str
    body_part: str = ""
    kind: str = "volume"
    n_series: int = 1
    n_images: int = 1
    has_prior: bool = False


@dataclass(frozen=True)
class HangingProtocol:
    """A layout and the studies it is for (empty match lists match anything)."""

    name: str
    rows: int
    columns: int
    viewports: tuple[ViewportSpec, ...]
    modalities: tuple[str, ...] = ()
    body_parts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    min_series: int = 1
    max_series: int = 10000
    needs_prior: bool = False
    auto_images: bool = False  # a grid of the study's images, sized to their number
    priority: int = 0
    user: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a hanging protocol needs a name")
        if not (1 <= self.rows <= MAX_GRID and 1 <= self.columns <= MAX_GRID):
            raise ValueError(f"grid {self.rows}x{self.columns} is outside 1x1 .. {MAX_GRID}x{MAX_GRID}")
        if not self.auto_images and not 1 <= len(self.viewports) <= self.rows * self.columns:
            raise ValueError(f"{len(self.viewports)} viewports do not fit a {self.rows}x{self.columns} grid")
        bad = [k for k in self.kinds if k not in READING_KINDS]
        if bad:
            raise ValueError(f"kinds {bad} are not among {', '.join(READING_KINDS)}")

    def matches(self, facts: StudyFacts) -> bool:
        return ((not self.modalities or facts.modality.upper() in self.modalities)
                and (not self.body_parts or facts.body_part.upper() in self.body_parts)
                and (not self.kinds or facts.kind in self.kinds)
                and self.min_series <= facts.n_series <= self.max_series
                and (facts.has_prior or not self.needs_prior))

    def grid_for(self, n_images: int) -> tuple[int, int, tuple[ViewportSpec, ...]]:
        """(rows, columns, viewports) for a study with ``n_images`` images."""
        if not self.auto_images:
            return self.rows, self.columns, self.viewports
        n = max(1, min(n_images, self.rows * self.columns))
        columns = 1 if n == 1 else 2 if n <= 4 else min(self.columns, 3)
        rows = -(-n // columns)
        return rows, columns, tuple(ViewportSpec("image", index=i) for i in range(n))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("user")
        data["viewports"] = [{k: v for k, v in asdict(vp).items() if v not in ("", None)} for vp in self.viewports]
        return data

    @classmethod
    def from_json(cls, data: Any, user: bool = False) -> "HangingProtocol":
        """A protocol from parsed JSON; ``ValueError`` says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("the file does not hold a JSON object")
        known = {f for f in cls.__dataclass_fields__ if f != "user"}
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"unknown fields {', '.join(extra)}")
        try:
            viewports = tuple(ViewportSpec(**vp) for vp in data.get("viewports", ()))
            values = {k: v for k, v in data.items() if k != "viewports"}
            for key in ("modalities", "body_parts", "kinds"):
                values[key] = tuple(str(v).upper() if key != "kinds" else str(v) for v in values.get(key, ()))
            return cls(viewports=viewports, user=user, **values)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


def _plane(plane: str) -> ViewportSpec:
    return ViewportSpec("plane", plane=plane)


BUILT_IN: tuple[HangingProtocol, ...] = (
    HangingProtocol("Mammography screening", 2, 2, tuple(ViewportSpec("image", modality="MG", laterality=lat, view=v)
                                                         for v in ("CC", "MLO") for lat in ("R", "L")),
                    modalities=("MG",), kinds=("images",), priority=50),
    HangingProtocol("CT with prior", 1, 2, (_plane("axial"), ViewportSpec("prior", plane="axial")),
                    modalities=("CT",), kinds=("volume",), needs_prior=True, priority=40),
    HangingProtocol("CT MPR 2x2", 2, 2, (_plane("axial"), ViewportSpec("3d"), _plane("coronal"), _plane("sagittal")),
                    modalities=("CT",), kinds=("volume",), priority=30),
    HangingProtocol("Volume with prior", 1, 2, (_plane("axial"), ViewportSpec("prior", plane="axial")),
                    kinds=("volume",), needs_prior=True, priority=20),
    HangingProtocol("Images", 3, 3, (), kinds=("images",), auto_images=True, priority=10),
    HangingProtocol("Single 2D", 1, 1, (_plane("axial"),), priority=0),
)


def protocols_folder() -> Path:
    """Where the user's protocols live: ``<config>/Workstation/hanging_protocols``."""
    return config_home() / ORGANIZATION / "hanging_protocols"


def file_name(name: str) -> str:
    """A file name for a protocol name (letters, digits, ``-`` and ``_``)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_") or "protocol"
    return f"{stem[:60]}.json"


def load_user_protocols(folder: Optional[Path] = None) -> tuple[list[HangingProtocol], list[str]]:
    """The user's protocols and, per file that could not be used, ``"file: reason"``."""
    folder = folder or protocols_folder()
    found: list[HangingProtocol] = []
    problems: list[str] = []
    if not folder.is_dir():
        return found, problems
    for path in sorted(folder.glob("*.json")):
        try:
            if path.stat().st_size > 1_000_000:
                raise ValueError("larger than 1 MB")
            found.append(HangingProtocol.from_json(json.loads(path.read_text(encoding="utf-8")), user=True))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
    return found, problems


def save_user_protocol(protocol: HangingProtocol, folder: Optional[Path] = None) -> Path:
    """Write ``protocol`` as JSON into the user's folder (replacing one of the same name)."""
    folder = folder or protocols_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(protocol.name)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(protocol.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def all_protocols(user: Iterable[HangingProtocol] = ()) -> list[HangingProtocol]:
    """The user's protocols, then the built-in ones not replaced by a user protocol of the same name."""
    mine = list(user)
    names = {p.name for p in mine}
    return mine + [p for p in BUILT_IN if p.name not in names]


def choose(facts: StudyFacts, protocols: Iterable[HangingProtocol]) -> HangingProtocol:
    """The matching protocol of highest priority (the user's first among equals); ``Single 2D`` otherwise."""
    ranked = [p for p in protocols if p.matches(facts)]
    if not ranked:
        return BUILT_IN[-1]
    return max(ranked, key=lambda p: (p.priority, p.user))
