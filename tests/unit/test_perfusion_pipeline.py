"""The whole perfusion analysis on the synthetic brain phantom (workstation.demo.perfusion).

Tolerances (oSVD, 2 mm smoothing, 3 HU noise, 1.35-1.65 s sampling):
* AIF inside the artery, VOF inside the sinus; tissue mask free of skull, air and vessels;
* CBV within 15 % of truth in grey and white matter (area ratio: unbiased by SVD);
* Tmax: penumbra and core above 6 s, normal tissue below 6 s (SVD smoothing adds
  1.5-3 s to the true delay);
* Tmax > 6 s volume within 20 % of the true penumbra + core volume; the core is found
  in the image-left hemisphere and is at least half the true core volume.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from workstation.analyses.perfusion.concentration import (
    detect_arrival,
    interpolation_matrix,
    to_concentration,
    trapezoid_weights,
    uniform_grid,
)
from workstation.analyses.perfusion.logic import run
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume, VolumeSeries
from workstation.demo.perfusion import generate_perfusion


@pytest.fixture(scope="module")
def phantom() -> tuple:
    series, truth = generate_perfusion(seed=0, shape=(4, 80, 80), n_times=36)
    result = run(series, PerfusionParams(), cpu_backend())
    return series, truth, result


def test_aif_vof_and_mask(phantom: tuple) -> None:
    _series, truth, r = phantom
    assert truth.labels[r.aif.location] == 6
    assert all(truth.labels[tuple(v)] == 6 for v in r.aif.voxels)
    assert r.vof is not None and truth.labels[r.vof.location] == 7
    from scipy.ndimage import binary_dilation

    # smoothing (2 mm) mixes edges: only voxels next to parenchyma may enter the mask
    parenchyma = np.isin(truth.labels, [2, 3, 4, 5])
    near = binary_dilation(parenchyma, structure=np.ones((1, 3, 3), bool), iterations=2)
    assert not np.any(r.tissue & ~near)
    assert np.count_nonzero(r.tissue & ~parenchyma) < 0.02 * np.count_nonzero(r.tissue)
    assert r.tissue[np.isin(truth.labels, [2, 3])].mean() > 0.9
    assert r.baseline_frames >= 3


def test_map_values_against_truth(phantom: tuple) -> None:
    _series, truth, r = phantom
    for label in (2, 3):
        sel = (truth.labels == label) & r.tissue
        assert np.median(r.cbv[sel]) == pytest.approx(truth.cbv[sel][0], rel=0.15)
        assert np.median(r.tmax[sel]) < 6.0
    for label in (4, 5):
        sel = (truth.labels == label) & r.tissue
        assert np.median(r.tmax[sel]) > 6.0
    gm, wm, core = (np.median(r.cbf[(truth.labels == k) & r.tissue]) for k in (2, 3, 4))
    assert gm > wm > 2 * core
    ttp_gm = np.median(r.ttp[(truth.labels == 2) & r.tissue])
    ttp_core = np.median(r.ttp[(truth.labels == 4) & r.tissue])
    assert ttp_core > ttp_gm + 5.0  # delayed, dispersed bolus peaks late
    assert np.allclose(r.mtt[r.tissue], (r.cbv / r.cbf * 60)[r.tissue], rtol=1e-4)


def test_stroke_summary(phantom: tuple) -> None:
    _series, truth, r = phantom
    s = r.summary
    assert s.hypoperfused_ml == pytest.approx(truth.volume_ml(4, 5), rel=0.2)
    assert truth.volume_ml(4) * 0.5 <= s.core_ml <= truth.volume_ml(4) * 1.3
    assert s.affected_side == "image left"
    assert s.mismatch_ml == pytest.approx(s.hypoperfused_ml - s.core_ml)
    assert s.mismatch_ratio == pytest.approx(s.hypoperfused_ml / s.core_ml)


def test_to_json_is_serialisable(phantom: tuple) -> None:
    series, _truth, r = phantom
    j = json.loads(json.dumps(r.to_json()))
    assert j["method"] == "osvd" and j["device"] == "cpu"
    assert j["aif"]["times_s"] == pytest.approx(list(series.times), abs=1e-3)
    assert len(j["aif"]["values"]) == len(series.times)
    assert j["aif"]["position_mm_lps"] == pytest.approx(
        list(series.reference.index_to_patient(r.aif.location)), abs=1e-3)
    assert j["maps"]["cbf"]["unit"] == "ml/100g/min"


def test_user_aif_roi_is_used(phantom: tuple) -> None:
    series, truth, _r = phantom
    voxels = tuple(tuple(int(i) for i in v) for v in np.argwhere(truth.labels == 6)[:6])
    r = run(series, PerfusionParams(method="csvd", aif_voxels=voxels, use_vof=False), cpu_backend())
    assert r.aif.source == "roi" and len(r.aif.voxels) == 6
    assert r.aif.curve.max() == pytest.approx(truth.aif.max(), rel=0.1)


def test_mr_dsc_conversion_matches_ct_cbv() -> None:
    """A DSC signal S0 exp(-TE k C) gives the same CBV as the CT curves."""
    series, truth = generate_perfusion(seed=2, shape=(2, 48, 48), n_times=30, noise_hu=0.0)
    te_s, k = 0.03, 0.02
    ct = series.as_array().astype(np.float64)
    conc = ct - ct[:3].mean(axis=0)
    signal = 500.0 * np.exp(-te_s * k * conc)
    mr = VolumeSeries(tuple(Volume(s.astype(np.float32), spacing=series.reference.spacing, modality="MR",
                                   meta={"EchoTime": te_s * 1000}) for s in signal), series.times)
    r_mr = run(mr, PerfusionParams(method="csvd", smoothing_mm=0, use_vof=False), cpu_backend())
    r_ct = run(series, PerfusionParams(method="csvd", smoothing_mm=0, use_vof=False), cpu_backend())
    both = r_mr.tissue & r_ct.tissue & (truth.labels == 2)
    assert both.sum() > 50
    np.testing.assert_allclose(r_mr.cbv[both], r_ct.cbv[both], rtol=0.02)
    with pytest.raises(ValueError, match="echo time"):
        run(VolumeSeries(tuple(Volume(v.array, modality="MR") for v in mr.volumes), mr.times),
            PerfusionParams(), cpu_backend())


def test_time_helpers_against_numpy() -> None:
    t = np.array([0.0, 1.1, 2.0, 3.4, 4.0])
    grid, dt = uniform_grid(t)
    assert dt == pytest.approx(0.6) and grid[-1] <= 4.0
    y = np.sin(t)
    np.testing.assert_allclose(interpolation_matrix(t, grid) @ y, np.interp(grid, t, y))
    assert trapezoid_weights(t) @ y == pytest.approx(np.trapezoid(y, t))
    curve = np.r_[np.zeros(6), np.linspace(0, 100, 5), np.linspace(100, 0, 10)]
    assert detect_arrival(curve) == 7  # first sample above 10 % of the rise
    sig = np.array([[100.0], [100.0], [50.0]])
    conc, s0 = to_concentration(sig, 2, "MR", 0.025)
    assert conc[2, 0] == pytest.approx(np.log(2) / 0.025) and s0[0] == 100.0


def test_bad_params_rejected() -> None:
    with pytest.raises(ValueError, match="method"):
        PerfusionParams(method="bayes")
    with pytest.raises(ValueError, match="precision"):
        PerfusionParams(precision="float16")
    with pytest.raises(TypeError, match="VolumeSeries"):
        run(Volume(np.zeros((2, 4, 4))), PerfusionParams(), cpu_backend())  # type: ignore[arg-type]
