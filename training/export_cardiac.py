"""Export the trained cine net to ONNX, register it, and measure it through the application.

Reads ``training/out/cardiac_unet.pt`` (from ``train_cardiac.py``), writes
``models/cardiac_cine.onnx`` (opset 17, fixed 112 x 112 tile, dynamic batch), records
its SHA-256 in ``models/manifest.json``, then runs the cardiac function analysis
(``workstation.analyses.cardiac_function.logic.run`` on the CPU) on held-out phantoms
(seeds never used in training) and the demo cine, and writes into the manifest's
``metrics`` the Dice per structure on the study grid and the errors of LV EDV, ESV,
EF, mass and RV EDV, ESV, EF against the phantoms' exact volumes.

Usage::

    python training/export_cardiac.py [--eval-cases 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cardiac_data import CLASSES, SPEC, acquisition  # noqa: E402
from train_cardiac import CHECKPOINT, OUT  # noqa: E402
from export_common import export_onnx, write_manifest  # noqa: E402
from unet2d import UNet2D  # noqa: E402

from workstation.demo.cardiac_geometry import LABELS  # noqa: E402
from workstation.ml.registry import builtin_models_dir, sha256_file  # noqa: E402

NAME, FILE, VERSION = "cardiac-cine", "cardiac_cine.onnx", "1.0.0"
EVAL_SEEDS_FROM = 90_000


def export(path: Path) -> int:
    ckpt = torch.load(CHECKPOINT, weights_only=True)
    model = UNet2D(ckpt["classes"], ckpt["base"])
    model.load_state_dict(ckpt["state"])
    return export_onnx(model, SPEC.tile, path)


def manifest_entry(sha: str, metrics: dict, n_params: int) -> dict:
    return {
        "name": NAME, "file": FILE, "version": VERSION, "sha256": sha, "task": "segmentation-2d", "modality": "MR",
        "description": "LV blood pool (papillary muscles included), LV myocardium and RV blood pool on short-axis "
                       "cine MR; trained on synthetic phantoms only.",
        "input": {"name": "image", "spacing": list(SPEC.spacing), "tile": list(SPEC.tile), "channels": 1,
                  "orientation": SPEC.orientation, "dtype": "float32",
                  "normalization": {"type": "minmax", "lo": SPEC.normalization.lo, "hi": SPEC.normalization.hi}},
        "outputs": [{"name": "logits", "shape": [None, CLASSES, *SPEC.tile], "dtype": "float32"}],
        "labels": {str(k): v for k, v in LABELS.items()},
        "colors": {"1": [230, 60, 60], "2": [60, 200, 90], "3": [70, 140, 255]},
        "preprocessing": "each plane resampled linearly to 1.75 mm in one 112 x 112 window centred on the heart "
                         "(zeros outside the image); each phase's planes scaled together from their 1st-99th "
                         "percentiles to [0, 1]",
        "source": f"Trained by training/train_cardiac.py (2D U-Net, {n_params} parameters) on synthetic short-axis "
                  "cines from workstation.demo.cardiac_phantom",
        "licence": "Apache-2.0",
        "intended_use": "Not for clinical use",
        "metrics": metrics,
    }


def _dice(a: np.ndarray, b: np.ndarray, label: int) -> float:
    x, y = a == label, b == label
    total = int(x.sum()) + int(y.sum())
    return 1.0 if total == 0 else 2.0 * int((x & y).sum()) / total


def _errors(result, truth: dict) -> dict:  # type: ignore[no-untyped-def]
    lv, rv = result.lv, result.rv
    return {"lv_edv_pct": 100 * (lv.edv_ml / truth["lv_edv_ml"] - 1), "lv_esv_pct": 100 * (lv.esv_ml / truth["lv_esv_ml"] - 1),
            "lv_ef_points": lv.ef_pct - truth["lv_ef_pct"], "lv_mass_pct": 100 * (lv.mass_g / truth["lv_mass_g"] - 1),
            "rv_edv_pct": 100 * (rv.edv_ml / truth["rv_edv_ml"] - 1), "rv_esv_pct": 100 * (rv.esv_ml / truth["rv_esv_ml"] - 1),
            "rv_ef_points": rv.ef_pct - truth["rv_ef_pct"]}


def evaluate(n_cases: int) -> dict:
    from workstation.analyses.cardiac_function.logic import run
    from workstation.analyses.cardiac_function.params import CardiacParams
    from workstation.analyses.cardiac_function.prepare import cine_input
    from workstation.compute.backend import cpu_backend
    from workstation.demo.cardiac_dicom import DEMO_SEED
    from workstation.demo.cardiac_phantom import generate_cine

    params = CardiacParams(model=NAME)
    dice: dict[str, list[float]] = {v: [] for v in LABELS.values()}
    errors: dict[str, list[float]] = {}
    t0 = time.time()
    for seed in range(EVAL_SEEDS_FROM, EVAL_SEEDS_FROM + n_cases):
        acq = acquisition(np.random.default_rng(seed))
        acq.update(n_phases=20, n_slices=max(acq["n_slices"], 12))
        case = generate_cine(seed, **acq)
        result = run(cine_input(case.series(), sex="M"), params, cpu_backend())
        for k, name in LABELS.items():
            dice[name].append(_dice(result.labels, case.labels, k))
        for key, value in _errors(result, case.truth).items():
            errors.setdefault(key, []).append(value)
        print(f"seed {seed} {case.images.shape} px {acq['pixel_mm']:.2f} mm: "
              + ", ".join(f"{k} {v[-1]:.3f}" for k, v in dice.items()) + " | "
              + ", ".join(f"{k} {v[-1]:+.1f}" for k, v in errors.items()), flush=True)
    demo = generate_cine(DEMO_SEED, n_slices=12, n_phases=25, rows=256, cols=256, pixel_mm=1.4, thickness_mm=8.0,
                         gap_mm=2.0, heart_rate_bpm=68.0, snr=28.0)
    demo_result = run(cine_input(demo.series(), sex="M"), params, cpu_backend())
    demo_errors = {k: round(v, 2) for k, v in _errors(demo_result, demo.truth).items()}
    print("demo cine:", demo_errors)
    return {
        "evaluation": f"{n_cases} held-out synthetic cines (workstation.demo.cardiac_phantom.generate_cine seeds "
                      f"{EVAL_SEEDS_FROM}-{EVAL_SEEDS_FROM + n_cases - 1}, 20 phases, 1.15-2.1 mm pixels, 5-10 mm "
                      "slices, 0-4 mm gaps), run through the cardiac function analysis on the CPU; Dice on the "
                      "study grid over every slice and phase; volume errors against the phantoms' exact volumes",
        "dice_mean": {k: round(float(np.mean(v)), 4) for k, v in dice.items()},
        "dice_min": {k: round(float(np.min(v)), 4) for k, v in dice.items()},
        "error_mean": {k: round(float(np.mean(v)), 2) for k, v in errors.items()},
        "error_max_abs": {k: round(float(np.max(np.abs(v))), 2) for k, v in errors.items()},
        "error_demo_cine": demo_errors,
        "eval_seconds": round(time.time() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-cases", type=int, default=8)
    args = parser.parse_args()
    path = builtin_models_dir() / FILE
    n_params = export(path)
    sha = sha256_file(path)
    print(f"{path} {path.stat().st_size / 1024:.0f} KiB sha256 {sha}")
    write_manifest(manifest_entry(sha, {}, n_params))
    metrics = evaluate(args.eval_cases)
    log = OUT / "cardiac_train_log.json"
    if log.is_file():
        metrics["training"] = json.loads(log.read_text())
    write_manifest(manifest_entry(sha, metrics, n_params))
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
