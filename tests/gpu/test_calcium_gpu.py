"""Calcium scoring on CuPy gives exactly the NumPy result (needs CUDA; no Qt, no pydicom)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

cp = pytest.importorskip("cupy")

pytestmark = pytest.mark.gpu

from workstation.analyses.calcium.logic import run  # noqa: E402
from workstation.analyses.calcium.params import CalciumParams  # noqa: E402
from workstation.compute.backend import cpu_backend  # noqa: E402
from workstation.core.volume import Volume  # noqa: E402


def _volume(a: np.ndarray, pixel: float = 0.7, dz: float = 3.0) -> Volume:
    return Volume(a, spacing=(dz, pixel, pixel), origin=(-100.0, -100.0, -50.0), modality="CT",
                  meta={"slice_thickness": dz, "rescale_applied": True})


def _random_specks(seed: int, shape: tuple[int, int, int] = (16, 96, 96), dtype: Any = np.int16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.full(shape, 40, dtype=dtype)
    for _ in range(600):
        z, y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(0, shape[2])
        a[z, y : y + rng.integers(1, 4), x : x + rng.integers(1, 5)] = rng.integers(100, 900)
    return a


def _boundaries() -> np.ndarray:
    a = np.full((4, 64, 64), 40, dtype=np.int16)
    for i, hu in enumerate((129, 130, 199, 200, 299, 300, 399, 400)):
        a[1 + i % 2, 4 + 7 * i : 8 + 7 * i, 10:14] = hu
    a[3, 0, 63] = a[3, 1, 0] = 500  # edges: must not wrap
    a[0, 63, 60:64] = 250
    return a


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what differs between any two runs: the device and time in its provenance."""
    provenance = dict(record.pop("provenance"))
    assert provenance.pop("created_utc") and provenance.pop("device")
    record["provenance"] = provenance
    return record


def _assert_same(a: np.ndarray, gpu: Any, params: CalciumParams, **geom: float) -> None:
    vol = _volume(a, **geom)
    ref = run(vol, params, cpu_backend())
    got = run(vol, params, gpu)
    j_ref, j_got = _comparable(ref.to_json()), _comparable(got.to_json())
    assert j_got.pop("device").startswith("cuda") and j_ref.pop("device") == "cpu"
    assert j_got == j_ref  # exact: every score, lesion, centroid and artery
    assert np.array_equal(ref.voxel_index, got.voxel_index)
    assert np.array_equal(ref.voxel_lesion, got.voxel_lesion)


FIXED = CalciumParams(aortic_root_mm=(0.0, 0.0, 0.0), auto_exclude=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_specks_identical(gpu: Any, seed: int) -> None:
    _assert_same(_random_specks(seed), gpu, FIXED)


def test_boundary_weights_and_edges_identical(gpu: Any) -> None:
    _assert_same(_boundaries(), gpu, FIXED, pixel=1.0)


def test_float_and_thin_slices_identical(gpu: Any) -> None:
    a = _random_specks(5, dtype=np.float32) + np.float32(0.5)
    _assert_same(a, gpu, CalciumParams(aortic_root_mm=(0.0, 0.0, 0.0), auto_exclude=False,
                                       volume_method="interpolated"), dz=1.5)


def test_empty_and_single_slice_identical(gpu: Any) -> None:
    _assert_same(np.full((3, 32, 32), 40, np.int16), gpu, FIXED)
    one = np.full((1, 32, 32), 40, np.int16)
    one[0, 3:6, 3:6] = 450
    _assert_same(one, gpu, FIXED)


def test_demo_chest_ct_identical_and_exact(gpu: Any) -> None:
    from workstation.demo.chest_ct import generate_chest_ct

    volume, truth = generate_chest_ct()
    ref = run(volume, CalciumParams(), cpu_backend())
    got = run(volume, CalciumParams(), gpu)
    assert got.agatston_total == ref.agatston_total == pytest.approx(truth.agatston_total)
    j_ref, j_got = _comparable(ref.to_json()), _comparable(got.to_json())
    j_ref.pop("device"), j_got.pop("device")
    assert j_got == j_ref


def test_resident_device_volume(gpu: Any) -> None:
    a = _random_specks(9)
    host = run(_volume(a), FIXED, cpu_backend())
    resident = run(_volume(cp.asarray(a)), FIXED, gpu)
    assert resident.agatston_total == host.agatston_total
