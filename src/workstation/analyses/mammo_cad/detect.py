"""The mammography detector: a CenterNet-style network in ONNX, and decoding its output.

The network takes ``(n, 1, 256, 208)`` preprocessed views and returns, on a grid of
stride ``STRIDE`` input pixels, three tensors ``(n, 2, 64, 52)``: ``heatmap`` (sigmoid
probability that a finding is centred in the cell; channel 0 mass, 1 calcification
cluster), ``size`` (log of box width and height in grid cells) and ``offset`` (centre
position inside the cell, 0..1).  A cell ``(i, j)`` covers input pixels
``[STRIDE*j, STRIDE*(j+1))`` across and ``[STRIDE*i, STRIDE*(i+1))`` down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from workstation.compute.backend import Backend

MODEL_NAME = "mammo-cad-detector"
STRIDE = 4
CLASSES: tuple[str, ...] = ("mass", "calcification")


@dataclass(frozen=True)
class Candidates:
    """Decoded detections of one view, in network-input pixels (NumPy, host)."""

    boxes: np.ndarray  # (k, 4) x0, y0, x1, y1
    scores: np.ndarray  # (k,)
    classes: np.ndarray  # (k,) index into CLASSES


def decode(
    heatmap: Any,
    size: Any,
    offset: Any,
    backend: Backend,
    *,
    score_threshold: float = 0.1,
    top_k: int = 50,
    mask: Optional[Any] = None,
) -> list[Candidates]:
    """Peaks of the heatmap -> boxes, for every image of the batch.

    A peak is a cell equal to the maximum of its 3x3 neighbourhood in its class channel
    with a score above ``score_threshold``; the ``top_k`` best per image are kept.
    ``mask`` (n, H, W) boolean at input resolution drops peaks whose centre lies
    outside the breast.
    """
    xp = backend.xp
    hm = xp.asarray(heatmap)
    peaks = backend.ndimage.maximum_filter(hm, size=(1, 1, 3, 3), mode="constant", cval=0.0)
    keep = (hm == peaks) & (hm > score_threshold)
    out: list[Candidates] = []
    n, c, h, w = hm.shape
    for b in range(n):
        flat = xp.where(keep[b], hm[b], 0).ravel()
        k = min(top_k, int(flat.size))
        idx = xp.argsort(-flat)[:k]
        idx = idx[flat[idx] > 0]
        cls, rem = idx // (h * w), idx % (h * w)
        iy, ix = rem // w, rem % w
        cx = (ix + offset[b, 0, iy, ix]) * STRIDE
        cy = (iy + offset[b, 1, iy, ix]) * STRIDE
        bw = xp.exp(size[b, 0, iy, ix]) * STRIDE
        bh = xp.exp(size[b, 1, iy, ix]) * STRIDE
        boxes = xp.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        scores = flat[idx]
        if mask is not None and idx.size:
            mb = mask[b]
            yy = xp.clip(cy.astype(xp.int64), 0, mb.shape[0] - 1)
            xx = xp.clip(cx.astype(xp.int64), 0, mb.shape[1] - 1)
            inside = mb[yy, xx]
            boxes, scores, cls = boxes[inside], scores[inside], cls[inside]
        out.append(Candidates(backend.asnumpy(boxes).astype(np.float64).reshape(-1, 4),
                              backend.asnumpy(scores).astype(np.float64),
                              backend.asnumpy(cls).astype(np.int64)))
    return out


class Detector:
    """The shipped detector bound to one device through :mod:`workstation.ml`."""

    def __init__(self, backend: Backend, model_name: str = MODEL_NAME) -> None:
        from workstation.ml.registry import get_model
        from workstation.ml.session import get_session

        self.entry = get_model(model_name)
        self.session = get_session(self.entry, backend)
        self.backend = backend

    @property
    def device(self) -> str:
        """Where inference runs: ``cuda:N`` when a GPU provider is active, else ``cpu``."""
        return self.session.device if self.session.on_gpu else "cpu"

    def __call__(self, batch: Any) -> tuple[Any, Any, Any]:
        """Run the network on ``(n, 1, H, W)`` float32 (NumPy or CuPy)."""
        name = self.entry.input.name
        outs = self.session.run({name: batch}, ["heatmap", "size", "offset"])
        xp = self.backend.xp
        return xp.asarray(outs["heatmap"]), xp.asarray(outs["size"]), xp.asarray(outs["offset"])
