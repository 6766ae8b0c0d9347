"""Losses shared by the training scripts of the bundled segmentation models."""

from __future__ import annotations

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
