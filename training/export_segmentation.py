"""Export the trained chest organ net to ONNX, register it and measure its Dice.

Reads ``training/out/unet.pt`` (from ``train_segmentation.py``), writes
``models/chest_organs.onnx`` (opset 17, fixed tile, dynamic batch), records its
SHA-256 in ``models/manifest.json``, then segments held-out synthetic cases (seeds
never used in training) and the demo chest CT with the application's own pipeline
(``workstation.analyses.segmentation.logic.run`` on the CPU) and writes the Dice per
structure into the manifest's ``metrics``.

Usage::

    python training/export_segmentation.py [--eval-cases 8]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_segmentation import CLASSES, OUT, SPEC, study_case  # noqa: E402
from export_common import export_onnx, write_manifest  # noqa: E402
from unet3d import UNet3D  # noqa: E402

from workstation.demo.chest_labels import LABELS  # noqa: E402
from workstation.ml.registry import builtin_models_dir, sha256_file  # noqa: E402

NAME, FILE, VERSION = "chest-organs", "chest_organs.onnx", "1.0.0"
EVAL_SEEDS_FROM = 50_000


def export(path: Path) -> int:
    ckpt = torch.load(OUT / "unet.pt", weights_only=True)
    model = UNet3D(ckpt["classes"], ckpt["base"])
    model.load_state_dict(ckpt["state"])
    return export_onnx(model, SPEC.tile, path)


def manifest_entry(sha: str, metrics: dict, n_params: int) -> dict:
    return {
        "name": NAME, "file": FILE, "version": VERSION, "sha256": sha, "task": "segmentation-3d", "modality": "CT",
        "description": "Body, lungs, heart, aorta and bone on chest CT; trained on synthetic phantoms only.",
        "input": {"name": "image", "spacing": list(SPEC.spacing), "tile": list(SPEC.tile), "channels": 1,
                  "orientation": SPEC.orientation, "dtype": "float32",
                  "normalization": {"type": "ct-window", "lo": SPEC.normalization.lo,
                                    "hi": SPEC.normalization.hi}},
        "outputs": [{"name": "logits", "shape": [None, CLASSES, *SPEC.tile], "dtype": "float32"}],
        "labels": {str(k): v for k, v in LABELS.items()},
        "colors": {"1": [230, 200, 160], "2": [80, 160, 255], "3": [220, 40, 60], "4": [255, 120, 0],
                   "5": [245, 245, 220]},
        "source": f"Trained by training/train_segmentation.py (3D U-Net, {n_params} parameters) on synthetic "
                  "chest CTs from workstation.demo.chest_labels",
        "licence": "Apache-2.0",
        "intended_use": "Not for clinical use",
        "metrics": metrics,
    }


def evaluate(n_cases: int) -> dict:
    from workstation.analyses.segmentation.logic import SegmentationParams, dice, run
    from workstation.compute.backend import cpu_backend
    from workstation.demo.chest_ct import generate_chest_ct
    from workstation.demo.chest_labels import chest_ct_labels

    params = SegmentationParams(model=NAME)
    per_label: dict[str, list[float]] = {v: [] for v in LABELS.values()}
    for seed in range(EVAL_SEEDS_FROM, EVAL_SEEDS_FROM + n_cases):
        volume, truth = study_case(seed)
        result = run(volume, params, cpu_backend())
        scores = {name: dice(result.labels, truth, k) for k, name in LABELS.items()}
        print(f"seed {seed} grid {volume.shape} spacing {tuple(round(s, 2) for s in volume.spacing)}: "
              + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()), flush=True)
        for k, v in scores.items():
            per_label[k].append(v)
    demo, _ = generate_chest_ct(0)
    result = run(demo, params, cpu_backend())
    truth = chest_ct_labels(demo)
    demo_dice = {name: round(dice(result.labels, truth, k), 4) for k, name in LABELS.items()}
    print("demo chest CT:", demo_dice)
    return {
        "evaluation": f"{n_cases} held-out synthetic chest CTs (workstation.demo.chest_labels.synthetic_chest seeds "
                      f"{EVAL_SEEDS_FROM}-{EVAL_SEEDS_FROM + n_cases - 1}, study spacing 1-2 mm in-plane, 1.5-3.5 mm "
                      "between slices), segmented by the application pipeline on the CPU; Dice on the study grid",
        "dice_mean": {k: round(float(np.mean(v)), 4) for k, v in per_label.items()},
        "dice_min": {k: round(float(np.min(v)), 4) for k, v in per_label.items()},
        "dice_threshold": {k: max(float(np.floor((np.min(v) - 0.03) * 100) / 100), 0.0)
                           for k, v in per_label.items()},
        "dice_demo_chest_ct": demo_dice,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-cases", type=int, default=8)
    args = parser.parse_args()
    path = builtin_models_dir() / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    n_params = export(path)
    sha = sha256_file(path)
    print(f"{path} {path.stat().st_size / 1024:.0f} KiB sha256 {sha}")
    write_manifest(manifest_entry(sha, {}, n_params))
    metrics = evaluate(args.eval_cases)
    write_manifest(manifest_entry(sha, metrics, n_params))
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
