"""Training data for the mammography detector: synthetic cases through the CAD preprocessing.

Each synthetic view is preprocessed exactly as the analysis does it (flip to chest wall
left, fit-resize to 256 x 208, breast-mask normalisation) and its truth boxes are mapped
into network-input pixels with the same :class:`ViewGeometry`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from workstation.analyses.mammo_cad.preprocess import INPUT_SHAPE, preprocess_view
from workstation.compute.backend import cpu_backend
from workstation.demo.mammo import VIEWS, generate_mammo

KINDS = {"mass": 0, "calcification": 1}


def case_views(seed: int, shape: tuple[int, int], rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Four (image (H, W) float16, boxes (k, 5): x0 y0 x1 y1 class) pairs for one seed."""
    findings = {s: (int(rng.random() < 0.55), int(rng.random() < 0.55)) for s in ("R", "L")}
    chest_wall = "standard" if rng.random() < 0.7 else "left"
    case = generate_mammo(seed, shape=shape, chest_wall=chest_wall, findings=findings)  # type: ignore[arg-type]
    backend = cpu_backend()
    out = []
    for view in VIEWS:
        image = case.images[view]
        flip = chest_wall == "standard" and view.startswith("R")
        x, _mask, geom = preprocess_view(image, flip=flip, spacing_mm=(case.pixel_spacing_mm,) * 2, backend=backend)
        boxes = [list(geom.original_to_input([t.box])[0]) + [KINDS[t.kind]] for t in case.boxes(view)]
        out.append((x.astype(np.float16), np.asarray(boxes, dtype=np.float32).reshape(-1, 5)))
    return out


def build(seeds: range, shapes: list[tuple[int, int]], cache: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Images (n, H, W) and per-image box arrays; cached in ``cache`` (npz)."""
    if cache.is_file():
        data = np.load(cache, allow_pickle=True)
        return data["images"], list(data["boxes"])
    rng = np.random.default_rng(seeds.start)
    images, boxes = [], []
    t0 = time.time()
    for i, seed in enumerate(seeds):
        shape = shapes[i % len(shapes)]
        for x, b in case_views(seed, shape, rng):
            images.append(x)
            boxes.append(b)
        if i % 50 == 0:
            print(f"  case {i}/{len(seeds)} {time.time() - t0:.0f} s", flush=True)
    arr = np.stack(images)
    obj = np.empty(len(boxes), dtype=object)
    obj[:] = boxes
    np.savez(cache, images=arr, boxes=obj)
    return arr, boxes


def assert_shape(images: np.ndarray) -> None:
    if images.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"cached images have shape {images.shape[1:]}, expected {INPUT_SHAPE}")
