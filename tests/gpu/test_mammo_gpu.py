"""Mammography CAD on CuPy + ONNX Runtime CUDA gives the CPU's answer (no Qt, no DICOM)."""

from __future__ import annotations

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

from workstation.analyses.mammo_cad.detect import decode  # noqa: E402
from workstation.analyses.mammo_cad.loader import exam_from_arrays  # noqa: E402
from workstation.analyses.mammo_cad.preprocess import preprocess_view  # noqa: E402
from workstation.compute.backend import Backend, cpu_backend  # noqa: E402
from workstation.demo.mammo import VIEWS, generate_mammo, patient_orientation  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def case() -> object:
    return generate_mammo(7, findings={"R": (1, 1), "L": (1, 0)})


@pytest.mark.parametrize("view", VIEWS)
def test_preprocess_parity(gpu: Backend, case: object, view: str) -> None:
    image = case.images[view]  # type: ignore[attr-defined]
    flip = view.startswith("R")
    xc, mc, gc = preprocess_view(image, flip=flip, spacing_mm=(0.1, 0.1), backend=cpu_backend())
    xg, mg, gg = preprocess_view(image, flip=flip, spacing_mm=(0.1, 0.1), backend=gpu)
    assert gc == gg
    agree = (gpu.asnumpy(mg) == mc).mean()
    assert agree > 0.999
    both = gpu.asnumpy(mg) & mc
    np.testing.assert_allclose(gpu.asnumpy(xg)[both], xc[both], atol=2e-3)


def test_decode_parity(gpu: Backend) -> None:
    rng = np.random.default_rng(0)
    hm = rng.random((4, 2, 64, 52)).astype(np.float32) ** 8
    size = rng.normal(1.5, 0.5, hm.shape).astype(np.float32)
    off = rng.random(hm.shape).astype(np.float32)
    cpu = decode(hm, size, off, cpu_backend(), score_threshold=0.2)
    dev = decode(*(gpu.asarray(a) for a in (hm, size, off)), gpu, score_threshold=0.2)
    for a, b in zip(cpu, dev):
        np.testing.assert_array_equal(np.sort(a.scores), np.sort(b.scores))
        np.testing.assert_allclose(a.boxes[np.argsort(a.scores)], b.boxes[np.argsort(b.scores)], rtol=1e-5, atol=1e-4)


def test_four_view_cad_parity(gpu: Backend, case: object) -> None:
    pytest.importorskip("onnxruntime")
    from workstation.analyses.mammo_cad.logic import run
    from workstation.analyses.mammo_cad.params import MammoCadParams

    exam = exam_from_arrays(case.images, 0.1, {v: patient_orientation(v) for v in VIEWS})  # type: ignore[attr-defined]
    r_cpu = run(exam, MammoCadParams(), cpu_backend())
    r_gpu = run(exam, MammoCadParams(), gpu)
    # TF32 convolutions on the GPU move scores by ~1e-2; compare the confident marks
    strong_c = [f for f in r_cpu.findings if f.score > r_cpu.score_threshold + 0.05]
    for f in strong_c:
        match = [g for g in r_gpu.findings if g.view == f.view and g.kind == f.kind
                 and np.abs(np.subtract(g.box_px, f.box_px)).max() < 8]
        assert match and abs(match[0].score - f.score) < 0.03
    assert r_gpu.suggestion.category == r_cpu.suggestion.category
