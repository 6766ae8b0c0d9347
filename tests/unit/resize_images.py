"""Test images with known content for the resize tests and the export benchmark."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def textured_rgb(height: int, width: int, seed: int = 0) -> NDArray[np.uint8]:
    """Smooth random texture plus a checkerboard in red: edges and gradients, no noise."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.random((height, width, 3)), (3, 3, 0))
    base = (base - base.min()) / (base.max() - base.min())
    yy, xx = np.mgrid[:height, :width]
    base[..., 0] += 0.3 * ((xx // 64 + yy // 64) % 2)
    return np.clip(base / base.max() * 255.0, 0, 255).astype(np.uint8)


def zone_plate(n: int) -> tuple[NDArray[np.uint8], float]:
    """A circular zone plate ``0.5 + 0.5 cos(2 pi k r^2)`` of ``n`` x ``n`` pixels in uint8.

    Its local frequency is ``2 k r`` cycles per pixel, 0.5 (Nyquist) at the corners;
    returns the image and ``k``.
    """
    y, x = np.mgrid[:n, :n] - (n - 1) / 2.0
    k = 0.5 / (2.0 * np.sqrt(2.0) * n / 2.0)
    image = 0.5 + 0.5 * np.cos(2.0 * np.pi * k * (x * x + y * y))
    return np.rint(image * 255.0).astype(np.uint8), k


def zone_plate_frequency(n_in: int, n_out: int, k: float) -> NDArray[np.float64]:
    """Local frequency of the zone plate (cycles per *output* pixel) at each output pixel."""
    f = n_in / n_out
    yo, xo = np.mgrid[:n_out, :n_out]
    cy = (yo + 0.5) * f - 0.5 - (n_in - 1) / 2.0
    cx = (xo + 0.5) * f - 0.5 - (n_in - 1) / 2.0
    return 2.0 * k * np.sqrt(cy * cy + cx * cx) * f


def ripple_db(image: NDArray[np.uint8], where: NDArray[np.bool_]) -> float:
    """RMS of ``image`` about mid-grey over ``where``, in dB relative to the zone plate's RMS."""
    values = image.astype(np.float64) / 255.0
    rms = float(np.sqrt(np.mean((values[where] - 0.5) ** 2)))
    return 20.0 * np.log10(max(rms, 1e-9) / (0.5 / np.sqrt(2.0)))


def reference_resize(image: NDArray[np.floating], shape: tuple[int, int], kernel: str) -> NDArray[np.float64]:
    """Float64 resize by dense matrices ``A_rows @ image @ A_cols.T`` built from the kernel
    definition (clamped edges, kernel widened on shrink): the benchmark's and tests'
    reference, independent of the table and pass code under test."""
    kernels = {
        "lanczos3": (3.0, lambda t: np.where(np.abs(t) < 3, np.sinc(t) * np.sinc(t / 3), 0.0)),
        "catmull-rom": (2.0, lambda t: np.where(np.abs(t) < 1, 1.5 * np.abs(t) ** 3 - 2.5 * t**2 + 1,
                                                np.where(np.abs(t) < 2, -0.5 * np.abs(t) ** 3 + 2.5 * t**2
                                                         - 4 * np.abs(t) + 2, 0.0))),
        "bilinear": (1.0, lambda t: np.maximum(0.0, 1.0 - np.abs(t))),
    }
    radius, fn = kernels[kernel]

    def matrix(n_in: int, n_out: int) -> NDArray[np.float64]:
        if n_in == n_out:
            return np.eye(n_in)
        s = n_in / n_out
        stretch = max(s, 1.0)
        centre = (np.arange(n_out) + 0.5) * s - 0.5
        reach = int(np.ceil(radius * stretch)) + 1
        a = np.zeros((n_out, n_in))
        for i, c in enumerate(centre):
            for j in range(int(np.floor(c)) - reach, int(np.ceil(c)) + reach + 1):
                a[i, min(max(j, 0), n_in - 1)] += fn((j - c) / stretch)
        return a / a.sum(axis=1, keepdims=True)

    rows = matrix(image.shape[0], shape[0])
    cols = matrix(image.shape[1], shape[1])
    tall = np.tensordot(rows, image.astype(np.float64), axes=(1, 0))  # (out_h, W, ...)
    return np.moveaxis(np.tensordot(cols, tall, axes=(1, 1)), 0, 1)  # (out_h, out_w, ...)
