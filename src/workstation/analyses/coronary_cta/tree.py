"""Automatic extraction of the coronary trees from the aortic root.

1. Contrast-filled lumen is brighter than a threshold (``lumen_threshold_hu``, or 45 %
   of the blood-pool level: the median of the voxels deeper than 6 mm inside bright
   structures).
2. The large bright structures are what survives an opening by a 3.5 mm ball (two
   Euclidean distance transforms on a grid of half the resolution, on the backend's
   device); those with most voxels within 25 % of the blood-pool level hold blood
   (aorta, chambers; not bone, whose values spread wider).  The coronary trees are the
   remaining bright components that touch them with a small part of their voxels,
   hold at least 40 mm^3 and reach ``auto_min_length_mm``.  Where a tree touches the
   blood pool is its ostium.
3. Each tree's branches are found the way TEASAR skeletonisation finds them
   (Sato et al., Pacific Graphics 2000): the first ends at the voxel farthest from the
   ostium along the tree, each further one at the voxel farthest from the branches
   found so far, while that distance exceeds ``auto_min_length_mm``; each is traced
   from the ostium by the minimal path whose cost falls with the distance to the
   tree's surface (so it runs along the lumen's middle) (scikit-image ``MCP`` on the
   host, over the tree's voxels only).
4. The tree whose ostium lies toward the patient's left is the left coronary artery: its
   common trunk (when the first two branches share at least 5 mm) is the LM, the more
   anterior of its two main branches the LAD, the other the LCX; the right tree's
   longest branch is the RCA.  At every further branch point the artery continues into
   the branch that carries on its course most straight (the other one is its side
   branch), and side branches are named after their parent (D1, D2 off the LAD, OM1
   off the LCX, "RCA branch 1" off the RCA).

It finds the main arteries of a well-opacified scan whose lumens stay above the
threshold; a branch whose lumen falls below it (a severe stenosis, a small distal
vessel) ends there, and veins or grafts touching a chamber would be taken for arteries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.coronary_cta.naming import suggest
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.compute.backend import Backend
from workstation.core.progress import ProgressFn, report
from workstation.core.volume import Volume

#: Radius (mm) of the ball whose opening keeps the chambers and the aorta, not the coronaries.
LARGE_RADIUS_MM = 3.5
#: Voxels deeper than this (mm) in bright structures give the blood-pool level.
POOL_DEPTH_MM = 6.0
THRESHOLD_FRACTION = 0.45
#: Large structures with this share of their voxels within BLOOD_SPREAD of the blood-pool
#: level hold blood (bone, bright too, spreads wider); a tree touches them with at most
#: TOUCH_SHARE of its voxels (at its ostium, not along its length).
BLOOD_SPREAD = 0.25
BLOOD_SHARE = 0.6
TOUCH_SHARE = 0.2
#: A tree holds at least this much lumen (mm^3: 20 mm of a 1.6 mm wide artery).
MIN_TREE_MM3 = 40.0
#: Two branches sharing at least this much (mm) from the ostium have a common trunk (the LM).
TRUNK_MM = 5.0
#: Of a branch, keep this much (mm) before it leaves its parent.
LEAD_IN_MM = 1.5
#: Directions at a branch point are compared over this length (mm).
CONTINUATION_MM = 6.0


@dataclass(frozen=True, eq=False)
class AutoVessel:
    """A vessel found automatically: name, its ostium and end (mm), and its path (n, 3) mm."""

    name: str
    points_mm: tuple[tuple[float, float, float], ...]
    path_mm: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AutoTree:
    vessels: tuple[AutoVessel, ...]
    root_mm: Optional[tuple[float, float, float]]
    threshold_hu: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def _blood_pool(device_volume: Any, spacing: tuple[float, float, float], backend: Backend) -> float:
    """Median HU of the voxels deeper than POOL_DEPTH_MM inside structures brighter than 150 HU."""
    xp, ndi = backend.xp, backend.ndimage
    coarse = xp.ascontiguousarray(device_volume[::2, ::2, ::2])
    depth = ndi.distance_transform_edt(coarse > 150, sampling=tuple(2.0 * s for s in spacing))
    deep = coarse[depth >= POOL_DEPTH_MM]
    if deep.size == 0:
        raise ValueError("no contrast-filled blood pool (nothing above 150 HU thicker than 12 mm)")
    return float(xp.median(deep.astype(xp.float32)))


def _components(device_volume: Any, spacing: tuple[float, float, float], threshold: float, pool: float,
                backend: Backend) -> tuple[Any, Any, Any]:
    """Blood-pool mask (large structures as bright as the blood), labels of the small bright
    components, and where they touch the blood pool."""
    xp, ndi = backend.xp, backend.ndimage
    cube = xp.ones((3, 3, 3), dtype=bool)
    bright = device_volume > threshold
    # the opening on a grid of half the resolution (the structures kept are 7 mm thick and more)
    coarse = xp.ascontiguousarray(bright[::2, ::2, ::2])
    coarse_mm = tuple(2.0 * s for s in spacing)
    core = ndi.distance_transform_edt(coarse, sampling=coarse_mm) > LARGE_RADIUS_MM
    kept = ndi.distance_transform_edt(~core, sampling=coarse_mm) <= LARGE_RADIUS_MM + 1.0
    del core
    # bone is large and bright too, but its values spread far from the blood's: keep the blood pool
    parts, n_parts = ndi.label(kept & coarse)
    inside = xp.flatnonzero(parts)  # no bincount over the background (GPU atomics, GPU_NOTES trap 2)
    label_of = parts.ravel()[inside]
    values = xp.ascontiguousarray(device_volume[::2, ::2, ::2]).ravel()[inside].astype(xp.float32)
    count = xp.bincount(label_of, minlength=n_parts + 1)
    like_blood = xp.abs(values - np.float32(pool)) <= np.float32(BLOOD_SPREAD * pool)
    share = xp.bincount(label_of, weights=like_blood.astype(xp.float64), minlength=n_parts + 1)
    blood = share / xp.maximum(count, 1) >= BLOOD_SHARE
    blood[0] = False
    pool_coarse = ndi.binary_dilation(blood[parts], structure=cube) & kept
    large = xp.zeros(bright.shape, dtype=bool)
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                target = large[dz::2, dy::2, dx::2]
                target[...] = pool_coarse[: target.shape[0], : target.shape[1], : target.shape[2]]
    small = bright & ~ndi.binary_dilation(large, structure=cube)
    labels, _ = ndi.label(small, structure=cube)
    # two 3-voxel steps as one 5-voxel cube: CuPy's dilation has no iterations > 1 (non brute-force)
    contact = ndi.binary_dilation(large, structure=xp.ones((5, 5, 5), dtype=bool)) & small
    return large, labels, contact


def _trees(labels: Any, contact: Any, volume: Volume, min_length_mm: float, backend: Backend) -> list[
        tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """(voxel indices (k, 3), contact voxel indices (m, 3)) of each long component touching a large structure."""
    import scipy.ndimage as ndi

    xp = backend.xp
    touching = backend.asnumpy(xp.unique(labels[contact]))
    touching = touching[touching > 0]
    host_labels = backend.asnumpy(labels)
    host_contact = backend.asnumpy(contact)
    boxes = ndi.find_objects(host_labels)
    spacing = np.asarray(volume.spacing)
    out = []
    for label in touching.tolist():
        box = boxes[label - 1]
        if box is None:
            continue
        extent = np.asarray([sl.stop - sl.start for sl in box]) * spacing
        if float(np.linalg.norm(extent)) < min_length_mm:
            continue
        offset = np.asarray([sl.start for sl in box])
        mine = host_labels[box] == label
        touch = np.argwhere(mine & host_contact[box])
        size = int(np.count_nonzero(mine))
        if size * np.prod(spacing) < MIN_TREE_MM3 or len(touch) > TOUCH_SHARE * size:
            continue
        out.append((np.argwhere(mine) + offset, touch + offset))
    return out


def _branches(voxels: NDArray[np.int64], touch: NDArray[np.int64], spacing: tuple[float, float, float],
              min_length_mm: float, limit: int) -> tuple[NDArray[np.int64], list[tuple[NDArray[np.int64], int]]]:
    """The ostium and the branches of one tree: each (path voxel indices, index where it leaves the earlier ones)."""
    import scipy.ndimage as ndi
    from skimage.graph import MCP_Geometric

    lo = voxels.min(axis=0) - 1
    local = voxels - lo
    shape = tuple(local.max(axis=0) + 2)
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(local.T)] = True
    depth = ndi.distance_transform_edt(mask, sampling=spacing)
    centring = np.where(mask, 1.0 / (1e-3 + (depth / max(float(depth.max()), 1e-6)) ** 2), np.inf)
    unit = np.where(mask, 1.0, np.inf)
    touch_local = touch - lo
    mid = touch_local.mean(axis=0)
    ostium = touch_local[int(np.argmin(np.linalg.norm(touch_local - mid, axis=1)))]
    central = MCP_Geometric(centring, sampling=spacing)
    central.find_costs([tuple(ostium)])
    geodesic = MCP_Geometric(unit, sampling=spacing)
    distance, _ = geodesic.find_costs([tuple(ostium)])
    found: list[tuple[NDArray[np.int64], int]] = []
    while len(found) < limit:
        reach = np.where(mask, distance, -np.inf)
        end = np.unravel_index(int(np.argmax(reach)), shape)
        if not np.isfinite(reach[end]) or reach[end] < min_length_mm:
            break
        path = np.asarray(central.traceback(end), dtype=np.int64)
        if found:
            near = distance[tuple(path.T)] <= depth[tuple(path.T)] + 1.0  # still inside an earlier branch
            leave = int(np.flatnonzero(~near)[0]) if (~near).any() else len(path) - 1
        else:
            leave = 0
        found.append((path + lo, leave))
        sources = [tuple(p) for path_k, _ in found for p in (path_k - lo)]
        distance, _ = geodesic.find_costs(sources)
    return ostium + lo, found


def _arc(path_mm: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path_mm, axis=0), axis=1))])


def _from(path_mm: NDArray[np.float64], leave: int) -> NDArray[np.float64]:
    """The part of a branch path from LEAD_IN_MM before where it leaves its parent."""
    s = _arc(path_mm)
    start = int(np.searchsorted(s, s[leave] - LEAD_IN_MM)) if leave > 0 else 0
    return path_mm[start:]


def _direction(path: NDArray[np.float64], i: int, ahead: bool) -> NDArray[np.float64]:
    """Unit direction of ``path`` over CONTINUATION_MM after (or before) index ``i``."""
    s = _arc(path)
    if ahead:
        j = int(min(np.searchsorted(s, s[i] + CONTINUATION_MM), len(path) - 1))
        d = path[j] - path[i]
    else:
        j = int(max(np.searchsorted(s, s[i] - CONTINUATION_MM), 0))
        d = path[i] - path[j]
    norm = float(np.linalg.norm(d))
    return d / norm if norm > 0 else d


def _link(full: list[NDArray[np.float64]], leave: list[int], swap_from: int) -> tuple[list[int], list[int]]:
    """Parent and junction index (on the parent) of every branch; from branch ``swap_from`` on, a
    branch that continues its parent's course better than the parent does takes over the parent's
    name (their tails are exchanged), so the main artery runs straight through its branch points."""
    parent, junction = [-1] * len(full), [0] * len(full)
    for k in range(1, len(full)):
        point = full[k][leave[k]]
        gaps = [float(np.min(np.linalg.norm(full[i] - point, axis=1))) for i in range(k)]
        p = int(np.argmin(gaps))
        j = int(np.argmin(np.linalg.norm(full[p] - point, axis=1)))
        parent[k], junction[k] = p, j
        if k >= swap_from and 0 < j < len(full[p]) - 1:
            incoming = _direction(full[p], j, ahead=False)
            if float(incoming @ _direction(full[k], leave[k], True)) > float(incoming @ _direction(full[p], j, True)):
                full[p], full[k] = (np.concatenate([full[p][:j], full[k][leave[k]:]]),
                                    np.concatenate([full[k][:leave[k]], full[p][j:]]))
                leave[k] = min(leave[k], len(full[k]) - 1)
    return parent, junction


def _name_tree(volume: Volume, branches: list[tuple[NDArray[np.int64], int]], left: bool) -> list[
        tuple[str, NDArray[np.float64]]]:
    """Named vessel paths (mm) of one tree (see the module notes)."""
    full = [np.asarray(volume.index_to_patient(p), dtype=np.float64) for p, _ in branches]
    leave = [lv for _, lv in branches]
    parent, junction = _link(full, leave, swap_from=2 if left else 1)
    own = [full[0]] + [_from(full[k], leave[k]) for k in range(1, len(full))]
    names = ["RCA"] * len(full)
    named: list[tuple[str, NDArray[np.float64]]] = []
    if left and len(full) > 1:
        lm = float(_arc(full[1])[leave[1]]) >= TRUNK_MM
        if lm:
            named.append(("LM", full[1][: leave[1] + 1]))
            own[0] = _from(full[0], junction[1])
        lad = 0 if float(np.mean(own[0][:, 1])) <= float(np.mean(own[1][:, 1])) else 1
        names[lad], names[1 - lad] = "LAD", "LCX"
    elif left:
        names[0] = "LAD"
    counts: dict[str, int] = {}
    first_branch = 2 if left else 1
    for k in range(first_branch, len(full)):
        base = names[parent[k]]
        counts[base] = counts.get(base, 0) + 1
        prefix = {"LAD": "D", "LCX": "OM"}.get(base, f"{base} branch ")
        names[k] = f"{prefix}{counts[base]}"
    named += [(names[k], own[k]) for k in range(len(full))]
    return named


def extract_tree(volume: Volume, device_volume: Any, params: CoronaryParams, backend: Backend,
                 progress: Optional[ProgressFn] = None) -> AutoTree:
    """The coronary vessels found from the aortic root (see the module notes)."""
    spacing = volume.spacing
    report(progress, 0.02, "Finding the blood pool")
    pool = _blood_pool(device_volume, spacing, backend)
    threshold = params.lumen_threshold_hu if params.lumen_threshold_hu is not None else THRESHOLD_FRACTION * pool
    report(progress, 0.08, "Separating the coronary trees from the aorta and chambers")
    large, labels, contact = _components(device_volume, spacing, threshold, pool, backend)
    found = _trees(labels, contact, volume, params.auto_min_length_mm, backend)
    del labels, contact
    if not found:
        return AutoTree((), None, threshold, (f"no coronary tree found touching the aorta above {threshold:.0f} HU",))
    report(progress, 0.2, "Tracing the branches")
    trees = []
    for voxels, touch in found:
        ostium, branches = _branches(voxels, touch, spacing, params.auto_min_length_mm, params.auto_max_vessels)
        if branches:
            trees.append((np.asarray(volume.index_to_patient(ostium), dtype=np.float64), branches, len(voxels)))
    trees.sort(key=lambda t: -t[2])
    trees = trees[:2]  # the left and the right coronary tree
    root = _root(volume, large, [t[0] for t in trees], backend)
    vessels: list[AutoVessel] = []
    for ostium_mm, branches, _ in trees:
        if root is not None:
            left = bool(ostium_mm[0] >= root[0])  # the left ostium lies toward the patient's left
        elif len(trees) == 2:
            left = bool(ostium_mm[0] >= np.mean([t[0][0] for t in trees]))
        else:  # one tree and no root: from where its longest branch runs
            left = suggest(np.asarray(volume.index_to_patient(branches[0][0]), dtype=np.float64)) != "RCA"
        for name, path in _name_tree(volume, branches, left):
            if len(vessels) >= params.auto_max_vessels or len(path) < 2:
                break
            ends = (tuple(float(v) for v in path[0]), tuple(float(v) for v in path[-1]))
            vessels.append(AutoVessel(name, ends, path))  # type: ignore[arg-type]
    notes = () if len(trees) == 2 else (f"{len(trees)} coronary tree(s) found (a left and a right were expected)",)
    root_t = (float(root[0]), float(root[1]), float(root[2])) if root is not None else None
    return AutoTree(tuple(vessels), root_t, threshold, notes)


def _root(volume: Volume, large: Any, ostia: list[NDArray[np.float64]], backend: Backend) -> Optional[
        NDArray[np.float64]]:
    """Centre of the large structure within 25 mm of the ostia (the aortic root), or ``None``."""
    if not ostia:
        return None
    centre = np.mean(ostia, axis=0)
    idx = np.rint(volume.patient_to_index(centre)).astype(int)
    half = np.ceil(25.0 / np.asarray(volume.spacing)).astype(int)
    lo = np.maximum(idx - half, 0)
    hi = np.minimum(idx + half + 1, np.asarray(volume.shape))
    box = backend.asnumpy(large[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]])
    points = np.argwhere(box) + lo
    if points.size == 0:
        return None
    mm = np.asarray(volume.index_to_patient(points), dtype=np.float64)
    near = np.linalg.norm(mm - centre, axis=1) <= 25.0
    return mm[near].mean(axis=0) if near.any() else None
