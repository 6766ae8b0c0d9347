"""Training planes for the bundled cine model: synthetic cines seen as the application sees them.

Each case is a :func:`workstation.demo.cardiac_phantom.generate_cine` phantom at a random
acquisition (pixel size, slice thickness and gap, phases, matrix, noise, heart).  Its
planes are cut through the model's window with :mod:`workstation.ml.planes` and
normalised per phase with the analysis's own code, the window centred on the heart
give or take 25 mm (the pilot run of the application centres it within a few mm), so
training and inference inputs match.  Labels are resampled by nearest neighbour.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from workstation.analyses.cardiac_function.localize import labels_centre
from workstation.analyses.cardiac_function.segment import normalise_phases
from workstation.demo.cardiac_phantom import generate_cine
from workstation.ml.manifest import InputSpec, ModelEntry, Normalization
from workstation.ml.planes import plane_window, to_model_planes

SPEC = InputSpec(name="image", spacing=(1.75, 1.75), tile=(112, 112),
                 normalization=Normalization("minmax", lo=1.0, hi=99.0), orientation="LPS")
CLASSES = 4
JITTER_MM = 25.0


def entry_for_training() -> ModelEntry:
    """A manifest entry carrying :data:`SPEC` (what the preprocessing functions read)."""
    from pathlib import Path

    return ModelEntry(name="training", file=Path("unused"), version="0", sha256="0" * 64, task="segmentation-2d",
                      modality="MR", input=SPEC, labels={1: "lv blood pool", 2: "lv myocardium", 3: "rv blood pool"})


def acquisition(rng: np.random.Generator) -> dict:
    """Random acquisition parameters for :func:`generate_cine`."""
    pixel = float(rng.uniform(1.15, 2.1))
    size = int(np.clip(round(rng.uniform(300.0, 400.0) / pixel / 8) * 8, 128, 320))
    return {"n_slices": int(rng.integers(9, 15)), "n_phases": int(rng.integers(4, 9)), "rows": size,
            "cols": int(np.clip(size + 8 * int(rng.integers(-4, 5)), 128, 320)), "pixel_mm": pixel,
            "thickness_mm": float(rng.uniform(5.0, 10.0)), "gap_mm": float(rng.choice([0.0, rng.uniform(0.0, 4.0)])),
            "heart_rate_bpm": float(rng.uniform(50.0, 100.0)), "snr": float(rng.uniform(10.0, 45.0))}


def case_planes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` on the model grid: ``(N, 112, 112)`` float16 and uint8."""
    rng = np.random.default_rng(seed + 424242)
    case = generate_cine(seed, **acquisition(rng))
    n_t, n_z, rows, cols = case.images.shape
    centre = labels_centre(case.labels[case.ed_phase]) or ((rows - 1) / 2.0, (cols - 1) / 2.0)
    angle, radius = rng.uniform(0.0, 2.0 * np.pi), JITTER_MM * np.sqrt(rng.random()) / case.pixel_mm
    centre = (centre[0] + radius * np.sin(angle), centre[1] + radius * np.cos(angle))
    window = plane_window((rows, cols), (case.pixel_mm, case.pixel_mm), SPEC, centre)
    planes = to_model_planes(case.images.reshape(-1, rows, cols), window, ndi)
    normalise_phases(planes, n_z, entry_for_training())
    sy, sx = window.scale
    labels = ndi.affine_transform(case.labels.reshape(-1, rows, cols), np.array([1.0, sy, sx]),
                                  offset=(0.0, *map(float, window.start)), output_shape=planes.shape, order=0,
                                  mode="constant", cval=0)
    return planes.astype(np.float16), labels.astype(np.uint8)
