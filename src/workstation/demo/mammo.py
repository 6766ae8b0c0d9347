"""Synthetic four-view screening mammograms with known findings.

A case is four images, R-CC, L-CC, R-MLO and L-MLO, each a 2D array of 12-bit
presentation values (MONOCHROME2: dense tissue is bright).  Every image shows a
compressed breast with a skin line, fibroglandular texture (filtered noise), the
pectoral muscle on MLO views, and the masses and microcalcification clusters placed
by the seed, whose bounding boxes in stored-image pixels are returned as truth.

Orientation convention (the one written by mammography equipment and the IHE
Mammography Image profile; recorded in PatientOrientation):

* right-breast images have the chest wall on the image *right* (rows run toward
  posterior, ``P``); left-breast images have it on the image *left* (``A``);
* CC views have the lateral side at the top (columns run ``L`` for the right breast,
  ``R`` for the left); MLO views have the head at the top (columns run ``F``).

``chest_wall="left"`` writes every image with the chest wall on the left instead
(a common export from research databases), with PatientOrientation to match, so a
reader can test that hanging follows the header.

Pixel spacing is 0.1 mm; the default 1024 x 832 image spans 102 x 83 mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.demo.cache import ensure_written

VIEWS: tuple[str, ...] = ("R-CC", "L-CC", "R-MLO", "L-MLO")
DEFAULT_SHAPE = (1024, 832)
PIXEL_SPACING_MM = 0.1
MAX_VALUE = 4095  # 12 bits stored
DEMO_SEED = 7

ChestWall = Literal["standard", "left"]


@dataclass(frozen=True)
class TruthBox:
    """One finding as placed by the generator.

    ``box`` is ``(x0, y0, x1, y1)`` in stored-image pixels (column, row; x1/y1
    exclusive edges), ``kind`` is ``"mass"`` or ``"calcification"``.
    """

    view: str
    kind: str
    box: tuple[float, float, float, float]
    shape: str = ""  # round | spiculated | cluster


@dataclass(frozen=True, eq=False)
class MammoCase:
    """Four synthetic views (uint16, 12 bits used) and their findings."""

    seed: int
    images: dict[str, NDArray[np.uint16]]
    truth: tuple[TruthBox, ...]
    chest_wall: ChestWall = "standard"
    pixel_spacing_mm: float = PIXEL_SPACING_MM

    def boxes(self, view: str) -> list[TruthBox]:
        return [t for t in self.truth if t.view == view]


@dataclass(frozen=True)
class _Lesion:
    kind: str  # mass | calcification
    shape: str
    depth: float  # fraction of breast depth from the chest wall
    size_mm: float
    amplitude: float
    seed: int
    v: dict[str, float] = field(default_factory=dict)  # vertical position per view (-1..1)


def _chest_wall_on_right(view: str, chest_wall: ChestWall) -> bool:
    return chest_wall == "standard" and view.startswith("R")


def patient_orientation(view: str, chest_wall: ChestWall = "standard") -> tuple[str, str]:
    """PatientOrientation (row direction, column direction) for a generated view."""
    right = view.startswith("R")
    row = "P" if _chest_wall_on_right(view, chest_wall) else "A"
    if view.endswith("MLO"):
        return (row, "F")
    return (row, "L" if right else "R")


def _texture(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float32]:
    """Patchy fibroglandular pattern in [0, 1]: band-pass filtered noise, soft-thresholded."""
    from scipy.ndimage import gaussian_filter

    scale = shape[0] / 1024.0
    fine = gaussian_filter(rng.standard_normal(shape).astype(np.float32), 4 * scale)
    coarse = gaussian_filter(rng.standard_normal(shape).astype(np.float32), 18 * scale)
    n = fine / (fine.std() + 1e-6) * 0.6 + coarse / (coarse.std() + 1e-6)
    return (1.0 / (1.0 + np.exp(-(n - 0.2) * 2.5))).astype(np.float32)


def _place_lesion(
    img: NDArray[np.float32],
    les: _Lesion,
    cx: float,
    cy: float,
    scale: float,
) -> tuple[float, float, float, float]:
    """Add one lesion centred at pixel (cx, cy) of the canonical image; returns its box."""
    h, w = img.shape
    rng = np.random.default_rng(les.seed)
    px_mm = 1.0 / (PIXEL_SPACING_MM / scale)  # pixels per mm at this image size
    if les.kind == "mass":
        r = les.size_mm / 2 * px_mm
        half = int(np.ceil(2.6 * r)) + 2
        y0, y1 = max(int(cy) - half, 0), min(int(cy) + half + 1, h)
        x0, x1 = max(int(cx) - half, 0), min(int(cx) + half + 1, w)
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        ang = np.arctan2(yy - cy, xx - cx)
        # lobulated outline: radius varies smoothly with angle
        wob = 1.0 + 0.08 * np.sin(3 * ang + rng.uniform(0, 6.3)) + 0.05 * np.sin(5 * ang + rng.uniform(0, 6.3))
        d = np.hypot(yy - cy, xx - cx) / (r * wob)
        edge = 0.12 if les.shape == "round" else 0.05
        core = np.clip((1.0 - d) / edge, 0, 1) ** 0.7 * (1.0 - 0.35 * np.clip(d, 0, 1) ** 2)
        add = core
        if les.shape == "spiculated":
            for a in rng.uniform(0, 2 * np.pi, int(rng.integers(10, 18))):
                length = r * rng.uniform(1.6, 2.5)
                t = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
                n = np.abs(-(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a))
                width = 0.18 * px_mm * (1 - np.clip(t / length, 0, 1))
                add = np.maximum(add, 0.55 * ((t > 0) & (t < length) & (n < width + 0.5)) * (1 - t / length))
        img[y0:y1, x0:x1] += les.amplitude * add
        ext = r * 1.1
        return (cx - ext, cy - ext, cx + ext, cy + ext)
    # calcification cluster: small bright dots inside a disc
    radius = les.size_mm / 2 * px_mm
    n = int(rng.integers(6, 16))
    pts: list[np.ndarray] = []
    while len(pts) < n:
        p = rng.uniform(-radius, radius, 2)
        if np.hypot(*p) <= radius:
            pts.append(p)
    xs, ys = [], []
    for dx, dy in pts:
        rr = rng.uniform(0.18, 0.4) * px_mm  # dot radius 0.18-0.4 mm
        px, py = cx + dx, cy + dy
        half = int(np.ceil(rr)) + 2
        ya, yb = max(int(py) - half, 0), min(int(py) + half + 1, h)
        xa, xb = max(int(px) - half, 0), min(int(px) + half + 1, w)
        yy, xx = np.mgrid[ya:yb, xa:xb].astype(np.float32)
        dot = np.clip(1.2 - np.hypot(yy - py, xx - px) / max(rr, 0.5), 0, 1)
        img[ya:yb, xa:xb] += les.amplitude * rng.uniform(0.7, 1.0) * dot
        xs += [px - rr, px + rr]
        ys += [py - rr, py + rr]
    pad = 0.5 * px_mm
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _draw_view(
    view: str, lesions: list[_Lesion], rng: np.random.Generator, shape: tuple[int, int]
) -> tuple[NDArray[np.float32], list[tuple[_Lesion, tuple[float, float, float, float]]]]:
    """One view in the canonical frame (chest wall at column 0), attenuation in ~[0, 1]."""
    h, w = shape
    scale = h / DEFAULT_SHAPE[0]
    mlo = view.endswith("MLO")
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ay = h * (rng.uniform(0.40, 0.46) if not mlo else rng.uniform(0.52, 0.6))
    ax = w * rng.uniform(0.70, 0.86)
    yc = h * (0.5 if not mlo else rng.uniform(0.36, 0.42))
    r = np.sqrt(((yy - yc) / ay) ** 2 + ((xx + 0.05 * w) / ax) ** 2)
    inside = r < 1.0
    thick = np.clip(np.sqrt(np.clip(1 - r**2, 0, 1)) * 2.2, 0, 1)
    gland_zone = np.clip((0.88 - r) / 0.25, 0, 1) * np.clip((xx / w - 0.04) / 0.15, 0, 1)
    density = rng.uniform(0.35, 0.75)
    tex = _texture(rng, shape)
    att = thick * (0.30 + 0.30 * density * gland_zone * tex)
    skin_band = (r > 1 - 0.018 * w / ax) & inside
    att = att + 0.05 * skin_band
    if mlo:  # pectoral muscle: a bright band along the chest wall, wide at the top
        pw, ph = w * rng.uniform(0.22, 0.32), h * rng.uniform(0.45, 0.65)
        pect = xx / pw + yy / ph
        att = np.where(pect < 1.0, np.maximum(att, 0.50 + 0.06 * (1 - pect)), att)
        inside = inside | (pect < 1.0)
    placed = []
    for les in lesions:
        cx = les.depth * ax * 0.95 - 0.05 * w
        cy = yc + les.v[view] * ay * np.sqrt(max(1 - (cx + 0.05 * w) ** 2 / ax**2, 0.05)) * 0.7
        box = _place_lesion(att, les, float(cx), float(cy), scale)
        placed.append((les, box))
    att = np.where(inside, att, 0.0)
    att += rng.normal(0, 0.008, shape).astype(np.float32)  # quantum noise
    return att.astype(np.float32), placed


def _lesions_for(rng: np.random.Generator, side: str, n_masses: int, n_calcs: int) -> list[_Lesion]:
    out = []
    for i in range(n_masses + n_calcs):
        kind = "mass" if i < n_masses else "calcification"
        shape = str(rng.choice(["round", "spiculated"])) if kind == "mass" else "cluster"
        size = rng.uniform(6, 16) if kind == "mass" else rng.uniform(5, 12)
        amp = rng.uniform(0.10, 0.20) if kind == "mass" else rng.uniform(0.30, 0.5)
        v = {f"{side}-CC": float(rng.uniform(-0.9, 0.9)), f"{side}-MLO": float(rng.uniform(-0.6, 0.9))}
        depth = float(rng.uniform(0.35, 0.8))
        out.append(_Lesion(kind, shape, depth, float(size), float(amp), int(rng.integers(2**31)), v))
    return out


def generate_mammo(
    seed: int,
    *,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    chest_wall: ChestWall = "standard",
    findings: Optional[dict[str, tuple[int, int]]] = None,
) -> MammoCase:
    """Generate a synthetic four-view case.

    Parameters
    ----------
    seed
        Random seed; the same seed gives the same case.
    shape
        (rows, columns) of each image; pixel spacing scales so the breast keeps its
        size in mm (0.1 mm at 1024 x 832).
    chest_wall
        ``"standard"`` (R images chest wall right, L images chest wall left) or
        ``"left"`` (every image chest wall left).
    findings
        ``{"R": (n_masses, n_calcification_clusters), "L": (...)}``; drawn at random
        (0-1 mass and 0-1 cluster per breast) when omitted.

    Returns
    -------
    MammoCase
        Images in stored orientation and the truth boxes in stored-image pixels.
    """
    rng = np.random.default_rng(seed)
    if findings is None:
        findings = {s: (int(rng.random() < 0.45), int(rng.random() < 0.4)) for s in ("R", "L")}
    images: dict[str, NDArray[np.uint16]] = {}
    truth: list[TruthBox] = []
    lesions = {s: _lesions_for(rng, s, *findings.get(s, (0, 0))) for s in ("R", "L")}
    for view in VIEWS:
        att, placed = _draw_view(view, lesions[view[0]], rng, shape)
        img = np.clip(np.rint(att * 1.05 * MAX_VALUE + 40), 0, MAX_VALUE).astype(np.uint16)
        flip = _chest_wall_on_right(view, chest_wall)
        w = shape[1]
        if flip:
            img = img[:, ::-1].copy()
        images[view] = img
        for les, (x0, y0, x1, y1) in placed:
            x0, x1 = max(x0, 0.0), min(x1, float(w))
            y0, y1 = max(y0, 0.0), min(y1, float(shape[0]))
            if flip:
                x0, x1 = w - x1, w - x0
            truth.append(TruthBox(view, les.kind, (x0, y0, x1, y1), les.shape))
    spacing = PIXEL_SPACING_MM * DEFAULT_SHAPE[0] / shape[0]
    return MammoCase(seed, images, tuple(truth), chest_wall, spacing)


@dataclass(frozen=True)
class MammoTruth:
    """What :func:`write_mammo` wrote: files per view and the truth boxes (pixels)."""

    seed: int
    files: dict[str, Path]
    boxes: dict[str, list[TruthBox]]
    pixel_spacing_mm: float
    chest_wall: ChestWall = "standard"


#: The demo case shows a spiculated mass and a calcification cluster in the right
#: breast and a round mass in the left.
DEMO_FINDINGS: dict[str, tuple[int, int]] = {"R": (1, 1), "L": (1, 0)}


def write_mammo(
    folder: str | Path,
    seed: int = DEMO_SEED,
    *,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    chest_wall: ChestWall = "standard",
    findings: Optional[dict[str, tuple[int, int]]] = None,
    for_processing: bool = False,
    for_presentation: bool = True,
) -> MammoTruth:
    """Write a synthetic four-view case as MG DICOM files into ``folder``.

    For Presentation images are written by default; ``for_processing=True`` adds (or,
    with ``for_presentation=False``, writes only) the For Processing series of the same
    study.  Returns the files and the truth boxes in stored-image pixels.
    """

    from pydicom.uid import generate_uid

    from workstation.demo.mammo_dicom import write_views

    folder = Path(folder)
    case = generate_mammo(seed, shape=shape, chest_wall=chest_wall, findings=findings)
    orient = {v: patient_orientation(v, chest_wall) for v in VIEWS}
    study_uid = generate_uid()
    files: dict[str, Path] = {}
    if for_presentation:
        files = write_views(folder, case.images, orient, case.pixel_spacing_mm, study_uid=study_uid)
    if for_processing:
        proc = write_views(folder, case.images, orient, case.pixel_spacing_mm,
                           for_processing=True, study_uid=study_uid)
        files = files or proc
    boxes = {v: case.boxes(v) for v in VIEWS}
    return MammoTruth(seed, files, boxes, case.pixel_spacing_mm, chest_wall)


def ensure_demo_mammo(folder: Optional[str | Path] = None) -> Path:
    """The demo four-view study on disk, written on first use (about 7 MB; see :mod:`.cache`)."""
    return ensure_written("mammo", lambda target: write_mammo(target, DEMO_SEED, findings=DEMO_FINDINGS), folder)
