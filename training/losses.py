"""Losses and the optimiser step shared by the training scripts of the bundled segmentation models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def dice_loss(logits: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    """1 - mean soft Dice over the foreground classes present in the batch (2D or 3D).

    ``logits`` ``(N, classes, *spatial)``, ``target`` ``(N, *spatial)`` class indices.
    A class absent from the batch is left out: it would only learn to vanish.
    """
    prob = logits.softmax(1)
    onehot = F.one_hot(target, classes).movedim(-1, 1).float()
    dims = (0, *range(2, logits.ndim))
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    present = onehot.sum(dims)[1:] > 0
    score = ((2 * inter + 1.0) / (denom + 1.0))[1:]
    return 1.0 - score[present].mean() if bool(present.any()) else logits.sum() * 0.0


def cosine_lr(optimizer: torch.optim.Optimizer, peak: float, fraction: float) -> None:
    """Set the learning rate on a cosine from ``peak`` (``fraction`` 0) down to 1e-5 (1)."""
    for group in optimizer.param_groups:
        group["lr"] = peak * 0.5 * (1 + np.cos(np.pi * min(fraction, 1.0))) + 1e-5


def segmentation_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                      pairs: Sequence[tuple[np.ndarray, np.ndarray]], class_weights: torch.Tensor,
                      classes: int) -> float:
    """One step on (image, label) pairs: weighted cross-entropy plus soft Dice; the loss."""
    x = torch.from_numpy(np.stack([p[0] for p in pairs])[:, None])
    y = torch.from_numpy(np.stack([p[1] for p in pairs]))
    logits = model(x)
    loss = F.cross_entropy(logits, y, weight=class_weights) + dice_loss(logits, y, classes)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach())
