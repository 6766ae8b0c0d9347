"""Box mapping px <-> network input <-> mm, preprocessing and heatmap decoding."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.analyses.mammo_cad.birads import suggest
from workstation.analyses.mammo_cad.detect import STRIDE, decode
from workstation.analyses.mammo_cad.preprocess import (
    INPUT_SHAPE, ViewGeometry, breast_mask, fit_scale, otsu_threshold, preprocess_view,
)
from workstation.compute.backend import cpu_backend


def test_hand_mapping_with_flip() -> None:
    g = ViewGeometry((1024, 832), fit_scale((1024, 832)), True, (0.1, 0.1))
    assert g.scale == (0.25, 0.25) and g.resized_shape == INPUT_SHAPE
    # columns 100..200 of the stored image sit at 832-200..832-100 after the mirror
    assert g.original_to_input([[100, 40, 200, 80]])[0] == pytest.approx([158, 10, 183, 20])
    assert g.pixels_to_mm([[100, 40, 200, 80]])[0] == pytest.approx([10, 4, 20, 8])


@pytest.mark.parametrize("shape,flip", [((1024, 832), False), ((3328, 2560), True), ((2294, 1914), False)])
def test_round_trips(shape: tuple[int, int], flip: bool) -> None:
    rng = np.random.default_rng(0)
    g = ViewGeometry(shape, fit_scale(shape), flip, (0.07, 0.065))
    xy = rng.uniform(0, 500, (20, 2))
    boxes = np.hstack([xy, xy + rng.uniform(5, 80, (20, 2))])
    assert g.input_to_original(g.original_to_input(boxes)) == pytest.approx(boxes)
    assert g.mm_to_pixels(g.pixels_to_mm(boxes)) == pytest.approx(boxes)
    rows, cols = g.resized_shape
    assert rows <= INPUT_SHAPE[0] and cols <= INPUT_SHAPE[1]
    assert abs(rows / cols - shape[0] / shape[1]) < 0.02  # aspect kept


def test_preprocess_disc_phantom() -> None:
    """A bright half-disc on the right: flipped to the left, masked, normalised."""
    yy, xx = np.mgrid[0:1024, 0:832]
    img = np.where((yy - 512) ** 2 + (xx - 832) ** 2 < 400**2, 2000.0, 30.0).astype(np.float32)
    x, mask, geom = preprocess_view(img, flip=True, spacing_mm=(0.1, 0.1), backend=cpu_backend())
    assert x.shape == INPUT_SHAPE and geom.flipped
    area = np.pi * 100**2 / 2  # half disc of radius 100 input pixels
    assert mask.sum() == pytest.approx(area, rel=0.03)
    assert mask[128, 5] and not mask[128, 150] and not mask[5, 5]
    assert x[mask].mean() == pytest.approx(1.0, abs=0.01) and x[~mask].max() == 0


def test_otsu_and_largest_component() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(10, 1, 5000), rng.normal(50, 1, 5000)])
    t = otsu_threshold(values, cpu_backend())  # any threshold in the gap separates the classes
    assert values[:5000].max() < t < values[5000:].min()
    img = np.zeros((50, 50), np.float32)
    img[5:30, 5:30] = 10
    img[40:45, 40:45] = 10
    m = breast_mask(img, cpu_backend())
    assert m.sum() == 25 * 25 and not m[42, 42]


def test_decode_known_peak() -> None:
    h, w = INPUT_SHAPE[0] // STRIDE, INPUT_SHAPE[1] // STRIDE
    hm = np.zeros((1, 2, h, w), np.float32)
    size = np.zeros_like(hm)
    off = np.zeros_like(hm)
    hm[0, 1, 20, 30] = 0.9
    hm[0, 1, 20, 31] = 0.5  # not a local maximum
    size[0, :, 20, 30] = (np.log(5), np.log(2.5))
    off[0, :, 20, 30] = (0.25, 0.5)
    (c,) = decode(hm, size, off, cpu_backend(), score_threshold=0.1)
    assert list(c.classes) == [1] and c.scores[0] == pytest.approx(0.9)
    cx, cy = (30.25) * STRIDE, (20.5) * STRIDE
    assert c.boxes[0] == pytest.approx([cx - 10, cy - 5, cx + 10, cy + 5])
    masked = decode(hm, size, off, cpu_backend(), score_threshold=0.1, mask=np.zeros((1, *INPUT_SHAPE), bool))
    assert masked[0].scores.size == 0


class _F:
    def __init__(self, lat: str, pos: str, kind: str, score: float) -> None:
        self.laterality, self.position, self.kind, self.score = lat, pos, kind, score


def test_birads_mapping() -> None:
    assert suggest([]).category == 1
    s0 = suggest([_F("L", "CC", "mass", 0.9)])
    assert s0.category == 0 and s0.per_breast == {"R": 1, "L": 0} and "left breast" in s0.text
    s4 = suggest([_F("R", "CC", "mass", 0.8), _F("R", "MLO", "mass", 0.7), _F("L", "CC", "calcification", 0.4)])
    assert s4.category == 4 and s4.per_breast == {"R": 4, "L": 0}
    assert s4.text.startswith("Suggested for radiologist review: BI-RADS 4")
    assert suggest([_F("R", "CC", "mass", 0.8), _F("R", "MLO", "calcification", 0.9)]).category == 0
