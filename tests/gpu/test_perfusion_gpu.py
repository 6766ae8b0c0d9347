"""CPU (NumPy float64) vs GPU (CuPy) perfusion maps: agreement to 1e-4 relative.

Run where CUDA works; skipped elsewhere.  Needs no Qt and no pydicom.
"""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

from workstation.analyses.perfusion.deconvolution import Deconvolver  # noqa: E402
from workstation.analyses.perfusion.logic import run  # noqa: E402
from workstation.analyses.perfusion.params import PerfusionParams  # noqa: E402
from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.demo.perfusion import generate_perfusion, tissue_curve  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    return generate_perfusion(seed=1, shape=(6, 96, 96), n_times=36)[0]


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> float:
    """Fraction of voxels (finite in both) within ``rtol`` relative (floor 1e-6 absolute)."""
    both = np.isfinite(a) & np.isfinite(b)
    ok = np.abs(a[both] - b[both]) <= rtol * np.abs(b[both]) + 1e-6
    return float(ok.mean())


@pytest.mark.parametrize("method", ["ssvd", "csvd", "osvd"])
def test_maps_match_cpu_float64(gpu, series, method: str) -> None:  # type: ignore[no-untyped-def]
    params = PerfusionParams(method=method)
    cpu = run(series, params, cpu_backend())
    dev = run(series, params, gpu)
    assert dev.device.startswith("cuda")
    np.testing.assert_array_equal(cpu.tissue, dev.tissue)
    assert cpu.aif.location == dev.aif.location
    for name in cpu.maps:
        assert _close(dev.maps[name], cpu.maps[name], 1e-4) == 1.0, name
    assert dev.summary.core_ml == pytest.approx(cpu.summary.core_ml)
    assert dev.summary.hypoperfused_ml == pytest.approx(cpu.summary.hypoperfused_ml)


def test_series_too_large_for_the_device_goes_in_slabs(gpu, series, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With little free memory the GPU runs the slab passes; the maps stay those of the CPU."""
    from workstation.analyses.perfusion import logic, passes

    params = PerfusionParams(method="osvd")
    cpu = run(series, params, cpu_backend())
    slice_bytes = 36 * 96 * 96 * 8
    monkeypatch.setattr(type(gpu), "free_memory_bytes", lambda self: 3 * slice_bytes)  # a few slices per slab
    assert not logic.fits_on_device(series, gpu, np.float64, params.smoothing_mm)
    assert len(list(passes.slabs(series, passes.chunk_voxels(gpu, 36, 36, 8)))) > 1
    dev = run(series, params, gpu)
    assert any("slabs" in w for w in dev.warnings)
    np.testing.assert_array_equal(cpu.tissue, dev.tissue)
    for name in cpu.maps:
        assert _close(dev.maps[name], cpu.maps[name], 1e-4) == 1.0, name


def test_batched_deconvolution_kernel_parity(gpu) -> None:  # type: ignore[no-untyped-def]
    t = np.arange(0.0, 50.0, 1.0)
    from workstation.demo.perfusion import gamma_variate

    rng = np.random.default_rng(0)
    curves = np.stack([tissue_curve(t, f, m, d) for f in (10, 30, 60) for m in (3, 6, 12) for d in (0, 2, 5)], 1)
    curves = np.concatenate([curves + rng.normal(0, s, curves.shape) for s in (0.0, 0.2, 1.0)], axis=1)
    for method in ("ssvd", "csvd", "osvd"):
        dec = Deconvolver.build(gamma_variate(t), 1.0, method)
        ref = dec.apply(curves)
        got = dec.apply(cupy.asarray(curves), cupy)
        np.testing.assert_allclose(cupy.asnumpy(got.kmax), ref.kmax, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(cupy.asnumpy(got.tmax_s), ref.tmax_s, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(cupy.asnumpy(got.threshold), ref.threshold)


def test_float32_accuracy_on_gpu(gpu, series) -> None:  # type: ignore[no-untyped-def]
    """float32 is opt-in; it must stay within 1e-4 relative on CBF/CBV for cSVD (no TF32)."""
    ref = run(series, PerfusionParams(method="csvd"), cpu_backend())
    f32 = run(series, PerfusionParams(method="csvd", precision="float32"), gpu)
    for name in ("cbf", "cbv"):
        assert _close(f32.maps[name], ref.maps[name], 1e-4) > 0.999, name


def _signals(rng: np.random.Generator, modality: str, even: bool, n_vox: int = 6000):  # type: ignore[no-untyped-def]
    """Realistic int16 ``(time, voxel)`` signals: baseline plus delayed, scaled AIF-like boluses,
    sampled evenly (the identity grid) or with jitter (interpolated onto the grid)."""
    from workstation.demo.perfusion import acquisition_times, gamma_variate

    times = np.arange(36) * 1.5 if even else acquisition_times(36, 1.5, 0.15, rng)
    curves = np.stack([tissue_curve(times, f, m, d) for f, m, d in
                       zip(rng.uniform(5, 80, n_vox), rng.uniform(2, 12, n_vox), rng.uniform(0, 6, n_vox))], 1)
    base = rng.uniform(20, 60, n_vox) if modality == "CT" else rng.uniform(300, 900, n_vox)
    if modality == "CT":
        sig = base + curves * 0.05
    else:
        sig = base * np.exp(-curves * 0.002)
    sig = np.round(sig + rng.normal(0, 1.5, sig.shape)).astype(np.int16)
    return np.asarray(times), sig, gamma_variate(np.asarray(times))


@pytest.mark.parametrize("sampling", ["jittered", "even"])
@pytest.mark.parametrize("modality", ["CT", "MR"])
@pytest.mark.parametrize("method", ["ssvd", "csvd", "osvd"])
def test_fused_kernel_matches_numpy_twin(gpu, method: str, modality: str, sampling: str) -> None:  # type: ignore[no-untyped-def]
    """The fused pass-2 kernel against the vectorised NumPy float64 path, fresh inputs."""
    from workstation.analyses.perfusion.concentration import (
        interpolation_matrix, to_concentration, trapezoid_weights, uniform_grid)
    from workstation.analyses.perfusion.fused import fused_maps
    from workstation.analyses.perfusion.maps import cbf_from_kmax, cbv_from_areas, mtt_from, peak_time

    rng = np.random.default_rng({"ssvd": 1, "csvd": 2, "osvd": 3}[method] + (10 if modality == "MR" else 0))
    times, sig, aif = _signals(rng, modality, sampling == "even")
    grid, dt = uniform_grid(times)
    w = interpolation_matrix(times, grid)
    trap = trapezoid_weights(times)
    dec = Deconvolver.build(w @ aif, dt, method, input_matrix=w)
    te, n_base, start = 0.03, 4, float(grid[0] - times[0])
    conc, _ = to_concentration(sig.astype(np.float64), n_base, modality, te)
    stats = dec.apply(conc)
    cbf = cbf_from_kmax(stats.kmax)
    cbv = cbv_from_areas(trap @ conc, float(aif @ trap))
    ref = {"cbf": cbf, "cbv": cbv, "mtt": mtt_from(cbv, cbf, np), "tmax": stats.tmax_s,
           "ttp": peak_time(w @ conc, start, dt, np), "threshold": stats.threshold, "peak": conc.max(axis=0)}
    for dtype, rtol, need in ((np.float64, 1e-9, 1.0), (np.float32, 1e-3, 0.995)):
        got = fused_maps(cupy.asarray(sig), n_base, modality, te, dec, float(aif @ trap), w, trap, start, dtype)
        for name, arr in got.items():
            host = cupy.asnumpy(arr)
            assert host.dtype == np.float32 and host.shape == (sig.shape[1],)
            expect = ref[name].astype(np.float32)
            assert np.array_equal(np.isnan(host), np.isnan(expect)), name
            assert _close(host, expect, rtol) >= need, (name, dtype)


def test_upload_frames_is_exact(gpu, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workstation.compute import transfer

    series = generate_perfusion(seed=3, shape=(5, 64, 80), n_times=12)[0]
    frames = [v.array for v in series.volumes]
    host = np.stack([f.reshape(-1) for f in frames])
    monkeypatch.setattr(transfer, "STAGE_BYTES", 7000)  # many pieces, ring reused, odd piece sizes
    monkeypatch.setattr(transfer, "DIRECT_BYTES", 0)
    for method in ("pinned", "registered", "pageable"):
        dev = transfer.upload_frames(frames, gpu.device_id, method)
        assert dev.dtype == host.dtype
        np.testing.assert_array_equal(cupy.asnumpy(dev), host)
    np.testing.assert_array_equal(cupy.asnumpy(transfer.upload(frames[0], gpu.device_id)), frames[0])
    downloads = transfer.Downloads()
    got = [transfer.pinned_empty(host.shape, host.dtype), transfer.pinned_empty(5, np.int64)]
    downloads.copy(got[0], cupy.asarray(host))
    downloads.copy(got[1], cupy.arange(5, dtype=cupy.int64) * 3)  # queued work, then its copy
    downloads.wait()
    np.testing.assert_array_equal(got[0], host)
    np.testing.assert_array_equal(got[1], np.arange(5) * 3)
    with pytest.raises(ValueError, match="differ"):
        downloads.copy(got[1], cupy.arange(4, dtype=cupy.int64))


@pytest.mark.parametrize("source", ["pageable", "pinned"])
def test_slab_upload_hands_over_each_slab_once_its_data_is_there(gpu, monkeypatch, source: str) -> None:  # type: ignore[no-untyped-def]
    """Work queued by ``on_slab`` sees that slab's data (a sum per slab checked on the host)."""
    from workstation.compute import transfer

    rng = np.random.default_rng(7)
    host = rng.integers(-500, 1500, (9, 7 * 40 * 50), dtype=np.int16)
    frames = [host[k] for k in range(9)]
    if source == "pinned":
        block = gpu.host_empty(host.shape, host.dtype)
        assert transfer.is_pinned(block)
        block[...] = host
        frames = [block[k] for k in range(9)]
    monkeypatch.setattr(transfer, "STAGE_BYTES", 3000)  # several pieces per slab, the ring reused
    monkeypatch.setattr(transfer, "DIRECT_BYTES", 0)
    monkeypatch.setattr(transfer, "MIN_SLAB_BYTES", 1)
    sums: dict[tuple[int, int], object] = {}

    def on_slab(out, a: int, b: int) -> None:  # type: ignore[no-untyped-def]
        sums[(a, b)] = out[:, a:b].astype(cupy.int64).sum(axis=1)

    dev = transfer.upload_frames(frames, gpu.device_id, slabs=4, on_slab=on_slab, slab_unit=40 * 50)
    np.testing.assert_array_equal(cupy.asnumpy(dev), host)
    assert sorted(sums) == [(0, 4000), (4000, 8000), (8000, 12000), (12000, 14000)]
    for (a, b), got in sums.items():
        np.testing.assert_array_equal(cupy.asnumpy(got), host[:, a:b].astype(np.int64).sum(axis=1))


def test_series_in_pinned_memory_gives_the_same_maps(gpu, series) -> None:  # type: ignore[no-untyped-def]
    """Frames in page-locked memory (as the loader gives them on a GPU) go up without
    staging; the maps are those of ordinary memory."""
    from dataclasses import replace

    from workstation.compute.transfer import is_pinned
    from workstation.core.volume import VolumeSeries

    block = gpu.host_empty((len(series.volumes), *series.reference.shape), series.reference.array.dtype)
    for k, v in enumerate(series.volumes):
        block[k] = v.array
    pinned = VolumeSeries(tuple(replace(v, array=block[k]) for k, v in enumerate(series.volumes)), series.times,
                          meta=series.meta)
    assert is_pinned(pinned.volumes[3].array) and not is_pinned(series.volumes[3].array)
    params = PerfusionParams(method="csvd")
    a, b = run(series, params, gpu), run(pinned, params, gpu)
    np.testing.assert_array_equal(a.tissue, b.tissue)
    for name in a.maps:
        np.testing.assert_array_equal(a.maps[name], b.maps[name])


def test_top_candidates_same_on_both_backends(gpu) -> None:  # type: ignore[no-untyped-def]
    from workstation.analyses.perfusion.passes import top_candidates

    rng = np.random.default_rng(5)
    key = rng.integers(0, 50, 200_000).astype(np.float64)  # many ties
    for k in (1, 37, 400, 5000):
        np.testing.assert_array_equal(cupy.asnumpy(top_candidates(cupy.asarray(key), k, cupy)),
                                      top_candidates(key, k, np))


def test_prepared_series_is_pinned_and_matches_the_cpu(gpu, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The app's path on a GPU: the dynamic series is decoded into page-locked memory
    (no staging copy on upload) and the maps equal the CPU's."""
    pytest.importorskip("pydicom")
    from workstation.analyses.perfusion.prepare import prepare
    from workstation.compute import backend as backends
    from workstation.compute.transfer import is_pinned
    from workstation.demo.perfusion import write_perfusion
    from workstation.io.dicom import scan

    write_perfusion(tmp_path / "study", seed=2, shape=(4, 64, 64), n_times=30)
    (study,) = scan(tmp_path / "study").studies
    backends.set_backend(gpu)
    try:
        series = prepare(study)
    finally:
        backends.set_backend(None)
    assert all(is_pinned(v.array) for v in series.volumes)
    params = PerfusionParams(method="csvd")
    cpu, dev = run(series, params, cpu_backend()), run(series, params, gpu)
    np.testing.assert_array_equal(cpu.tissue, dev.tissue)
    for name in cpu.maps:
        assert _close(dev.maps[name], cpu.maps[name], 1e-4) == 1.0, name
