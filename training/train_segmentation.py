"""Train the bundled chest organ model on synthetic labelled chest CTs (CPU, PyTorch).

Each training case is generated at a random study resolution by
``workstation.demo.chest_labels.synthetic_chest`` and brought onto the model grid
by the same code the application uses at inference (``workstation.ml.preprocess``),
so training and inference inputs match.  Writes ``training/out/unet.pt``; then run
``export_segmentation.py`` to export ONNX, write the manifest and measure Dice.

Usage::

    python training/train_segmentation.py --minutes 15 --cases 60
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from losses import cosine_lr, segmentation_step  # noqa: E402
from unet3d import UNet3D  # noqa: E402

from workstation.demo.chest_labels import LABELS, synthetic_chest  # noqa: E402
from workstation.ml.manifest import InputSpec, Normalization  # noqa: E402
from workstation.ml.preprocess import to_model_grid  # noqa: E402
from workstation.ml.resample import resample  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SPEC = InputSpec(name="image", spacing=(3.0, 3.0, 3.0), tile=(32, 64, 64),
                 normalization=Normalization("ct-window", lo=-1000.0, hi=1000.0), orientation="LPS")
CLASSES = max(LABELS) + 1
CROP = (32, 48, 48)
# Cross-entropy weights per class (air, body, lungs, heart, aorta, bone): rarer, heavier.
CLASS_WEIGHTS = torch.tensor([1.0, 1.0, 1.0, 2.0, 4.0, 3.0])


def study_case(seed: int) -> tuple:
    """A case at a random study resolution: (volume, labels) on the study grid."""
    rng = np.random.default_rng(seed + 7919)
    sxy, sz = float(rng.uniform(1.0, 2.0)), float(rng.uniform(1.5, 3.5))
    nxy, nz = int(round(400 / sxy)), int(round(rng.uniform(160, 260) / sz))
    case = synthetic_chest(seed, shape=(nz, nxy, nxy), spacing=(sz, sxy, sxy))
    return case.volume, case.labels


def model_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A training pair on the model grid: normalised image and nearest-resampled labels."""
    volume, labels = study_case(seed)
    image, grid = to_model_grid(volume.array, volume.spacing, volume.direction, SPEC, ndi)
    lab = resample(grid.reorient.apply(labels), grid.oriented_spacing, SPEC.spacing, ndi, order=0,
                   shape=grid.model_shape)
    return image.astype(np.float32), lab.astype(np.int64)


def random_crop(image: np.ndarray, lab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = np.array(image.shape)
    if rng.random() < 0.5:
        cls = int(rng.integers(2, CLASSES))
        where = np.argwhere(lab == cls)
        centre = where[rng.integers(len(where))] if len(where) else shape // 2
    else:
        centre = np.array([rng.integers(0, n) for n in shape])
    pad = [(max(0, -(c - n // 2)), max(0, c - n // 2 + n - s)) for c, n, s in zip(centre, CROP, shape)]
    img = np.pad(image, pad, constant_values=0.0)
    lb = np.pad(lab, pad, constant_values=0)
    start = [c - n // 2 + p[0] for c, n, p in zip(centre, CROP, pad)]
    sl = tuple(slice(s, s + n) for s, n in zip(start, CROP))
    return img[sl], lb[sl]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=14.0)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--base", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--resume", action="store_true", help="continue from training/out/unet.pt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(1 if args.resume else 0)
    t0 = time.time()
    data = [model_case(seed) for seed in range(1, args.cases + 1)]
    print(f"{len(data)} cases on the model grid in {time.time() - t0:.0f} s; shapes e.g. {data[0][0].shape}",
          flush=True)
    model = UNet3D(CLASSES, args.base)
    if args.resume:
        model.load_state_dict(torch.load(OUT / "unet.pt", weights_only=True)["state"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    budget = args.minutes * 60.0
    start = time.time()
    step, history = 0, []
    while time.time() - start < budget:
        cosine_lr(opt, args.lr, (time.time() - start) / budget)
        pairs = [random_crop(*data[rng.integers(len(data))], rng) for _ in range(args.batch)]
        history.append(segmentation_step(model, opt, pairs, CLASS_WEIGHTS, CLASSES))
        step += 1
        if step % 50 == 0:
            print(f"step {step} t={time.time() - start:.0f}s loss={np.mean(history[-50:]):.4f}", flush=True)
    OUT.mkdir(exist_ok=True)
    torch.save({"state": model.state_dict(), "base": args.base, "classes": CLASSES}, OUT / "unet.pt")
    (OUT / "train_log.json").write_text(json.dumps({
        "steps": step, "minutes": args.minutes, "cases": args.cases, "crop": CROP, "batch": args.batch,
        "final_loss": float(np.mean(history[-50:])) if history else None}))
    print(f"saved after {step} steps", flush=True)


if __name__ == "__main__":
    main()
