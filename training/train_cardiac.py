"""Train the bundled cine model (LV blood pool, LV myocardium, RV blood pool) on synthetic cines (CPU, PyTorch).

Cases come from ``cardiac_data.case_planes`` (the application's own window and
normalisation).  Augmentation: the eight flips and quarter turns, small rotations,
and a random gamma and contrast, so the net needs no fixed display orientation and
no fixed intensity scale.  Loss: cross-entropy plus soft Dice.  Writes
``training/out/cardiac_unet.pt``; ``export_cardiac.py`` then exports ONNX, writes the
manifest and measures the model through the application.

Usage::

    python training/train_cardiac.py --steps 3000 --cases 200      # about 30-60 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from losses import cosine_lr, segmentation_step  # noqa: E402
from cardiac_data import CLASSES, case_planes  # noqa: E402
from unet2d import UNet2D  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CHECKPOINT = OUT / "cardiac_unet.pt"
CLASS_WEIGHTS = torch.tensor([0.5, 1.0, 1.5, 1.0])  # background, LV blood, LV myocardium, RV blood


def load_cases(n: int, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Planes of training seeds 1..n (held-out seeds start at 90000)."""
    with Pool(workers) as pool:
        parts = pool.map(case_planes, range(1, n + 1), chunksize=4)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One plane and its labels, flipped/turned, slightly rotated, with a random gamma and contrast."""
    k = int(rng.integers(4))
    x, y = np.rot90(x, k), np.rot90(y, k)
    if rng.random() < 0.5:
        x, y = x[:, ::-1], y[:, ::-1]
    if rng.random() < 0.5:
        angle = float(rng.uniform(-25.0, 25.0))
        x = ndi.rotate(x, angle, reshape=False, order=1, mode="constant")
        y = ndi.rotate(y, angle, reshape=False, order=0, mode="constant")
    x = np.clip(x, 0.0, None) ** float(rng.uniform(0.7, 1.4))
    x = x * float(rng.uniform(0.85, 1.15)) + float(rng.normal(0.0, 0.03))
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--base", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.time()
    images, labels = load_cases(args.cases, args.threads)
    heart = np.flatnonzero(labels.reshape(len(labels), -1).max(axis=1) > 0)
    print(f"{len(images)} planes ({len(heart)} with heart) from {args.cases} cases in {time.time() - t0:.0f} s",
          flush=True)
    model = UNet2D(CLASSES, args.base)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    start = time.time()
    history: list[float] = []
    for step in range(1, args.steps + 1):
        cosine_lr(opt, args.lr, (step - 1) / args.steps)
        # three in four planes show heart; the rest teach the net to leave empty planes empty
        pick = [int(rng.choice(heart)) if rng.random() < 0.75 else int(rng.integers(len(images)))
                for _ in range(args.batch)]
        pairs = [augment(images[i].astype(np.float32), labels[i], rng) for i in pick]
        history.append(segmentation_step(model, opt, pairs, CLASS_WEIGHTS, CLASSES))
        if step % 100 == 0:
            print(f"step {step} t={time.time() - start:.0f}s loss={np.mean(history[-100:]):.4f}", flush=True)
    OUT.mkdir(exist_ok=True)
    torch.save({"state": model.state_dict(), "base": args.base, "classes": CLASSES}, CHECKPOINT)
    (OUT / "cardiac_train_log.json").write_text(json.dumps({
        "steps": args.steps, "minutes": round((time.time() - start) / 60.0, 1), "cases": args.cases,
        "planes": int(len(images)),
        "batch": args.batch, "base": args.base, "threads": args.threads,
        "final_loss": float(np.mean(history[-100:])) if history else None}))
    print(f"saved after {args.steps} steps", flush=True)


if __name__ == "__main__":
    main()
