"""Labelled synthetic chests: the demo CT's labels fit its HU; random cases are grid-independent."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.demo.chest_ct import generate_chest_ct
from workstation.demo.chest_labels import AORTA, BODY, BONE, HEART, LUNGS, chest_ct_labels, synthetic_chest


def test_demo_labels_match_demo_values() -> None:
    volume, _ = generate_chest_ct(0, size=128, pixel_mm=2.8, noise_hu=0.0)
    labels = chest_ct_labels(volume)
    hu = volume.array
    assert labels.shape == volume.shape
    np.testing.assert_array_equal(hu[labels == LUNGS], -850)
    heart = hu[labels == HEART]
    assert np.all((heart == 40) | (heart >= 130))  # blood/myocardium, or a placed calcification
    assert np.mean(heart == 40) > 0.99
    assert set(np.unique(hu[labels == AORTA])) <= {40}
    assert hu[labels == BONE].min() >= 250
    assert np.all(hu[labels == 0] == -1000)
    inside_air = (labels == BODY) & (hu == -1000)  # the trachea is inside the body
    assert inside_air.sum() > 0 and inside_air.sum() < 0.01 * (labels == BODY).sum()


def test_synthetic_chest_is_seeded_and_grid_independent() -> None:
    a = synthetic_chest(7, shape=(40, 96, 96), spacing=(4.0, 4.0, 4.0))
    b = synthetic_chest(7, shape=(40, 96, 96), spacing=(4.0, 4.0, 4.0))
    np.testing.assert_array_equal(a.volume.array, b.volume.array)
    fine = synthetic_chest(7, shape=(80, 192, 192), spacing=(2.0, 2.0, 2.0))
    for label in (BODY, LUNGS, HEART, AORTA, BONE):
        coarse_ml = (a.labels == label).sum() * 64 / 1000
        fine_ml = (fine.labels == label).sum() * 8 / 1000
        assert coarse_ml == pytest.approx(fine_ml, rel=0.2), label
    other = synthetic_chest(8, shape=(40, 96, 96), spacing=(4.0, 4.0, 4.0))
    assert not np.array_equal(other.labels, a.labels)
    for label in (LUNGS, HEART, AORTA, BONE):
        assert (a.labels == label).sum() > 0
