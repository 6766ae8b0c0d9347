"""The two passes on a GPU-resident series, pipelined with the transfers (see
:mod:`.passes` for the slab-wise CPU twin).

Pass 1 (:func:`upload_and_scan`): the series goes up as a ``(time, voxel)`` array in
its own dtype, :data:`SLABS` slabs of whole slices one after the other; while a slab
travels, the previous one is scanned (first-frames mean, masked head sums, per-voxel
key; nothing that makes the host wait).  Only the choice of candidates waits for the
last copy.

Pass 2 (:func:`maps_and_download`): the fused kernel of :mod:`.fused` writes the
masked maps slab by slab and each slab's maps go down to pinned host memory while the
next slab is computed.

Results equal the CPU passes up to rounding: the keys are the same numbers, candidates
are picked by :func:`.passes.top_candidates` on both, head sums are
exact for integer data (float64 accumulation) and the tissue rule is applied in
float32 as NumPy does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.aif import CandidatePool
from workstation.analyses.perfusion.concentration import smooth_frames, tissue_range_mask
from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.fused import MASKED, FusedMaps, TissueRule
from workstation.analyses.perfusion.passes import ScanResult, top_candidates
from workstation.compute.transfer import Downloads, pinned_empty, slab_bounds, upload_frames
from workstation.core.volume import VolumeSeries

#: Slabs (of whole slices) the transfers and the work are cut into, so they overlap.
SLABS = 4


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


def _head_sums(block: Any, head: Any, plane: int) -> Any:
    """Per-frame sums of ``block`` ``(time, voxel)`` over ``head`` voxels, slice-wise partials."""
    n_t = block.shape[0]
    planes = block.shape[1] // plane
    return _masked_sum()(block.reshape(n_t, planes, plane), head.reshape(1, planes, plane), axis=2).sum(axis=1)


def upload_and_scan(series: VolumeSeries, device_id: int, dtype: Any, modality: str,
                    pool_size: int) -> tuple[Any, ScanResult]:
    """Upload the series and run pass 1 on it (unsmoothed, as on the CPU).

    Returns the ``(time, voxel)`` device series and the scan result.
    """
    import cupy

    frames = [v.array for v in series.volumes]
    n_t = len(frames)
    nz, ny, nx = series.reference.shape
    plane = ny * nx
    mr = modality == "MR"
    n_first = min(2, n_t)
    first = cupy.empty(nz * plane, dtype=dtype)
    key = cupy.empty(nz * plane, dtype=dtype)
    sums = cupy.zeros(n_t, dtype=cupy.float64)
    count = cupy.zeros((), dtype=cupy.int64)

    def scan_slab(sig: Any, v0: int, v1: int) -> None:
        block = sig[:, v0:v1]
        f = block[:n_first].sum(axis=0, dtype=dtype) / dtype(n_first)
        first[v0:v1] = f
        key[v0:v1] = _key_kernel(mr)(block, f[None, :], axis=0)
        if not mr:  # the MR head needs the whole volume's reference (below)
            head = tissue_range_mask(f, modality)
            sums[...] += _head_sums(block, head, plane)
            count[...] += cupy.count_nonzero(head)

    sig = upload_frames(frames, device_id, slabs=SLABS, on_slab=scan_slab, slab_unit=plane)
    if mr:
        head = tissue_range_mask(first, modality, float(cupy.percentile(first, 99)))
        sums = -_head_sums(sig, head, plane)  # enhancement(): MR signal drops
        count = cupy.count_nonzero(head)
    top = top_candidates(key, pool_size, cupy)  # (synchronises: after the last slab)
    flat = cupy.asnumpy(top)
    z, rem = np.divmod(flat, plane)
    pool = CandidatePool(size=pool_size)
    pool.offer(cupy.asnumpy(key[top]).astype(np.float64), np.stack([z, rem // nx, rem % nx], axis=1),
               cupy.asnumpy(sig[:, top].T).astype(dtype).astype(np.float64))
    return sig, ScanResult(pool, cupy.asnumpy(sums) / max(int(count), 1))


def tissue_rule(sig: Any, modality: str, n_baseline: int, peak_limit: float, max_cbv: float) -> TissueRule:
    """The tissue rule of :func:`.logic.run` for a resident series (MR: the baseline's
    99th percentile over the whole volume)."""
    import cupy

    from workstation.analyses.perfusion.concentration import CT_TISSUE_HU, MR_TISSUE_FRACTION

    if modality == "MR":
        s0 = sig[:n_baseline].sum(axis=0, dtype=cupy.float32) / np.float32(n_baseline)
        return TissueRule(MR_TISSUE_FRACTION * float(cupy.percentile(s0, 99)), np.inf, peak_limit, max_cbv)
    return TissueRule(*CT_TISSUE_HU, peak_limit, max_cbv)


@dataclass
class PendingMaps:
    """Pass 2 results: masked maps on the device (for the summary) and on their way to
    pinned host arrays; :meth:`host` waits for them."""

    device: dict[str, Any]
    tissue_device: Any
    _host: dict[str, NDArray[Any]]
    _downloads: Downloads

    def host(self) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.bool_]]:
        """The maps and the tissue mask on the host, once their copies are done."""
        self._downloads.wait()
        tissue = self._host.pop("tissue").view(np.bool_)
        return self._host, tissue


def maps_and_download(
    sig: Any, shape: tuple[int, int, int], spacing_yx: tuple[float, float], dtype: Any, sigma_mm: float,
    modality: str, te_s: Optional[float], n_baseline: int, deconvolver: Deconvolver, aif_area: float,
    resample: NDArray[np.float64], trapezoid: NDArray[np.float64], grid_start: float, rule: TissueRule,
) -> PendingMaps:
    """Pass 2 on a resident series, slab by slab, each slab's maps sent down at once."""
    import cupy
    import cupyx.scipy.ndimage as ndi

    n_t, n_vox = sig.shape
    src = sig
    if sigma_mm > 0:  # in-plane smoothing frame by frame (slices are independent)
        src = cupy.empty(sig.shape, dtype=dtype)
        for t in range(n_t):
            frame = sig[t].reshape(shape).astype(dtype)[None]
            src[t] = smooth_frames(frame, sigma_mm, spacing_yx, ndi).reshape(-1)
    kernel = FusedMaps(src, n_baseline, modality, te_s, deconvolver, aif_area, resample, trapezoid, grid_start,
                       dtype, rule=rule, raw=sig)
    out = cupy.empty((len(MASKED), n_vox), dtype=cupy.float32)
    tissue = cupy.empty(n_vox, dtype=cupy.uint8)
    host = {name: pinned_empty(shape, np.float32) for name in MASKED}
    host["tissue"] = pinned_empty(shape, np.uint8)
    downloads = Downloads()
    plane = shape[1] * shape[2]
    for v0, v1 in slab_bounds(n_vox, SLABS, plane):
        kernel.launch(v0, v1, out, tissue)
        for k, name in enumerate(MASKED):
            downloads.copy(host[name].reshape(-1)[v0:v1], out[k, v0:v1])
        downloads.copy(host["tissue"].reshape(-1)[v0:v1], tissue[v0:v1])
    device = {name: out[k].reshape(shape) for k, name in enumerate(MASKED)}
    return PendingMaps(device, tissue.view(cupy.bool_).reshape(shape), host, downloads)
