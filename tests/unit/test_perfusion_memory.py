"""Working memory of the CPU passes stays within the chunk budget, whatever the series size.

The extra memory of a run is one slab of whole slices (float64) with, in pass 1, its
enhancement curves and, in pass 2, the chunk budget (split between the worker
threads), plus the float32 maps; tracemalloc sees every NumPy allocation.  At the
default budget (192 MB) a 512 x 512 slice of 40 frames gives 84 MB + 192 MB beside
the maps, under the 500 MB promised.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from workstation.analyses.perfusion import passes
from workstation.analyses.perfusion.logic import run
from workstation.analyses.perfusion.params import PerfusionParams
from workstation.compute.backend import cpu_backend
from workstation.core.volume import Volume, VolumeSeries
from workstation.demo.perfusion import generate_perfusion


def _int16_series(n_t: int = 40) -> VolumeSeries:
    base = generate_perfusion(seed=4, shape=(2, 128, 128), n_times=n_t)[0]
    vols = tuple(Volume(np.rint(v.array).astype(np.int16), spacing=v.spacing,
                        origin=v.origin, modality="CT") for v in base.volumes)
    return VolumeSeries(vols, base.times, meta={"Modality": "CT"})


@pytest.mark.parametrize("method", ["csvd", "osvd"])
def test_cpu_run_stays_within_slab_plus_budget(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    series = _int16_series()
    budget = 24 * 2**20
    monkeypatch.setattr(passes, "CPU_BUDGET_BYTES", budget)
    n_t = len(series.volumes)
    slice_vox = 128 * 128
    slab = n_t * slice_vox * 8  # one slice per slab at this budget
    assert passes.chunk_voxels(cpu_backend(), n_t, 80, 8) < slice_vox
    maps = 12 * 2 * slice_vox * 4  # float32 maps, masks and the threshold map of the result
    tracemalloc.start()
    try:
        result = run(series, PerfusionParams(method=method), cpu_backend())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(result.maps["cbf"]).any()
    bound = max(2 * slab, slab + budget) + maps  # pass 1: slab + enhancement; pass 2: slab + chunks
    assert peak <= 1.15 * bound, (peak / 2**20, bound / 2**20)
