"""Segmentation pipeline on analytic phantoms with a threshold network built in the test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

pytest.importorskip("onnx")

from ml_onnx_helpers import conv_model, entry_dict, write_manifest  # noqa: E402

from workstation.analyses.segmentation.logic import dice, measure, run  # noqa: E402
from workstation.analyses.segmentation.params import SegmentationParams  # noqa: E402
from workstation.analyses.segmentation.prepare import SegmentationInput  # noqa: E402
from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.core.progress import Cancelled  # noqa: E402
from workstation.core.volume import Volume  # noqa: E402
from workstation.ml import sha256_file  # noqa: E402

TILE = (16, 16, 16)
RADIUS = 20.0
IDENTITY = np.eye(3)


@pytest.fixture()
def threshold_models(tmp_path: Path) -> Path:
    """A 'lesion' model: label 1 where HU < -400 (ct-window -1000..1000 -> x < 0.3)."""
    path = conv_model(tmp_path / "thr.onnx", TILE, classes=2, weight=np.array([0.0, -50.0]),
                      bias=np.array([0.0, 15.0]))
    write_manifest(tmp_path, [entry_dict("threshold", "thr.onnx", sha256_file(path), TILE, {1: "cavity"})])
    return tmp_path


def sphere_phantom(spacing: tuple[float, float, float], shape: tuple[int, int, int],
                   direction: np.ndarray = IDENTITY) -> tuple[Volume, np.ndarray]:
    """Water box (0 HU) with an air-like sphere (-800 HU) of RADIUS mm at its centre."""
    idx = np.indices(shape).astype(float)
    centre = (np.array(shape) - 1) / 2.0
    d2 = sum(((idx[a] - centre[a]) * spacing[a]) ** 2 for a in range(3))
    inside = d2 <= RADIUS**2
    hu = np.where(inside, -800, 0).astype(np.int16)
    return Volume(hu, spacing=spacing, direction=direction, modality="CT"), inside


def test_sphere_volume_and_mean_hu(threshold_models: Path) -> None:
    volume, inside = sphere_phantom((2.5, 1.25, 1.25), (24, 48, 40))
    params = SegmentationParams(model="threshold", models_dir=str(threshold_models), overlap=0.5)
    result = run(volume, params, cpu_backend())
    (s,) = result.structures
    assert s.name == "cavity" and s.label == 1
    expected_ml = 4.0 / 3.0 * math.pi * RADIUS**3 / 1000.0
    assert s.volume_ml == pytest.approx(expected_ml, rel=0.06)
    seg = result.labels == 1
    assert s.mean_hu == pytest.approx(-800.0 * (seg & inside).sum() / seg.sum(), rel=1e-9)
    assert s.mean_hu < -760.0  # border voxels of water are few
    assert dice(result.labels, inside.astype(np.uint8), 1) > 0.95
    assert result.labels.shape == volume.shape and result.labels.dtype == np.uint8
    js = result.to_json()
    assert js["model"] == "threshold" and js["device"] == "cpu" and js["structures"][0]["name"] == "cavity"
    assert set(js["timings_s"]) == {"preprocess", "inference", "postprocess"}
    assert js["intended_use"] == "Not for clinical use"


def test_flipped_orientation_gives_same_segmentation(threshold_models: Path) -> None:
    # an off-centre box so that a wrong flip would move it
    hu = np.zeros((20, 32, 32), dtype=np.int16)
    hu[3:9, 4:14, 20:30] = -900
    params = SegmentationParams(model="threshold", models_dir=str(threshold_models))
    lps = run(Volume(hu, spacing=(2.0, 2.0, 2.0), modality="CT"), params, cpu_backend())
    ras = Volume(hu[:, ::-1, ::-1].copy(), spacing=(2.0, 2.0, 2.0), direction=np.diag([-1.0, -1.0, 1.0]),
                 modality="CT")
    flipped = run(SegmentationInput(ras), params, cpu_backend())
    np.testing.assert_array_equal(flipped.labels, lps.labels[:, ::-1, ::-1])
    np.testing.assert_array_equal(lps.labels, (hu < -400).astype(np.uint8))


def test_measure_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, size=(10, 12, 14)).astype(np.uint8)
    values = rng.normal(size=labels.shape) * 100
    names = {1: "a", 2: "b", 3: "c", 4: "absent"}
    out = measure(labels, values, names, voxel_mm3=2.5)
    ref_mean = ndi.mean(values, labels, index=[1, 2, 3])
    for s, m in zip(out[:3], ref_mean):
        assert s.voxels == int((labels == s.label).sum())
        assert s.volume_ml == pytest.approx(s.voxels * 2.5 / 1000)
        assert s.mean_hu == pytest.approx(m)
    assert out[3].voxels == 0 and math.isnan(out[3].mean_hu)


def test_cancel_and_bad_params(threshold_models: Path) -> None:
    volume, _ = sphere_phantom((2.0, 2.0, 2.0), (20, 20, 20))
    params = SegmentationParams(model="threshold", models_dir=str(threshold_models))

    def cancel(fraction: float, message: str) -> None:
        if fraction > 0.2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run(volume, params, cpu_backend(), cancel)
    with pytest.raises(ValueError, match="overlap"):
        SegmentationParams(overlap=0.95)
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        run(volume, SegmentationParams(model="nope"), cpu_backend())
