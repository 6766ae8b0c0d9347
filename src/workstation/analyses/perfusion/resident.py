"""The two passes on a GPU-resident series (see :mod:`.passes` for the slab-wise CPU twin).

The series is uploaded once (:func:`workstation.compute.transfer.upload_frames`) as a ``(time, voxel)``
array in its own dtype and both passes read it there: pass 1 in three reductions
(first-frames mean, masked head sums, per-voxel key) and one top-k; pass 2 in the
fused kernel of :mod:`.fused`.  Results equal the CPU passes up to rounding: the
keys are the same numbers, candidates are picked by :func:`.passes.top_candidates`
on both, and head sums are exact for integer data (float64 accumulation).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.aif import CandidatePool
from workstation.analyses.perfusion.concentration import smooth_frames, tissue_range_mask
from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.fused import fused_maps
from workstation.analyses.perfusion.passes import MapBlocks, ScanResult, top_candidates


@lru_cache(maxsize=8)
def _key_kernel(mr: bool) -> Any:
    import cupy

    # CT: max_t (S_t - first); MR (signal drops): max_t (first - S_t); in the arithmetic dtype F
    expr = "(F)first - (F)x" if mr else "(F)x - (F)first"
    return cupy.ReductionKernel("T x, F first", "F y", expr, "max(a, b)", "y = a", "-(1.0 / 0.0)",
                                "perfusion_key")


@lru_cache(maxsize=8)
def _masked_sum() -> Any:
    import cupy

    return cupy.ReductionKernel("T x, bool m", "float64 y", "m ? (double)x : 0.0", "a + b", "y = a", "0",
                                "perfusion_masked_sum")


def scan_resident(sig: Any, shape: tuple[int, int, int], dtype: Any, modality: str, pool_size: int) -> ScanResult:
    """Pass 1 on a resident ``(time, voxel)`` series (unsmoothed, as on the CPU)."""
    import cupy

    n_t = sig.shape[0]
    ny, nx = shape[1:]
    mr = modality == "MR"
    first = sig[: min(2, n_t)].sum(axis=0, dtype=dtype) / dtype(min(2, n_t))
    head = tissue_range_mask(first, modality, float(cupy.percentile(first, 99)) if mr else None)
    count = int(cupy.count_nonzero(head))
    nz = shape[0]
    sums = _masked_sum()(sig.reshape(n_t, nz, ny * nx), head.reshape(1, nz, ny * nx), axis=2).sum(axis=1)
    sums = -sums if mr else sums  # enhancement(): MR signal drops
    key = _key_kernel(mr)(sig, first[None, :], axis=0)
    top = top_candidates(key, pool_size, cupy)
    flat = cupy.asnumpy(top)
    z, rem = np.divmod(flat, ny * nx)
    pool = CandidatePool(size=pool_size)
    pool.offer(cupy.asnumpy(key[top]).astype(np.float64), np.stack([z, rem // nx, rem % nx], axis=1),
               cupy.asnumpy(sig[:, top].T).astype(dtype).astype(np.float64))
    return ScanResult(pool, cupy.asnumpy(sums) / max(count, 1))


def maps_resident(
    sig: Any, shape: tuple[int, int, int], spacing_yx: tuple[float, float], dtype: Any, sigma_mm: float,
    modality: str, te_s: Optional[float], n_baseline: int, deconvolver: Deconvolver, aif_area: float,
    resample: NDArray[np.float64], trapezoid: NDArray[np.float64], grid_start: float,
) -> MapBlocks:
    """Pass 2 on a resident series: float32 maps as CuPy ``(z, y, x)`` arrays."""
    import cupy
    import cupyx.scipy.ndimage as ndi

    src = sig
    if sigma_mm > 0:  # in-plane smoothing frame by frame (slices are independent)
        src = cupy.empty(sig.shape, dtype=dtype)
        for t in range(sig.shape[0]):
            frame = sig[t].reshape(shape).astype(dtype)[None]
            src[t] = smooth_frames(frame, sigma_mm, spacing_yx, ndi).reshape(-1)
    maps = fused_maps(src, n_baseline, modality, te_s, deconvolver, aif_area, resample, trapezoid, grid_start,
                      dtype)
    # the tissue range is judged on the unsmoothed baseline, as float32 (the CPU's np.mean)
    s0 = sig[:n_baseline].sum(axis=0, dtype=cupy.float32) / np.float32(n_baseline)
    return MapBlocks(**{k: v.reshape(shape) for k, v in maps.items()}, s0=s0.reshape(shape))
