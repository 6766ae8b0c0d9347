"""Kernels written once against ``xp``: each body runs with NumPy and with CuPy (``xp`` fixture)
and is compared with an independent NumPy reference written out here."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from workstation.analyses.mammo_cad.nms import iou_matrix
from workstation.analyses.segmentation.logic import measure
from workstation.compute.arrays import array_module, is_device_array, to_host
from workstation.compute.windowing import window_to_uint8
from workstation.ml.manifest import Normalization
from workstation.ml.normalize import normalize

pytestmark = pytest.mark.gpu


def test_array_module_and_to_host(xp: ModuleType) -> None:
    a = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    assert array_module(a) is xp
    assert array_module(np.zeros(1), a) is xp  # any device array makes the namespace CuPy
    assert is_device_array(a) == (xp is not np)
    host = to_host(a, np.float64)
    assert type(host) is np.ndarray and host.dtype == np.float64
    np.testing.assert_array_equal(host, [[0, 1, 2], [3, 4, 5]])


def test_to_host_keeps_host_arrays_uncopied() -> None:
    a = np.arange(4)
    assert to_host(a) is a and array_module(a) is np and not is_device_array(a)


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_window_is_the_dicom_linear_voi_lut(xp: ModuleType, dtype: type) -> None:
    values = np.random.default_rng(0).integers(-1100, 3000, size=(64, 65)).astype(dtype)
    width, level = 350.0, 50.0
    # PS3.3 C.11.2.1.2, written out in float64
    expected = np.clip(((values.astype(np.float64) - (level - 0.5)) / (width - 1) + 0.5) * 255, 0, 255)
    got = to_host(window_to_uint8(xp.asarray(values), width, level, xp=xp))
    assert got.dtype == np.uint8
    assert np.max(np.abs(got.astype(np.float64) - expected)) <= 0.5 + 1e-3


def test_iou_of_boxes_by_hand(xp: ModuleType) -> None:
    a = xp.asarray([[0, 0, 10, 10], [5, 5, 15, 15]], dtype=xp.float64)
    b = xp.asarray([[0, 0, 10, 10], [20, 20, 30, 30], [0, 5, 10, 15]], dtype=xp.float64)
    # second box of a against first of b: overlap 5x5 = 25, union 100 + 100 - 25
    expected = np.array([[1.0, 0.0, 50 / 150], [25 / 175, 0.0, 50 / 150]])
    np.testing.assert_allclose(to_host(iou_matrix(a, b, xp)), expected, rtol=1e-12)


def test_measure_counts_and_means(xp: ModuleType) -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, size=(6, 7, 8)).astype(np.uint8)
    values = rng.normal(0, 100, size=labels.shape).astype(np.float32)
    got = measure(xp.asarray(labels), xp.asarray(values), {1: "a", 2: "b", 3: "c", 4: "absent"}, 2.0)
    for s in got:
        inside = labels == s.label
        assert s.voxels == int(inside.sum())
        assert s.volume_ml == pytest.approx(inside.sum() * 2.0 / 1000.0)
        if s.voxels:
            assert s.mean_hu == pytest.approx(float(values[inside].astype(np.float64).mean()), rel=1e-6)
        else:
            assert np.isnan(s.mean_hu)


def test_ct_window_normalisation(xp: ModuleType) -> None:
    hu = np.array([-2000, -1000, 0, 500, 1000, 3000], dtype=np.int16)
    got = to_host(normalize(xp.asarray(hu), Normalization("ct-window", lo=-1000, hi=1000)))
    np.testing.assert_allclose(got, [0.0, 0.0, 0.5, 0.75, 1.0, 1.0], rtol=1e-6)
