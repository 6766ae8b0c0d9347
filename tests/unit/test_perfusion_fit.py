"""Whether a dynamic series is processed resident on the GPU or in slabs."""

from __future__ import annotations

from typing import Optional

import numpy as np

from workstation.analyses.perfusion.logic import DEVICE_FILL, fits_on_device
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume, VolumeSeries


class _Backend:
    """Stands in for a GPU backend with a given amount of free memory."""

    def __init__(self, free: Optional[int]) -> None:
        self.free = free

    def free_memory_bytes(self) -> Optional[int]:
        return self.free


def _series(n_t: int = 10, shape: tuple[int, int, int] = (4, 32, 32)) -> VolumeSeries:
    vols = tuple(Volume(np.zeros(shape, np.int16), spacing=(5.0, 1.0, 1.0)) for _ in range(n_t))
    return VolumeSeries(vols, tuple(float(t) for t in range(n_t)))


def test_fit_counts_series_smoothed_copy_and_maps() -> None:
    s = _series()
    n_vox = 4 * 32 * 32
    need_plain = 10 * n_vox * 2 + 64 * n_vox
    need_smoothed = need_plain + 10 * n_vox * 8
    exact = int(np.ceil(need_plain / DEVICE_FILL))
    assert fits_on_device(s, _Backend(exact), np.float64, 0.0)  # type: ignore[arg-type]
    assert not fits_on_device(s, _Backend(exact - 2), np.float64, 0.0)  # type: ignore[arg-type]
    assert not fits_on_device(s, _Backend(exact), np.float64, 2.0)  # type: ignore[arg-type]
    assert fits_on_device(s, _Backend(int(np.ceil(need_smoothed / DEVICE_FILL))), np.float64, 2.0)  # type: ignore[arg-type]


def test_no_device_memory_figure_means_slabs() -> None:
    assert not fits_on_device(_series(), _Backend(None), np.float64, 0.0)  # type: ignore[arg-type]
    assert cpu_backend().free_memory_bytes() is None  # the CPU never takes the resident path
