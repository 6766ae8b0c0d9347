"""Each analysis's ``estimate_memory`` against the peak a CPU run really allocates.

tracemalloc sees every NumPy and SciPy allocation; an estimate is a bound a job queue
can place work by, so it must not fall below the peak, nor exceed it by more than a
factor of two at a realistic size.  ONNX Runtime's own arena is invisible to
tracemalloc, so the model-session term of mammography CAD is left out of the comparison.
"""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable

import pytest

from workstation.analyses import get
from workstation.compute.backend import cpu_backend


def _calcium() -> Any:
    from workstation.demo.chest_ct import generate_chest_ct

    return generate_chest_ct(0, n_slices=30)[0]


def _perfusion() -> Any:
    from workstation.demo.perfusion import generate_perfusion

    return generate_perfusion(0, shape=(8, 128, 128), n_times=40)[0]


def _mammo() -> Any:
    from workstation.analyses.mammo_cad.loader import exam_from_arrays
    from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, VIEWS, generate_mammo, patient_orientation

    case = generate_mammo(DEMO_SEED, findings=DEMO_FINDINGS)
    return exam_from_arrays({k: case.images[k] for k in VIEWS}, case.pixel_spacing_mm,
                            {k: patient_orientation(k, "standard") for k in VIEWS})


def _segmentation() -> Any:
    from workstation.analyses.segmentation.prepare import SegmentationInput
    from workstation.demo.chest_ct import generate_chest_ct

    return SegmentationInput(generate_chest_ct(0, n_slices=48, size=192, pixel_mm=1.8)[0])


def _cardiac() -> Any:
    from workstation.analyses.cardiac_function.prepare import cine_input
    from workstation.demo.cardiac_phantom import generate_cine

    return cine_input(generate_cine(3, n_slices=12, n_phases=20, rows=192, cols=192, pixel_mm=1.6).series())


def _rt_dose() -> Any:
    import tempfile
    from pathlib import Path

    from workstation.analyses.rt_dose.demo_plan import write_demo_plan
    from workstation.io.dicom import scan

    with tempfile.TemporaryDirectory() as folder:  # prepare reads contours and dose into memory
        write_demo_plan(folder, size=128, pixel_mm=2.8, n_slices=30, dose_mm=3.0, beamlet_mm=8.0, iterations=5)
        (study,) = [s for s in scan(Path(folder)).studies if s.series]
        return get("rt-dose").prepare(study, None)


def _coronary() -> Any:
    from workstation.demo.coronary_cta import generate_coronary_cta

    return generate_coronary_cta(0, size=150, pixel_mm=1.0, n_slices=100, slice_mm=1.0)[0]


def _untraced(name: str) -> int:
    if name != "mammo-cad":
        return 0
    from workstation.ml.registry import get_model

    return 4 * get_model("mammo-cad-detector").file.stat().st_size


@pytest.mark.parametrize("name,make", [("calcium", _calcium), ("perfusion", _perfusion),
                                       ("mammo-cad", _mammo), ("segmentation", _segmentation),
                                       ("rt-dose", _rt_dose), ("coronary-cta", _coronary),
                                       ("cardiac-function", _cardiac)])
def test_estimate_bounds_the_measured_peak(name: str, make: Callable[[], Any]) -> None:
    pytest.importorskip("onnxruntime")
    analysis = get(name)
    inputs, params, cpu = make(), analysis.default_params(), cpu_backend()
    analysis.run(inputs, params, cpu, None)  # model sessions and caches made outside the measurement
    estimate = analysis.estimate_memory(inputs, params, cpu) - _untraced(name)  # type: ignore[misc]
    tracemalloc.start()
    try:
        analysis.run(inputs, params, cpu, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.95 * peak <= estimate <= 2.0 * peak, (name, estimate / 2**20, peak / 2**20)
