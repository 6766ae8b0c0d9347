"""``estimate_memory`` on the GPU against the peak of CuPy's memory pool during a run.

A memory hook follows every allocation the pool hands out (live bytes, and their peak);
the estimate must bound that peak without exceeding it by more than a factor of three.
Calcium and perfusion only: the ONNX analyses also allocate inside ONNX Runtime.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from workstation.analyses import get
from workstation.compute.backend import Backend

pytestmark = pytest.mark.gpu


def _peak_of(fn: Any) -> int:
    import cupy

    class Peak(cupy.cuda.MemoryHook):  # type: ignore[misc]
        name = "Peak"

        def __init__(self) -> None:
            self.live, self.peak, self.sizes = 0, 0, {}

        def malloc_postprocess(self, **kw: Any) -> None:
            self.sizes[kw["mem_ptr"]] = kw["mem_size"]
            self.live += kw["mem_size"]
            self.peak = max(self.peak, self.live)

        def free_postprocess(self, **kw: Any) -> None:
            self.live -= self.sizes.pop(kw["mem_ptr"], 0)

    cupy.get_default_memory_pool().free_all_blocks()
    hook = Peak()
    with hook:
        fn()
        cupy.cuda.Device().synchronize()
    return hook.peak


@pytest.mark.parametrize("name", ["calcium", "perfusion"])
def test_gpu_estimate_bounds_the_pool_peak(gpu: Backend, name: str) -> None:
    if name == "calcium":
        from workstation.demo.chest_ct import generate_chest_ct

        inputs: Any = generate_chest_ct(0, n_slices=60)[0]
    else:
        from workstation.demo.perfusion import generate_perfusion

        inputs = generate_perfusion(0, shape=(16, 256, 256), n_times=40)[0]
    analysis = get(name)
    params = analysis.default_params()
    analysis.run(inputs, params, gpu, None)  # kernels compiled, pinned buffers made, outside the measurement
    estimate = analysis.estimate_memory(inputs, params, gpu)  # type: ignore[misc]
    peak = _peak_of(lambda: analysis.run(inputs, params, gpu, None))
    assert peak > 0 and np.isfinite(estimate)
    assert 0.9 * peak <= estimate <= 3.0 * peak, (name, estimate / 2**20, peak / 2**20)
