"""A compact 3D U-Net (three levels; ~85k parameters at base 8) for the bundled organ model.

Training code only: PyTorch is not a dependency of the workstation package.
"""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout), nn.LeakyReLU(0.01, inplace=True),
        nn.Conv3d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout), nn.LeakyReLU(0.01, inplace=True),
    )


class UNet3D(nn.Module):
    """Input ``(N, 1, Z, Y, X)`` with Z, Y, X divisible by 4; output ``(N, classes, Z, Y, X)`` logits."""

    def __init__(self, classes: int, base: int = 8) -> None:
        super().__init__()
        c1, c2, c3 = base, 2 * base, 4 * base
        self.enc1, self.enc2, self.enc3 = _block(1, c1), _block(c1, c2), _block(c2, c3)
        self.pool = nn.MaxPool3d(2)
        self.up2 = nn.ConvTranspose3d(c3, c2, 2, stride=2)
        self.dec2 = _block(2 * c2, c2)
        self.up1 = nn.ConvTranspose3d(c2, c1, 2, stride=2)
        self.dec1 = _block(2 * c1, c1)
        self.head = nn.Conv3d(c1, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(e3), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)
