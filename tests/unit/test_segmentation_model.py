"""The bundled chest organ model reaches the Dice its manifest states, on unseen cases."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.analyses.segmentation.logic import dice, run
from workstation.analyses.segmentation.params import SegmentationParams
from workstation.compute.backend import cpu_backend
from workstation.demo.chest_labels import LABELS, synthetic_chest
from workstation.ml import get_model, verify


@pytest.fixture(scope="module")
def entry():
    e = get_model("chest-organs")
    verify(e)
    return e


def test_manifest_describes_the_model(entry) -> None:
    assert entry.task == "segmentation-3d" and entry.modality == "CT"
    assert entry.intended_use == "Not for clinical use"
    assert dict(entry.labels) == LABELS
    thresholds = entry.metrics["dice_threshold"]
    assert set(thresholds) == set(LABELS.values())
    assert all(0.0 <= v <= entry.metrics["dice_min"][k] for k, v in thresholds.items())


@pytest.mark.parametrize("seed", [424242])
def test_held_out_case_reaches_manifest_dice(entry, seed: int) -> None:
    # a seed used neither in training (1-60) nor in the manifest's evaluation (50000+)
    case = synthetic_chest(seed, shape=(60, 192, 192), spacing=(3.0, 2.0, 2.0))
    result = run(case.volume, SegmentationParams(), cpu_backend())
    thresholds = entry.metrics["dice_threshold"]
    scores = {name: dice(result.labels, case.labels, k) for k, name in LABELS.items()}
    failing = {k: (round(v, 3), thresholds[k]) for k, v in scores.items() if v < thresholds[k]}
    assert not failing, f"Dice below the manifest threshold: {failing}"
    # the reported volumes are those of the label map
    for s in result.structures:
        assert s.voxels == int(np.sum(result.labels == s.label))
