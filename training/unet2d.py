"""A compact 2D U-Net (four levels) for the bundled cardiac cine model.

Training code only: PyTorch is not a dependency of the workstation package.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.01, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.01, inplace=True),
    )


class UNet2D(nn.Module):
    """Input ``(N, 1, H, W)`` with H, W divisible by 8; output ``(N, classes, H, W)`` logits."""

    def __init__(self, classes: int, base: int = 8) -> None:
        super().__init__()
        c = [base, 2 * base, 4 * base, 8 * base]
        self.enc = nn.ModuleList([_block(1, c[0]), _block(c[0], c[1]), _block(c[1], c[2]), _block(c[2], c[3])])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(c[k + 1], c[k], 2, stride=2) for k in range(3)])
        self.dec = nn.ModuleList([_block(2 * c[k], c[k]) for k in range(3)])
        self.head = nn.Conv2d(c[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for k, block in enumerate(self.enc):
            x = block(x if k == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for k in (2, 1, 0):
            x = self.dec[k](torch.cat([self.up[k](x), skips[k]], 1))
        return self.head(x)
