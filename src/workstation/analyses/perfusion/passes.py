"""The two passes over a dynamic series, slab by slab, on the backend's device.

The series is never stacked whole: a slab of whole slices ``(time, z, y, x)`` is
uploaded, optionally smoothed in-plane, flattened to ``(time, voxel)`` and processed
in column chunks sized to the memory budget (the free device memory on a GPU; at most
:data:`CPU_BUDGET_BYTES` of working arrays on the CPU, shared by up to
:data:`CPU_WORKERS` threads that deconvolve chunks side by side: NumPy releases the
GIL in its loops and BLAS calls, and BLAS itself is held to one thread meanwhile).

Pass 1 (:func:`scan_candidates`) keeps the strongest-enhancing voxels (AIF/VOF
candidates) and the mean curve of the head for bolus-arrival detection.  Pass 2
(:func:`compute_maps`) deconvolves every voxel and returns the raw map ingredients.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.aif import CandidatePool
from workstation.analyses.perfusion.concentration import (
    enhancement,
    smooth_frames,
    tissue_range_mask,
    to_concentration,
)
from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.maps import cbf_from_kmax, cbv_from_areas, mtt_from, peak_time
from workstation.compute.backend import Backend
from workstation.compute.threads import single_threaded_blas
from workstation.core.progress import ProgressFn, report
from workstation.core.volume import VolumeSeries

#: Working-memory budget of one chunk on the CPU (the whole run stays under 500 MB extra).
CPU_BUDGET_BYTES = 192 * 2**20
#: Fraction of the free GPU memory one chunk may use.
GPU_BUDGET_FRACTION = 0.4
#: Most CPU threads deconvolving chunks at once (the budget above is split between them).
CPU_WORKERS = 8
_POOLS: dict[int, ThreadPoolExecutor] = {}


def cpu_workers(backend: Backend) -> int:
    """Chunks processed side by side: one on a GPU, up to :data:`CPU_WORKERS` CPU cores."""
    if backend.is_gpu:
        return 1
    return max(1, min(CPU_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def _pool(workers: int) -> ThreadPoolExecutor:
    """A pool of exactly ``workers`` threads, so no more chunks than budgeted run at once."""
    if workers not in _POOLS:
        _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfusion")
    return _POOLS[workers]


def chunk_voxels(backend: Backend, n_times: int, length: int, itemsize: int) -> int:
    """Voxels per chunk: about ``2 n_t + 6 L`` working values per voxel."""
    per_voxel = (2 * n_times + 6 * length) * itemsize
    free = backend.free_memory_bytes()
    budget = CPU_BUDGET_BYTES if free is None else int(free * GPU_BUDGET_FRACTION)
    return max(1024, budget // per_voxel)


def slabs(series: VolumeSeries, voxels_per_chunk: int) -> Iterator[tuple[int, int]]:
    """Slice ranges ``[z0, z1)`` of about one chunk each (at least one slice)."""
    nz, ny, nx = series.reference.shape
    per = max(1, voxels_per_chunk // (ny * nx))
    for z0 in range(0, nz, per):
        yield z0, min(nz, z0 + per)


def load_slab(series: VolumeSeries, z0: int, z1: int, backend: Backend, dtype: Any, sigma_mm: float) -> Any:
    """Upload slices ``z0:z1`` of every frame as ``(time, voxel)`` in ``dtype``.

    Memory: the block itself plus one frame of smoothing scratch (a GPU also holds the
    stored-dtype copy it was uploaded from, briefly).
    """
    if backend.is_gpu:  # upload in the stored dtype (int16: a quarter of float64), convert there
        block = backend.asarray(np.stack([v.array[z0:z1] for v in series.volumes])).astype(dtype, copy=False)
    else:
        block = np.empty((len(series.volumes), z1 - z0, *series.reference.shape[1:]), dtype=dtype)
        for t, v in enumerate(series.volumes):
            block[t] = v.array[z0:z1]
    if sigma_mm > 0:
        spacing_yx = series.reference.spacing[1:]
        for t in range(block.shape[0]):
            block[t] = smooth_frames(block[t][None], sigma_mm, spacing_yx, backend.ndimage)[0]
    return block.reshape(block.shape[0], -1)


def top_candidates(key: Any, k: int, xp: Any = np) -> Any:
    """Flat indices of the ``k`` largest ``key`` values, ordered by key (descending)
    and, among equal keys, by index (ascending): the same choice on every backend and
    every slab plan.  NaN keys rank last."""
    n = int(key.shape[0])
    key = xp.where(xp.isnan(key), -xp.inf, key)
    if k >= n:
        idx = xp.arange(n)
    else:
        kth = xp.partition(key, n - k)[n - k]
        above = xp.flatnonzero(key > kth)
        ties = xp.flatnonzero(key == kth)[: k - int(above.shape[0])]
        idx = xp.sort(xp.concatenate([above, ties]))
    return idx[xp.argsort(-key[idx], kind="stable")] if xp is np else idx[_stable_desc(key[idx], xp)]


def _stable_desc(values: Any, xp: Any) -> Any:
    # CuPy's argsort is stable (radix sort); spelled out for clarity
    return xp.argsort(-values)


@dataclass
class ScanResult:
    """Pass 1 output: candidate pool and the head's mean enhancement curve."""

    pool: CandidatePool
    head_curve: NDArray[np.float64]


def scan_candidates(
    series: VolumeSeries, backend: Backend, dtype: Any, sigma_mm: float, modality: str,
    pool_size: int, progress: Optional[ProgressFn] = None,
) -> ScanResult:
    """Pass 1: strongest provisional enhancement (over the first two frames) per voxel."""
    xp = backend.xp
    n_t = len(series.times)
    ny, nx = series.reference.shape[1:]
    pool = CandidatePool(size=pool_size)
    sums = np.zeros(n_t)
    count = 0
    plan = list(slabs(series, chunk_voxels(backend, n_t, 2, np.dtype(dtype).itemsize)))
    mr_ref = None
    if modality == "MR":  # one reference for the whole head, whatever the slab plan
        first_all = np.mean([v.array for v in series.volumes[: min(2, n_t)]], axis=0, dtype=dtype)
        mr_ref = float(np.percentile(first_all, 99))
    for k, (z0, z1) in enumerate(plan):
        sig = load_slab(series, z0, z1, backend, dtype, sigma_mm)
        enh = enhancement(sig, modality)
        first = sig[: min(2, n_t)].mean(axis=0)
        head = tissue_range_mask(first, modality, mr_ref)
        sums += backend.asnumpy(enh[:, head].sum(axis=1)) if bool(head.any()) else 0.0
        count += int(head.sum())
        key = enh.max(axis=0) - enhancement(first, modality)  # = max over time of the rise, no slab copy
        top = top_candidates(key, pool_size, xp)
        flat = backend.asnumpy(top)
        z, rem = np.divmod(flat, ny * nx)
        voxels = np.stack([z + z0, rem // nx, rem % nx], axis=1)
        pool.offer(backend.asnumpy(key[top]), voxels, backend.asnumpy(sig[:, top]).T)
        del sig, enh, key  # free this slab before the next one is loaded
        report(progress, (k + 1) / len(plan), "finding the arterial input")
    head_curve = sums / max(count, 1)
    return ScanResult(pool, head_curve)


@dataclass
class MapBlocks:
    """Pass 2 output on the host, each ``(z, y, x)``."""

    cbf: NDArray[np.float32]
    cbv: NDArray[np.float32]
    mtt: NDArray[np.float32]
    tmax: NDArray[np.float32]
    ttp: NDArray[np.float32]
    threshold: NDArray[np.float32]
    peak: NDArray[np.float32]


def compute_maps(
    series: VolumeSeries, backend: Backend, dtype: Any, sigma_mm: float, modality: str, te_s: Optional[float],
    n_baseline: int, deconvolver: Deconvolver, aif_area: float, resample: NDArray[np.float64],
    trapezoid: NDArray[np.float64], grid_start: float, progress: Optional[ProgressFn] = None,
    on_slab: Optional[Callable[[int, int, Mapping[str, NDArray[np.float32]]], None]] = None,
) -> MapBlocks:
    """Pass 2: concentration, deconvolution and maps for every voxel.

    ``on_slab(z0, z1, raw)``, when given, receives each finished slab's raw map
    ingredients (``(z1 - z0, y, x)`` views, valid during the call).
    """
    xp = backend.xp
    shape = series.reference.shape
    n_vox = int(np.prod(shape))
    out = {k: np.empty(n_vox, dtype=np.float32) for k in MapBlocks.__dataclass_fields__}
    n_t = len(series.times)
    budget_voxels = chunk_voxels(backend, n_t, deconvolver.length, np.dtype(dtype).itemsize)
    workers = max(1, min(cpu_workers(backend), budget_voxels // 1024))  # chunks of at least 1024 voxels
    per_chunk = budget_voxels // workers
    w_trap = xp.asarray(trapezoid, dtype=dtype)
    w_grid = xp.asarray(resample, dtype=dtype)
    plan = list(slabs(series, per_chunk * workers))

    def chunk(sig: Any, base: int, c0: int, c1: int) -> None:
        conc, _ = to_concentration(sig[:, c0:c1], n_baseline, modality, te_s, xp)
        stats = deconvolver.apply(conc, xp)
        cbf = cbf_from_kmax(stats.kmax)
        cbv = cbv_from_areas(w_trap @ conc, aif_area)
        values = {
            "cbf": cbf, "cbv": cbv, "mtt": mtt_from(cbv, cbf, xp), "tmax": stats.tmax_s,
            "ttp": peak_time(w_grid @ conc, grid_start, deconvolver.dt, xp),
            "threshold": stats.threshold, "peak": conc.max(axis=0),
        }
        for name, arr in values.items():
            out[name][base + c0: base + c1] = backend.asnumpy(arr.astype(xp.float32))

    for k, (z0, z1) in enumerate(plan):
        sig = load_slab(series, z0, z1, backend, dtype, sigma_mm)
        base = z0 * shape[1] * shape[2]
        ranges = [(c0, min(sig.shape[1], c0 + per_chunk)) for c0 in range(0, sig.shape[1], per_chunk)]
        if workers > 1 and len(ranges) > 1:
            with single_threaded_blas():  # BLAS's own threads would fight the workers (5x slower)
                list(_pool(workers).map(lambda r, s=sig, b=base: chunk(s, b, *r), ranges))
        else:
            for c0, c1 in ranges:
                chunk(sig, base, c0, c1)
        del sig  # free this slab before the next one is loaded
        if on_slab is not None:
            n = (z1 - z0) * shape[1] * shape[2]
            on_slab(z0, z1, {name: v[base: base + n].reshape(z1 - z0, *shape[1:]) for name, v in out.items()})
        report(progress, (k + 1) / len(plan), "deconvolving")
    return MapBlocks(**{k: v.reshape(shape) for k, v in out.items()})
