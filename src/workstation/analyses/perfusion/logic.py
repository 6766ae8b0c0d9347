"""Perfusion analysis of a dynamic CT or MR (DSC) series: parameters, result, run.

Pipeline (all voxel work on the backend's device: :mod:`.passes` slab by slab,
:mod:`.resident` when the series fits on the GPU, overlapping copies and work):

1. one pass keeps the strongest-enhancing voxels and the head's mean curve;
2. the bolus arrival on that curve gives provisional baseline frames; the AIF is
   chosen (automatically or from user voxels) and the baseline refined to the frames
   before the AIF's own arrival (less one frame of margin);
3. optional VOF partial-volume scaling of the AIF;
4. the AIF is resampled onto a uniform grid (step = the smallest acquisition step
   unless ``dt_s`` is given), its deconvolution operator factored once, and a second
   pass deconvolves every voxel and computes CBF, CBV, MTT, Tmax and TTP;
5. the tissue mask removes air, bone, CSF and large vessels (on the GPU inside the
   pass-2 kernel); the stroke summary is computed on it.

Partial results: when the progress callback takes them
(:func:`~workstation.core.progress.publish`), every finished slab of the slab passes
is published as ``Partial("slab", ((z0, z1), (0, y), (0, x)), maps)`` with the final,
tissue-masked values of those slices (``cbf``, ``cbv``, ``mtt``, ``tmax``, ``ttp``,
``tissue``); a run resident on the GPU publishes its whole maps once.  The result is
the same with or without a listener.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.inputs import provenance
from workstation.analyses.perfusion.aif import VascularCurve, roi_curve, select_aif, select_vof, vof_scale
from workstation.analyses.perfusion.concentration import (
    baseline_frames,
    interpolation_matrix,
    tissue_range_mask,
    trapezoid_weights,
    uniform_grid,
)
from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.analyses.perfusion.passes import compute_maps, scan_candidates
from workstation.analyses.perfusion.resident import maps_and_download, tissue_rule, upload_and_scan
from workstation.analyses.perfusion.result import MAP_NAMES, PerfusionResult
from workstation.analyses.perfusion.summary import stroke_summary
from workstation.compute.backend import Backend
from workstation.compute.threads import single_threaded_blas
from workstation.core.progress import Partial, ProgressFn, publish, report, scaled, wants_partials
from workstation.core.volume import VolumeSeries

__all__ = ["MAP_NAMES", "PerfusionParams", "PerfusionResult", "estimate_memory", "run", "voxel_signals"]


def voxel_signals(series: VolumeSeries, voxels: Any) -> NDArray[np.float64]:
    """Raw signal curves ``(k, time)`` of ``(k, 3)`` z-y-x voxels."""
    idx = np.asarray(voxels, dtype=np.intp).reshape(-1, 3)
    shape = series.reference.shape
    if idx.size and (np.any(idx < 0) or np.any(idx >= np.asarray(shape))):
        raise ValueError(f"voxel indices outside the volume of shape {shape}")
    return np.stack([v.array[idx[:, 0], idx[:, 1], idx[:, 2]] for v in series.volumes], axis=1).astype(np.float64)


def _concentration(signals: NDArray[np.float64], n_base: int, modality: str, te_s: Optional[float]) -> NDArray[Any]:
    from workstation.analyses.perfusion.concentration import to_concentration

    conc, _ = to_concentration(signals.T, n_base, modality, te_s)
    return np.asarray(conc.T)


def _echo_time_s(series: VolumeSeries, params: PerfusionParams) -> Optional[float]:
    te = params.te_ms
    if te is None:
        for meta in (series.meta, series.reference.meta):
            if meta.get("EchoTime") is not None:
                te = float(meta["EchoTime"])
                break
    return None if te is None else te / 1000.0


#: Fraction of the free GPU memory a resident run may fill; larger series go in slabs.
DEVICE_FILL = 0.8


def run(series: VolumeSeries, params: PerfusionParams, backend: Backend, progress: Optional[ProgressFn] = None,
        timings: Optional[dict[str, float]] = None) -> PerfusionResult:
    """Compute perfusion maps and the stroke summary of a dynamic series.

    ``timings``: when given, filled with seconds per stage (``scan``, with the upload
    on a GPU; ``aif``; ``maps``; ``finish``, the summary; ``download``, what is left of
    the copies on a GPU); the device is synchronised at each stage boundary (for
    benchmarks), which undoes part of the GPU's overlap of copies and work.  Host linear algebra here is small (one SVD of the
    AIF matrix), so BLAS stays on one thread (:mod:`workstation.compute.threads`).
    """
    with single_threaded_blas():
        return _run(series, params, backend, progress, timings)


def _run(series: VolumeSeries, params: PerfusionParams, backend: Backend, progress: Optional[ProgressFn],
         timings: Optional[dict[str, float]]) -> PerfusionResult:
    clock = _StageClock(backend, timings)
    if not isinstance(series, VolumeSeries):
        raise TypeError(f"perfusion needs a VolumeSeries, got {type(series).__name__}")
    times = np.asarray(series.times, dtype=np.float64)
    ref = series.reference
    modality = (ref.modality or str(series.meta.get("Modality", "")) or "CT").upper()
    te_s = _echo_time_s(series, params)
    if modality == "MR" and te_s is None:
        raise ValueError("MR DSC perfusion needs the echo time: the series has no EchoTime; set te_ms")
    dtype = np.float64 if params.precision == "float64" else np.float32
    warnings: list[str] = []
    grid, dt = uniform_grid(times, params.dt_s)
    steps = np.diff(times)
    if steps.max() - steps.min() > 0.05 * steps.min():
        warnings.append(f"uneven sampling ({steps.min():.2f}-{steps.max():.2f} s) resampled to {dt:.2f} s")

    # candidates from unsmoothed frames: smoothing would blur small arteries (partial volume)
    resident = None
    if backend.is_gpu and fits_on_device(series, backend, dtype, params.smoothing_mm):
        report(progress, 0.05, "uploading and finding the arterial input")
        resident, scan = upload_and_scan(series, backend.device_id or 0, dtype, modality, params.pool_size)
    else:
        if backend.is_gpu:
            warnings.append("the series does not fit in GPU memory at once: processed in slabs")
        scan = scan_candidates(series, backend, dtype, 0.0, modality, params.pool_size, scaled(progress, 0.0, 0.3))
    clock.lap("scan")
    n_base = baseline_frames(scan.head_curve - scan.head_curve[0])
    aif = _choose_aif(series, scan.pool, params, times, n_base, modality, te_s)
    if params.baseline_frames is not None:
        n_base = int(params.baseline_frames)
    else:
        n_base = baseline_frames(aif.curve)
    if n_base < 3:
        warnings.append(f"only {n_base} pre-bolus frame(s): the baseline is noisy")
    aif = _choose_aif(series, scan.pool, params, times, n_base, modality, te_s)
    vof = _choose_vof(series, scan.pool, params, times, n_base, modality, te_s, aif)
    if params.use_vof and vof is not None:
        factor = vof_scale(aif, vof, times)
        if factor > 1.0:
            aif = VascularCurve(aif.curve * factor, aif.voxels, aif.location, aif.source, factor)
        else:
            warnings.append(f"VOF area below AIF area (ratio {factor:.2f}); AIF not rescaled")
    elif params.use_vof:
        warnings.append("no venous outflow found; AIF not rescaled for partial volume")
    if aif.curve[-1] > 0.3 * aif.peak:
        warnings.append("the AIF has not returned towards baseline: acquisition may be too short")
    report(progress, 0.35, "factoring the AIF")

    resample = interpolation_matrix(times, grid)
    deconvolver = Deconvolver.build(
        resample @ aif.curve, dt, params.method, threshold=params.threshold,
        candidates=params.osvd_candidates, oi_target=params.oi_target, input_matrix=resample,
    )
    trapezoid = trapezoid_weights(times)
    aif_area = float(aif.curve @ trapezoid)
    grid_start = float(grid[0] - times[0])
    clock.lap("aif")
    voxel_ml = ref.voxel_volume_mm3 / 1000.0
    summarise = partial(stroke_summary, voxel_ml=voxel_ml, tmax_threshold_s=params.tmax_threshold_s,
                        rcbf_threshold=params.rcbf_threshold)
    if resident is not None:
        rule = tissue_rule(resident, modality, n_base, params.vessel_fraction * aif.peak, params.max_cbv)
        pending = maps_and_download(resident, ref.shape, ref.spacing[1:], dtype, params.smoothing_mm, modality,
                                    te_s, n_base, deconvolver, aif_area, resample, trapezoid, grid_start, rule)
        del resident
        clock.lap("maps")
        summary = summarise(pending.device["cbf"], pending.device["tmax"], pending.tissue_device, xp=backend.xp)
        clock.lap("finish")
        host, tissue = pending.host()
        threshold_map = host.pop("threshold")
        maps = host
        clock.lap("download")
        _publish_slab(progress, 0, ref.shape, maps, tissue)
    else:
        masker = _Masker(series, params, modality, n_base, aif.peak)
        on_slab = masker.publisher(progress) if wants_partials(progress) else None
        blocks = compute_maps(series, backend, dtype, params.smoothing_mm, modality, te_s, n_base, deconvolver,
                              aif_area, resample, trapezoid, grid_start, scaled(progress, 0.35, 0.95), on_slab)
        clock.lap("maps")
        maps, threshold_map, tissue = masker.mask(0, ref.shape[0], vars(blocks))
        summary = summarise(maps["cbf"], maps["tmax"], tissue)
        clock.lap("finish")
    report(progress, 1.0, "done")
    return PerfusionResult(
        maps=maps, tissue=tissue, threshold_map=threshold_map,
        method=params.method,
        threshold=params.effective_threshold if params.method != "osvd" else None,
        oi_target=params.oi_target if params.method == "osvd" else None,
        times=tuple(float(t) for t in times), dt_s=float(dt), baseline_frames=int(n_base),
        aif=aif, aif_mm=tuple(float(v) for v in ref.index_to_patient(aif.location)),
        vof=vof, summary=summary, device=backend.label, modality=modality, warnings=tuple(warnings),
        provenance=provenance("perfusion", params, backend.label, series),
    )


class _Masker:
    """The tissue mask and masked maps of the slab passes, for any range of slices.

    The GPU applies the same rule inside its kernel.  Every term is per voxel except
    the MR reference (the 99th percentile of the whole head's baseline), computed once,
    so masking slab by slab gives exactly the maps of masking the whole volume.
    """

    def __init__(self, series: VolumeSeries, params: PerfusionParams, modality: str, n_base: int,
                 aif_peak: float) -> None:
        self.series, self.params, self.modality, self.n_base, self.aif_peak = series, params, modality, n_base, aif_peak
        self._mr_reference: Optional[float] = None

    def _baseline(self, z0: int, z1: int) -> NDArray[np.float32]:
        # the tissue range is judged on the unsmoothed baseline (smoothing mixes CSF and bone edges in)
        return np.mean([v.array[z0:z1] for v in self.series.volumes[: self.n_base]], axis=0, dtype=np.float32)

    def mr_reference(self) -> Optional[float]:
        if self.modality == "MR" and self._mr_reference is None:
            self._mr_reference = float(np.percentile(self._baseline(0, self.series.reference.shape[0]), 99))
        return self._mr_reference

    def mask(self, z0: int, z1: int, raw: Mapping[str, NDArray[np.float32]]
             ) -> tuple[dict[str, NDArray[np.float32]], NDArray[np.float32], NDArray[np.bool_]]:
        """Masked maps, threshold map and tissue mask of slices ``z0:z1`` from their raw blocks."""
        params = self.params
        tissue = tissue_range_mask(self._baseline(z0, z1), self.modality, self.mr_reference())
        tissue &= (raw["peak"] < params.vessel_fraction * self.aif_peak) & (raw["cbv"] <= params.max_cbv)
        tissue &= np.isfinite(raw["cbf"]) & (raw["cbf"] > 0)
        nan = np.float32(np.nan)
        maps = {name: np.where(tissue, raw[name], nan).astype(np.float32) for name in MAP_NAMES}
        return maps, np.where(tissue, raw["threshold"], nan).astype(np.float32), tissue

    def publisher(self, progress: Optional[ProgressFn]) -> Any:
        """An ``on_slab`` callback for :func:`.passes.compute_maps` that publishes each slab."""
        def on_slab(z0: int, z1: int, raw: Mapping[str, NDArray[np.float32]]) -> None:
            maps, _threshold, tissue = self.mask(z0, z1, raw)
            _publish_slab(progress, z0, self.series.reference.shape, maps, tissue)

        return on_slab


def _publish_slab(progress: Optional[ProgressFn], z0: int, shape: tuple[int, ...],
                  maps: Mapping[str, NDArray[np.float32]], tissue: NDArray[np.bool_]) -> None:
    z1 = z0 + tissue.shape[0]
    publish(progress, Partial("slab", ((z0, z1), (0, shape[1]), (0, shape[2])), {**maps, "tissue": tissue}))


def fits_on_device(series: VolumeSeries, backend: Backend, dtype: Any, smoothing_mm: float) -> bool:
    """Whether the whole series, its smoothed copy and the maps fit in the free GPU memory.

    Counted: the series in its own dtype, a smoothed copy in ``dtype`` when smoothing,
    and about 16 float32 values per voxel for maps, masks and kernel scratch, within
    :data:`DEVICE_FILL` of the free memory.
    """
    free = backend.free_memory_bytes()
    if free is None:
        return False
    n_vox = int(np.prod(series.reference.shape))
    n_t = len(series.volumes)
    raw = n_t * n_vox * np.result_type(*[v.array.dtype for v in series.volumes]).itemsize
    smoothed = n_t * n_vox * np.dtype(dtype).itemsize if smoothing_mm > 0 else 0
    return raw + smoothed + 16 * 4 * n_vox <= DEVICE_FILL * free


def estimate_memory(series: VolumeSeries, params: PerfusionParams, backend: Backend) -> int:
    """Peak bytes of a run on ``backend``'s device, beyond the series itself.

    GPU: the series resident with its smoothed copy and the map scratch (what
    :func:`fits_on_device` asks for; with less free memory the run goes in slabs and
    needs less).  CPU: the float32 maps, tissue mask and masked copies, the baseline
    mean, one slab of whole slices in the working precision and the chunk budget of the
    slab passes (:mod:`.passes`).
    """
    from workstation.analyses.perfusion import passes

    dtype = np.dtype(np.float64 if params.precision == "float64" else np.float32)
    n_vox = int(np.prod(series.reference.shape))
    n_t = len(series.volumes)
    stored = np.result_type(*[v.array.dtype for v in series.volumes]).itemsize
    if backend.is_gpu:
        smoothed = n_t * n_vox * dtype.itemsize if params.smoothing_mm > 0 else 0
        return n_t * n_vox * stored + smoothed + 16 * 4 * n_vox
    grid, _ = uniform_grid(np.asarray(series.times, dtype=np.float64), params.dt_s)
    length = grid.size * (1 if params.method == "ssvd" else 2)
    per_voxel = (2 * n_t + 6 * length) * dtype.itemsize
    budget_voxels = max(1024, passes.CPU_BUDGET_BYTES // per_voxel)
    plane = int(np.prod(series.reference.shape[1:]))
    slab_voxels = min(n_vox, max(1, budget_voxels // plane) * plane)
    slab = n_t * slab_voxels * dtype.itemsize
    working = min(passes.CPU_BUDGET_BYTES, n_vox * per_voxel)
    maps = len(passes.MapBlocks.__dataclass_fields__) * 4 * n_vox
    n_base = params.baseline_frames or max(2, n_t // 4)
    finish = 6 * 4 * n_vox + 4 * n_vox + n_base * n_vox * stored + 2 * n_vox  # masked maps, s0, baseline stack
    return maps + max(slab + working, finish)


class _StageClock:
    """Seconds per stage into ``timings`` (synchronising the device), or nothing."""

    def __init__(self, backend: Backend, timings: Optional[dict[str, float]]) -> None:
        self.backend, self.timings = backend, timings
        self.t0 = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.timings is None:
            return
        self.backend.synchronize()
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.t0
        self.t0 = now


def _choose_aif(series: VolumeSeries, pool: Any, params: PerfusionParams, times: NDArray[np.float64], n_base: int,
                modality: str, te_s: Optional[float]) -> VascularCurve:
    if params.aif_voxels:
        voxels = np.asarray(params.aif_voxels, dtype=np.intp).reshape(-1, 3)
        return roi_curve(_concentration(voxel_signals(series, voxels), n_base, modality, te_s), voxels, "roi")
    return select_aif(_concentration(pool.signals, n_base, modality, te_s), pool.voxels, times)


def _choose_vof(series: VolumeSeries, pool: Any, params: PerfusionParams, times: NDArray[np.float64], n_base: int,
                modality: str, te_s: Optional[float], aif: VascularCurve) -> Optional[VascularCurve]:
    if params.vof_voxels:
        voxels = np.asarray(params.vof_voxels, dtype=np.intp).reshape(-1, 3)
        return roi_curve(_concentration(voxel_signals(series, voxels), n_base, modality, te_s), voxels, "roi")
    return select_vof(_concentration(pool.signals, n_base, modality, te_s), pool.voxels, times, aif)
