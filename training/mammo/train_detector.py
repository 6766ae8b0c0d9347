"""Train the mammography CAD detector on synthetic cases and export it to ONNX.

A compact CenterNet-style network (heatmap + log box size + centre offset, stride 4)
on 256 x 208 preprocessed views, two classes (mass, calcification cluster).  Trained on
synthetic cases from :mod:`workstation.demo.mammo` (training seeds 1000+), evaluated on
held-out seeds (500000+) with the analysis's own decoding and NMS, then exported
(opset 17, fixed 256 x 208 input, dynamic batch) and entered in ``models/manifest.json``.

Run from the repository root (CPU, one thread, about 15 minutes)::

    /tmp/venv/bin/python training/mammo/train_detector.py --minutes 11

Not imported by the application.  Needs torch (CPU build is enough).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import build  # noqa: E402
from evaluate import evaluate_onnx, write_manifest  # noqa: E402

from workstation.analyses.mammo_cad.detect import STRIDE  # noqa: E402
from workstation.analyses.mammo_cad.preprocess import INPUT_SHAPE  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CenterNetLite(nn.Module):
    """Encoder to stride 16, FPN-style decoder back to stride 4, three 1x1 heads."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.s1 = nn.Sequential(block(1, w // 2), block(w // 2, w, 2))  # /2
        self.s2 = nn.Sequential(block(w, 2 * w, 2), block(2 * w, 2 * w))  # /4
        self.s3 = nn.Sequential(block(2 * w, 3 * w, 2), block(3 * w, 3 * w))  # /8
        self.s4 = nn.Sequential(block(3 * w, 4 * w, 2), block(4 * w, 4 * w))  # /16
        self.l3 = nn.Conv2d(4 * w, 3 * w, 1)
        self.m3 = block(3 * w, 3 * w)
        self.l2 = nn.Conv2d(3 * w, 2 * w, 1)
        self.m2 = block(2 * w, 2 * w)
        self.head = block(2 * w, 2 * w)
        self.hm = nn.Conv2d(2 * w, 2, 1)
        self.size = nn.Conv2d(2 * w, 2, 1)
        self.off = nn.Conv2d(2 * w, 2, 1)
        nn.init.constant_(self.hm.bias, -2.19)  # prior 0.1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        f1 = self.s1(x)
        f2 = self.s2(f1)
        f3 = self.s3(f2)
        f4 = self.s4(f3)
        p3 = self.m3(f3 + F.interpolate(self.l3(f4), size=f3.shape[-2:], mode="nearest"))
        p2 = self.m2(f2 + F.interpolate(self.l2(p3), size=f2.shape[-2:], mode="nearest"))
        h = self.head(p2)
        return torch.sigmoid(self.hm(h)), self.size(h), torch.sigmoid(self.off(h))


def targets(boxes: np.ndarray, out_hw: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Gaussian heatmap (2, h, w), size and offset targets with their mask (1 at centres)."""
    h, w = out_hw
    hm = np.zeros((2, h, w), np.float32)
    size = np.zeros((2, h, w), np.float32)
    off = np.zeros((2, h, w), np.float32)
    reg = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for x0, y0, x1, y1, c in boxes:
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        bw, bh = max((x1 - x0) / STRIDE, 0.5), max((y1 - y0) / STRIDE, 0.5)
        j, i = int(min(max(cx, 0), w - 1)), int(min(max(cy, 0), h - 1))
        sigma = max(min(bw, bh) / 6.0, 0.7)
        g = np.exp(-((xx - j) ** 2 + (yy - i) ** 2) / (2 * sigma**2))
        hm[int(c)] = np.maximum(hm[int(c)], g)
        hm[int(c), i, j] = 1.0
        size[:, i, j] = (math.log(bw), math.log(bh))
        off[:, i, j] = (cx - j, cy - i)
        reg[i, j] = 1.0
    return hm, size, off, reg


def focal_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    pred = pred.clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - gt) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def augment(x: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = x.astype(np.float32)
    boxes = boxes.copy()
    if rng.random() < 0.5:  # up-down mirror: a plausible other breast
        valid_rows = int(np.flatnonzero(x.any(axis=1)).max(initial=x.shape[0] - 1)) + 1
        x[:valid_rows] = x[:valid_rows][::-1]
        boxes[:, [1, 3]] = valid_rows - boxes[:, [3, 1]]
    gamma = rng.uniform(0.8, 1.25)
    x = np.where(x > 0, np.clip(x, 0, None) ** gamma * rng.uniform(0.9, 1.1), 0).astype(np.float32)
    return x, boxes


def train(args: argparse.Namespace) -> nn.Module:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    shapes = [(512, 416)] * 3 + [(1024, 832)]
    images, boxes = build(range(1000, 1000 + args.cases), shapes, Path(args.cache))
    print(f"training images: {len(images)}", flush=True)
    out_hw = (INPUT_SHAPE[0] // STRIDE, INPUT_SHAPE[1] // STRIDE)
    model = CenterNetLite()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    t0 = time.time()
    deadline = t0 + args.minutes * 60
    step = 0
    model.train()
    while time.time() < deadline:
        frac = (time.time() - t0) / (args.minutes * 60)
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))
        idx = rng.choice(len(images), args.batch, replace=False)
        xs, tg = [], []
        for i in idx:
            x, b = augment(images[i], boxes[i], rng)
            xs.append(x[None])
            tg.append(targets(b, out_hw))
        x_t = torch.from_numpy(np.stack(xs))
        hm_t, size_t, off_t, reg_t = (torch.from_numpy(np.stack(t)) for t in zip(*tg))
        hm, size, off = model(x_t)
        reg = reg_t[:, None]
        n = reg.sum().clamp(min=1)
        loss = focal_loss(hm, hm_t) + 0.5 * (F.l1_loss(size * reg, size_t * reg, reduction="sum") / n) + (
            F.l1_loss(off * reg, off_t * reg, reduction="sum") / n
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"step {step} {time.time() - t0:.0f} s loss {loss.item():.3f}", flush=True)
        step += 1
    print(f"trained {step} steps in {time.time() - t0:.0f} s", flush=True)
    return model


def export(model: nn.Module, path: Path) -> None:
    model.eval()
    x = torch.zeros(1, 1, *INPUT_SHAPE)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (x,), str(path), opset_version=17, input_names=["image"],
                      output_names=["heatmap", "size", "offset"],
                      dynamic_axes={"image": {0: "batch"}, "heatmap": {0: "batch"}, "size": {0: "batch"},
                                    "offset": {0: "batch"}}, dynamo=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--minutes", type=float, default=11.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--cache", default="/tmp/mammo_train_cache.npz")
    ap.add_argument("--out", default=str(ROOT / "models" / "mammo_cad_detector.onnx"))
    ap.add_argument("--eval-cases", type=int, default=60)
    args = ap.parse_args()
    model = train(args)
    out = Path(args.out)
    torch.save(model.state_dict(), "/tmp/mammo_detector_state.pt")
    export(model, out)
    metrics = evaluate_onnx(out, range(500000, 500000 + args.eval_cases))
    print(json.dumps(metrics, indent=1))
    write_manifest(out, metrics)


if __name__ == "__main__":
    main()
