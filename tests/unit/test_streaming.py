"""Partial results: chunks published while a run works give exactly its final result.

Each analysis that publishes is run twice, with a listener and without one: the
final results must be identical, and the published chunks, put together, must equal
the final arrays voxel for voxel (they hold final values, not previews).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from workstation.compute.backend import cpu_backend
from workstation.core.progress import Partial, ProgressSink, publish, scaled, wants_partials
from workstation.core.volume import Volume, VolumeSeries


def _collect() -> tuple[ProgressSink, list[Partial]]:
    parts: list[Partial] = []
    lock = threading.Lock()

    def keep(p: Partial) -> None:
        with lock:
            parts.append(p)

    return ProgressSink(None, keep), parts


def _assemble(parts: list[Partial], name: str, shape: tuple[int, ...], fill: float, dtype: type) -> np.ndarray:
    out = np.full(shape, fill, dtype)
    seen = np.zeros(shape, bool)
    for p in parts:
        assert not seen[p.slices()].any(), "a region was published twice"
        out[p.slices()] = p.values[name]
        seen[p.slices()] = True
    assert seen.all(), "some voxels were never published"
    return out


def test_partials_pass_through_scaled_progress_and_cost_nothing_without_a_listener() -> None:
    sink, parts = _collect()
    fractions: list[float] = []
    outer = ProgressSink(lambda f, m: fractions.append(f), sink.partial)
    inner = scaled(outer, 0.5, 1.0)
    assert wants_partials(inner) and not wants_partials(scaled(lambda f, m: None, 0, 1))
    inner(0.5, "")
    publish(inner, Partial("slab", ((0, 1),), {"x": 1}))
    publish(lambda f, m: None, Partial("ignored"))  # a plain callback: nothing happens
    publish(None, Partial("ignored"))
    assert fractions == [0.75] and [p.kind for p in parts] == ["slab"]


@pytest.mark.parametrize("modality", ["CT", "MR"])
def test_perfusion_slabs_assemble_to_the_final_maps(monkeypatch: pytest.MonkeyPatch, modality: str) -> None:
    from workstation.analyses.perfusion import passes
    from workstation.analyses.perfusion.logic import run
    from workstation.analyses.perfusion.params import PerfusionParams
    from workstation.analyses.perfusion.result import MAP_NAMES
    from workstation.demo.perfusion import generate_perfusion

    series, _ = generate_perfusion(seed=3, shape=(5, 48, 48), n_times=30)
    if modality == "MR":
        conc = series.as_array().astype(np.float64)
        conc -= conc[:3].mean(axis=0)
        signal = 500.0 * np.exp(-0.03 * 0.02 * conc)
        series = VolumeSeries(tuple(Volume(s.astype(np.float32), spacing=series.reference.spacing, modality="MR",
                                           meta={"EchoTime": 30.0}) for s in signal), series.times)
    monkeypatch.setattr(passes, "CPU_BUDGET_BYTES", 2**19)  # a few slices per slab
    params = PerfusionParams(method="csvd", use_vof=False)
    sink, parts = _collect()
    streamed = run(series, params, cpu_backend(), sink)
    plain = run(series, params, cpu_backend(), None)
    assert len(parts) >= 3 and all(p.kind == "slab" for p in parts)
    shape = series.reference.shape
    for name in MAP_NAMES:
        np.testing.assert_array_equal(streamed.maps[name], plain.maps[name])
        np.testing.assert_array_equal(_assemble(parts, name, shape, np.nan, np.float32), streamed.maps[name])
    np.testing.assert_array_equal(_assemble(parts, "tissue", shape, False, bool), streamed.tissue)
    assert streamed.tissue.sum() > 100 and streamed.summary == plain.summary


def test_segmentation_label_slabs_assemble_to_the_final_labels() -> None:
    from workstation.analyses import get
    from workstation.demo.chest_ct import generate_chest_ct

    volume, _ = generate_chest_ct(0, n_slices=48, size=96, pixel_mm=3.7)
    analysis = get("segmentation")
    params = analysis.default_params()
    sink, parts = _collect()
    streamed = analysis.run(volume, params, cpu_backend(), sink)
    plain = analysis.run(volume, params, cpu_backend(), None)
    np.testing.assert_array_equal(streamed.labels, plain.labels)
    assert len(parts) >= 2 and all(p.kind == "labels" for p in parts)
    np.testing.assert_array_equal(_assemble(parts, "labels", volume.shape, 255, np.uint8), streamed.labels)
    assert len(np.unique(streamed.labels)) >= 3


def test_segmentation_of_a_reoriented_volume_publishes_study_regions() -> None:
    """A volume stored feet-first (z flipped) still gets its slabs in study coordinates."""
    from workstation.analyses import get
    from workstation.demo.chest_ct import generate_chest_ct

    volume, _ = generate_chest_ct(0, n_slices=48, size=96, pixel_mm=3.7)
    flipped = Volume(np.ascontiguousarray(volume.array[::-1]), spacing=volume.spacing, origin=volume.origin,
                     direction=np.diag([1.0, 1.0, -1.0]), modality="CT", meta=volume.meta)
    analysis = get("segmentation")
    params = analysis.default_params()
    from workstation.ml.registry import get_model
    from workstation.ml.resample import reorientation

    assert reorientation(flipped.direction, get_model(params.model, None).input.orientation).flip[0]
    sink, parts = _collect()
    result = analysis.run(flipped, params, cpu_backend(), sink)
    np.testing.assert_array_equal(_assemble(parts, "labels", flipped.shape, 255, np.uint8), result.labels)
