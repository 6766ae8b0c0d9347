"""Organ label maps for synthetic chest CTs: the demo phantom's, and random labelled cases.

* :func:`chest_ct_labels` gives the exact labels of
  :func:`workstation.demo.chest_ct.generate_chest_ct` (same grid, same shapes).
* :func:`synthetic_chest` makes a labelled chest CT varied by seed (body and organ
  sizes and positions, lungs as ellipsoids or cylinders, contrast-enhanced or plain
  blood, ribs continuous or segmented, HU levels, noise) around the demo's anatomy.
  Shapes are analytic solids in patient space (DICOM LPS: +x left, +y posterior,
  +z head) sampled at voxel centres, so any grid gives the same anatomy.  Used to
  train and test the bundled organ segmentation model.

Labels: 1 body (soft tissue, fat, airway and anything else inside the skin),
2 lungs, 3 heart, 4 aorta, 5 bone; 0 is air outside the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume

LABELS: dict[int, str] = {1: "body", 2: "lungs", 3: "heart", 4: "aorta", 5: "bone"}
COLORS: dict[int, tuple[int, int, int]] = {
    1: (230, 200, 160), 2: (80, 160, 255), 3: (220, 40, 60), 4: (255, 120, 0), 5: (245, 245, 220)}
BODY, LUNGS, HEART, AORTA, BONE = 1, 2, 3, 4, 5


@dataclass(frozen=True, eq=False)
class LabelledChest:
    """A synthetic chest CT (HU, int16) and its ``uint8`` labels on the same grid."""

    volume: Volume
    labels: NDArray[np.uint8]
    names: dict[int, str]


def _ell(x: Any, y: Any, cx: float, cy: float, ax: float, ay: float) -> Any:
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


def chest_ct_labels(volume: Volume) -> NDArray[np.uint8]:
    """Exact labels of the demo chest CT on ``volume``'s grid (from ``generate_chest_ct``)."""
    from workstation.demo import chest_ct as demo

    nz, ny, nx = volume.shape
    dz, dy, dx = volume.spacing
    x0, y0, z0 = volume.origin
    x = (x0 + dx * np.arange(nx, dtype=np.float32))[None, :]
    y = (y0 + dy * np.arange(ny, dtype=np.float32))[:, None]
    base = np.zeros((ny, nx), dtype=np.uint8)
    base[_ell(x, y, 0, 0, 165, 120)] = BODY
    base[_ell(x, y, -85, 5, 55, 82) | _ell(x, y, 85, 5, 55, 82)] = LUNGS
    for angle in np.deg2rad([35, 60, 85, 110, 135, 160, 200, 225, 250, 275, 300, 325]):
        cx, cy = 145 * np.cos(angle), 100 * np.sin(angle)
        if cy < -80 and abs(cx) < 40:
            continue
        base[_ell(x, y, cx, cy, 6, 5)] = BONE
    base[(np.abs(x) <= 13) & (y >= -108) & (y <= -97)] = BONE
    base[_ell(x, y, 0, 70, 18, 18)] = BONE
    base[(np.abs(x) <= 16) & (y >= 100) & (y <= 112)] = BONE
    base[_ell(x, y, 0, 97, 7, 7)] = BODY
    base[_ell(x, y, *demo.DESCENDING_AORTA, demo.AORTA_RADII[1], demo.AORTA_RADII[1])] = AORTA
    out = np.empty(volume.shape, dtype=np.uint8)
    (cx, cy, cz), (ax, ay, az) = demo.HEART_CENTRE, demo.HEART_AXES
    for k in range(nz):
        z = z0 + dz * k
        sl = base.copy()
        f_fat = _section(z, cz, az + 6)
        if f_fat > 0:
            sl[_ell(x, y, cx, cy, (ax + 6) * f_fat, (ay + 6) * f_fat)] = BODY
        f = _section(z, cz, az)
        if f > 0:
            sl[_ell(x, y, cx, cy, ax * f, ay * f)] = HEART
        if z >= demo.ASCENDING_AORTA[2]:
            r = demo.AORTA_RADII[0]
            sl[_ell(x, y, demo.ASCENDING_AORTA[0], demo.ASCENDING_AORTA[1], r, r)] = AORTA
        if z >= 40.0:
            sl[_ell(x, y, 0, 20, 9, 9)] = BODY
        out[k] = sl
    return out


def _section(z: float, cz: float, az: float) -> float:
    t = (z - cz) / az
    return float(np.sqrt(1.0 - t * t)) if abs(t) < 1.0 else 0.0


def synthetic_chest(
    seed: int = 0,
    shape: tuple[int, int, int] = (64, 128, 128),
    spacing: tuple[float, float, float] = (3.0, 3.0, 3.0),
    noise_hu: float | None = None,
) -> LabelledChest:
    """Generate one labelled chest CT.

    Parameters
    ----------
    seed
        Varies anatomy, HU and noise (same seed, same anatomy on any grid).
    shape, spacing
        Grid (z, y, x) in voxels and mm, centred on the mid-chest.
    noise_hu
        Standard deviation of Gaussian noise (HU); default drawn from the seed.
    """
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    axes = [((np.arange(n) - (n - 1) / 2.0) * s).astype(np.float32) for n, s in zip(shape, spacing)]
    z, y, x = axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]
    z = z + np.float32(u(-20, 20))
    full = tuple(shape)
    lab = np.zeros(full, dtype=np.uint8)
    hu = np.full(full, -1000.0, dtype=np.float32)

    def paint(mask: Any, label: int, value: float) -> None:
        m = np.broadcast_to(mask, full)
        lab[m] = label
        hu[m] = value

    bx, by = u(135, 180), u(100, 130)
    cx0, cy0 = u(-10, 10), u(-8, 8)
    paint(_ell(x, y, cx0, cy0, bx, by), BODY, u(-120, -80))
    mus = u(0.88, 0.95)
    paint(_ell(x, y, cx0, cy0, bx * mus, by * mus), BODY, u(30, 60))
    cav = mus - u(0.06, 0.12)
    cavity = _ell(x, y, cx0, cy0, bx * cav, by * cav)
    paint(cavity, BODY, u(-100, -60))

    lung_hu, laz, lz = u(-900, -780), u(90, 140), u(-10, 30)
    cyl = rng.random() < 0.5
    for side in (-1.0, 1.0):
        lax, lay = bx * u(0.3, 0.37), by * u(0.62, 0.72)
        lcx, lcy = cx0 + side * bx * u(0.47, 0.56), cy0 + u(-2, 12)
        lung = _ell(x, y, lcx, lcy, lax, lay) if cyl else (
            ((x - lcx) / lax) ** 2 + ((y - lcy) / lay) ** 2 + ((z - lz) / laz) ** 2 <= 1.0)
        paint(lung & cavity, LUNGS, lung_hu)

    cortical, marrow = u(550, 900), u(180, 320)
    rib_a, rib_b = bx * u(0.84, 0.9), by * u(0.8, 0.87)
    segmented, period = rng.random() < 0.5, u(22, 30)
    for angle in np.deg2rad(np.arange(35, 330, 25) + u(-8, 8)):
        rx, ry = cx0 + rib_a * np.cos(angle), cy0 + rib_b * np.sin(angle)
        if ry < cy0 - 0.7 * by and abs(rx - cx0) < 40:
            continue
        rib = _ell(x, y, rx, ry, u(5, 7), u(4, 6))
        if segmented:
            rib = rib & (np.abs(((z - u(0, 10)) % period) - period / 2) <= u(4, 7))
        paint(rib, BONE, cortical)
    sy = cy0 - by * u(0.82, 0.88)
    paint((np.abs(x - cx0) <= u(10, 15)) & (y >= sy) & (y <= sy + u(9, 12)), BONE, marrow + 100)
    vx, vy, vr = cx0 + u(-3, 3), cy0 + by * u(0.5, 0.62), u(15, 20)
    paint(_ell(x, y, vx, vy, vr, vr), BONE, marrow)
    paint(_ell(x, y, vx, vy, vr, vr) & ~_ell(x, y, vx, vy, vr - 2, vr - 2), BONE, cortical)
    paint((np.abs(x - vx) <= 16) & (y >= vy + vr + 10) & (y <= vy + vr + 24), BONE, u(400, 600))
    paint(_ell(x, y, vx, vy + vr + 8, 7, 7), BODY, u(0, 20))

    contrast = rng.random() < 0.5
    blood = u(150, 350) if contrast else u(30, 55)
    wall = u(80, 120) if contrast else blood
    ar = u(10, 15)
    dx_, dy_ = vx + u(18, 30), vy - vr - ar + u(-4, 6)
    paint(_ell(x, y, dx_, dy_, ar, ar), AORTA, blood)
    hcx, hcy, hcz = cx0 + u(0, 25), cy0 - u(15, 35), lz - u(20, 50)
    hax, hay, haz = u(48, 65), u(38, 52), u(42, 58)
    r_heart = ((x - hcx) / hax) ** 2 + ((y - hcy) / hay) ** 2 + ((z - hcz) / haz) ** 2
    fat = u(1.1, 1.25)
    paint((r_heart <= fat**2) & cavity, BODY, u(-100, -70))
    paint((r_heart <= 1.0) & cavity, HEART, wall)
    if contrast:
        paint((r_heart <= u(0.4, 0.6)) & cavity, HEART, blood)
    acx, acy, acz = hcx - u(5, 25), hcy + u(0, 15), hcz + u(25, 40)
    asc = _ell(x, y, acx, acy, ar + 2, ar + 2) & (z >= acz)
    if rng.random() < 0.5:
        arch_z = acz + u(40, 70)
        asc = asc & (z <= arch_z)
        t = np.clip((y - acy) / max(dy_ - acy, 1e-3), 0.0, 1.0)
        arch = ((x - (acx + t * (dx_ - acx))) ** 2 + (z - arch_z) ** 2 <= ar**2) & (y >= acy) & (y <= dy_)
        paint(arch & cavity, AORTA, blood)
        paint(_ell(x, y, dx_, dy_, ar, ar) & (z > arch_z + ar), BODY, u(-100, -60))
    paint(asc & cavity, AORTA, blood)
    paint(_ell(x, y, cx0 + u(-5, 5), cy0 + u(10, 30), u(7, 10), u(7, 10)) & (z >= lz + u(20, 50)), BODY, -1000.0)

    sigma = u(5, 35) if noise_hu is None else noise_hu
    hu += rng.standard_normal(full, dtype=np.float32) * np.float32(sigma)
    hu = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    origin = (float(axes[2][0]), float(axes[1][0]), float(axes[0][0]))
    volume = Volume(array=hu, spacing=spacing, origin=origin, direction=np.eye(3), modality="CT",
                    meta={"description": f"synthetic labelled chest, seed {seed}"})
    return LabelledChest(volume=volume, labels=lab, names=dict(LABELS))
