"""A synthetic CT brain perfusion study with known CBF, CBV, MTT and delay.

The phantom (axial slices, image left = patient right):

* skull (1000 HU) around an elliptical brain; air outside; two CSF ventricles (5 HU);
* cortex ribbon (grey matter: CBF 60 ml/100 g/min, MTT 4 s, delay 0.5 s) around white
  matter (CBF 25, MTT 5.2 s, delay 1 s);
* in the image-left hemisphere an ischaemic core (CBF 4, MTT 12 s, delay 11 s, so
  Tmax > 10 s) inside a penumbra (CBF 25, MTT 8 s, delay 8 s);
* an artery (gamma-variate AIF, 350 HU peak) anterior to the ventricles and the
  sagittal sinus (the AIF dispersed by a 3 s exponential and delayed 5 s: same area,
  so it serves as VOF) at the back of the brain.

Tissue curves are ``C(t) = CBF * rho / (6000 k_H) * (AIF(. - delay) * exp(-t / MTT))``
with ``rho = 1.04`` g/ml and ``k_H = 0.55 / 0.75``, computed on a 0.05 s grid and
sampled at slightly uneven acquisition times (1.5 s +- 0.15 s).  Gaussian noise
(default 3 HU) is added to every voxel of every frame.  There is no recirculation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume, VolumeSeries
from workstation.demo.cache import ensure_written

RHO = 1.04
K_H = 0.55 / 0.75
LABELS = {0: "air", 1: "skull", 2: "grey matter", 3: "white matter", 4: "core", 5: "penumbra",
          6: "artery", 7: "vein", 8: "csf"}
#: label -> (CBF ml/100 g/min, MTT s, delay s, baseline HU)
TISSUE = {2: (60.0, 4.0, 0.5, 40.0), 3: (25.0, 5.2, 1.0, 30.0), 4: (4.0, 12.0, 11.0, 35.0),
          5: (25.0, 8.0, 8.0, 36.0)}
BASELINE_HU = {0: -1000.0, 1: 1000.0, 6: 40.0, 7: 40.0, 8: 5.0}


@dataclass(frozen=True, eq=False)
class PerfusionTruth:
    """Ground truth of the phantom; maps are NaN outside perfused tissue (labels 2-5)."""

    labels: NDArray[np.uint8]
    cbf: NDArray[np.float64]
    cbv: NDArray[np.float64]
    mtt: NDArray[np.float64]
    delay: NDArray[np.float64]
    times: tuple[float, ...]
    aif: NDArray[np.float64]
    vof: NDArray[np.float64]
    voxel_ml: float

    def volume_ml(self, *labels: int) -> float:
        """Volume (ml) of the given labels."""
        return float(np.isin(self.labels, labels).sum()) * self.voxel_ml


def gamma_variate(t: Any, t0: float = 6.0, alpha: float = 3.0, beta: float = 1.5, peak: float = 350.0) -> NDArray[np.float64]:
    """Gamma-variate bolus ``peak * (x / (alpha beta))^alpha * exp(alpha - x / beta)``, ``x = t - t0``."""
    x = np.clip(np.asarray(t, dtype=np.float64) - t0, 0.0, None)
    return peak * (x / (alpha * beta)) ** alpha * np.exp(alpha - x / beta)


def tissue_curve(times: Any, cbf: float, mtt: float, delay: float, fine_dt: float = 0.05, **aif: float) -> NDArray[np.float64]:
    """Tissue enhancement (HU) for an exponential residue, by fine-grid convolution."""
    t = np.asarray(times, dtype=np.float64)
    fine = np.arange(0.0, t[-1] + fine_dt, fine_dt)
    flow = cbf * RHO / (6000.0 * K_H)
    conv = np.convolve(gamma_variate(fine, **aif), np.exp(-fine / mtt))[: fine.size] * fine_dt
    return flow * np.interp(t - delay, fine, conv, left=0.0)


def _labels(shape: tuple[int, int, int]) -> NDArray[np.uint8]:
    nz, ny, nx = shape
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    cy, cx, ay, ax = (ny - 1) / 2, (nx - 1) / 2, 0.44 * ny, 0.37 * nx
    r = np.sqrt(((y - cy) / ay) ** 2 + ((x - cx) / ax) ** 2)
    plane = np.zeros((ny, nx), dtype=np.uint8)
    plane[r <= 1.0] = 1
    plane[r <= 0.9] = 2
    plane[r <= 0.75] = 3
    ellipse = lambda yc, xc, ry, rx: ((y - yc) / ry) ** 2 + ((x - xc) / rx) ** 2 <= 1.0  # noqa: E731
    brain = r <= 0.9
    plane[ellipse(cy - 0.12 * ny, cx - 0.22 * nx, 0.2 * ny, 0.16 * nx) & brain] = 5
    plane[ellipse(cy - 0.12 * ny, cx - 0.22 * nx, 0.09 * ny, 0.07 * nx) & brain] = 4
    for side in (-1, 1):
        plane[ellipse(cy + 0.05 * ny, cx + side * 0.06 * nx, 0.1 * ny, 0.025 * nx)] = 8
    plane[np.hypot(y - (cy - 0.3 * ny), x - cx) <= max(1.5, 0.02 * nx)] = 6
    plane[np.hypot(y - (cy + 0.82 * ay), x - cx) <= max(2.0, 0.025 * nx)] = 7
    return np.repeat(plane[None], nz, axis=0)


def acquisition_times(n_times: int, step_s: float, jitter_s: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Times (s) from 0 with steps ``step_s`` +- uniform ``jitter_s``."""
    steps = step_s + rng.uniform(-jitter_s, jitter_s, n_times - 1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def generate_perfusion(
    seed: int = 0, shape: tuple[int, int, int] = (8, 128, 128), n_times: int = 40, *,
    step_s: float = 1.5, jitter_s: float = 0.15, noise_hu: float = 3.0,
    spacing: tuple[float, float, float] = (5.0, 1.7, 1.7),
) -> tuple[VolumeSeries, PerfusionTruth]:
    """The phantom as a :class:`VolumeSeries` (HU, float32) and its truth."""
    rng = np.random.default_rng(seed)
    times = acquisition_times(n_times, step_s, jitter_s, rng)
    labels = _labels(shape)
    fine_dt = 0.05
    fine = np.arange(0.0, times[-1] + fine_dt, fine_dt)
    aif = gamma_variate(times)
    disp = np.convolve(gamma_variate(fine), np.exp(-fine / 3.0) / 3.0)[: fine.size] * fine_dt
    vof = np.interp(times - 5.0, fine, disp, left=0.0)
    curves = {6: aif, 7: vof}
    truth = {k: np.full(shape, np.nan) for k in ("cbf", "cbv", "mtt", "delay")}
    for label, (cbf, mtt, delay, _hu) in TISSUE.items():
        curves[label] = tissue_curve(times, cbf, mtt, delay)
        inside = labels == label
        truth["cbf"][inside], truth["mtt"][inside], truth["delay"][inside] = cbf, mtt, delay
        truth["cbv"][inside] = cbf * mtt / 60.0
    base = np.zeros(shape, dtype=np.float32)
    for label, hu in {**BASELINE_HU, **{k: v[3] for k, v in TISSUE.items()}}.items():
        base[labels == label] = hu
    dz, dy, dx = spacing
    origin = (-(shape[2] - 1) * dx / 2, -(shape[1] - 1) * dy / 2, -(shape[0] - 1) * dz / 2)
    volumes = []
    for k in range(n_times):
        frame = base.copy()
        for label, curve in curves.items():
            frame[labels == label] += np.float32(curve[k])
        frame += rng.normal(0.0, noise_hu, shape).astype(np.float32)
        volumes.append(Volume(frame, spacing=spacing, origin=origin, modality="CT"))
    series = VolumeSeries(tuple(volumes), tuple(float(t) for t in times), meta={"Modality": "CT"})
    return series, PerfusionTruth(labels=labels, times=series.times, aif=aif, vof=vof,
                                  voxel_ml=dz * dy * dx / 1000.0, **truth)


def write_perfusion(folder: str | Path, seed: int = 0, **kwargs: Any) -> PerfusionTruth:
    """Write the phantom as a CT dynamic series (one file per slice per time point)."""
    from workstation.io.dicom_write import patient_tags, write_time_series

    series, truth = generate_perfusion(seed, **kwargs)
    tags = patient_tags("Demo^Perfusion", "DEMO-PERF", sex="O", age_years=70, study_date="20260101",
                        study_description="CT brain perfusion (synthetic)", accession="DEMOPERF1")
    tags.update({"KVP": 80, "Manufacturer": "Workstation demo", "BodyPartExamined": "HEAD", "PatientPosition": "HFS",
                 "StudyTime": "100000", "StudyID": "1"})
    write_time_series(series, folder, tags=tags, modality="CT", series_description="CT perfusion 5 mm",
                      slope=1.0, intercept=-1024.0)
    return truth


def ensure_demo_perfusion(folder: Optional[str | Path] = None) -> Path:
    """Write the demo perfusion study once (seed 0) and return its folder (see :mod:`.cache`)."""
    return ensure_written("perfusion", lambda target: write_perfusion(target, seed=0), folder)
