"""Dynamic series: several planes per position split into time points."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import dicom_cases as cases
from workstation.core.volume import VolumeSeries
from workstation.io.dicom import load_series, load_time_series, scan
from workstation.io.dicom_write import write_time_series

TIMES = (0.0, 2.0, 5.0, 9.5, 20.0)


def _dynamic(tmp_path: Path, start: float) -> VolumeSeries:
    base = cases.volume(shape=(4, 16, 16))
    volumes = tuple(base.with_array((base.array + 100 * k).astype(np.int16)) for k in range(len(TIMES)))
    truth = VolumeSeries(volumes=volumes, times=TIMES)
    paths = write_time_series(truth, tmp_path / "w", start_time_s=start)
    cases.scramble(paths, tmp_path / "s", seed=5)
    shutil.rmtree(tmp_path / "w")
    return truth


@pytest.mark.parametrize("start", [36000.0, 86400.0 - 3.0])  # the second crosses midnight
def test_time_series_split_and_times(tmp_path: Path, start: float) -> None:
    truth = _dynamic(tmp_path, start)
    (series,) = scan(tmp_path).series
    assert series.n_frames == 20 and series.issues == []
    loaded = load_time_series(series)
    assert loaded.times == pytest.approx(TIMES, abs=1e-3)
    np.testing.assert_array_equal(loaded.as_array(), truth.as_array())
    np.testing.assert_allclose(loaded.reference.origin, truth.reference.origin)


def test_time_series_lands_in_the_callers_block(tmp_path: Path) -> None:
    """``allocate`` makes the one block all time points share (pinned memory on a GPU)."""
    truth = _dynamic(tmp_path, 36000.0)
    (series,) = scan(tmp_path).series
    blocks: list[np.ndarray] = []

    def allocate(shape: tuple[int, ...], dtype: object) -> np.ndarray:
        blocks.append(np.full(shape, -7, dtype=dtype))  # not zeros: every value must be written
        return blocks[-1]

    loaded = load_time_series(series, allocate=allocate)
    np.testing.assert_array_equal(loaded.as_array(), truth.as_array())
    assert len(blocks) == 1 and blocks[0].shape == (len(TIMES) * 4, 16, 16)  # (planes, rows, columns)
    assert all(np.shares_memory(v.array, blocks[0]) for v in loaded.volumes)


def test_load_series_on_dynamic_loads_first_time_point(tmp_path: Path) -> None:
    truth = _dynamic(tmp_path, 36000.0)
    (series,) = scan(tmp_path).series
    volume = load_series(series)
    np.testing.assert_array_equal(volume.array, truth.volumes[0].array)
    assert volume.meta["issues"] == ["dynamic series: 5 time points; the first is loaded"]


def test_static_series_is_a_single_time_point(tmp_path: Path) -> None:
    vol = cases.volume(shape=(3, 8, 8))
    cases.write(vol, tmp_path)
    loaded = load_time_series(scan(tmp_path).series[0])
    assert loaded.times == (0.0,)
    np.testing.assert_array_equal(loaded.reference.array, vol.array)


def test_enhanced_dynamic_frames_split_by_temporal_index(tmp_path: Path) -> None:
    base = cases.volume(shape=(3, 16, 16))
    arrays = [(base.array + 50 * k).astype(np.int16) for k in range(4)]
    times = (0.0, 1.5, 4.0, 10.0)
    cases.enhanced_ct(base, tmp_path / "dyn", times=times, arrays=arrays)
    (series,) = scan(tmp_path).series
    loaded = load_time_series(series)
    assert loaded.times == pytest.approx(times, abs=1e-4)
    np.testing.assert_array_equal(loaded.as_array(), np.stack(arrays))
