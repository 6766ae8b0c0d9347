"""Held-out evaluation of the exported detector and its manifest entry.

A detection hits a truth finding when both have the same class and the detection's
centre lies inside the truth box or their IoU is at least 0.2.  Recall is the fraction
of truth findings hit by at least one detection at or above a score threshold; a false
positive is a detection that hits nothing.  The operating threshold is the lowest score
at which false positives stay at or below ``FP_PER_IMAGE`` per image.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from workstation.analyses.mammo_cad.detect import CLASSES, decode
from workstation.analyses.mammo_cad.nms import batched_nms, iou_matrix
from workstation.analyses.mammo_cad.preprocess import INPUT_SHAPE, preprocess_view
from workstation.compute.backend import cpu_backend
from workstation.demo.mammo import VIEWS, generate_mammo

FP_PER_IMAGE = 0.25
KINDS = {"mass": 0, "calcification": 1}


def hits(det_box: np.ndarray, det_cls: int, truth: list[tuple[np.ndarray, int]]) -> list[int]:
    """Indices of the truth findings a detection hits."""
    cx, cy = (det_box[0] + det_box[2]) / 2, (det_box[1] + det_box[3]) / 2
    out = []
    for k, (tb, tc) in enumerate(truth):
        if tc != det_cls:
            continue
        inside = tb[0] <= cx <= tb[2] and tb[1] <= cy <= tb[3]
        if inside or float(iou_matrix(det_box, tb)[0, 0]) >= 0.2:
            out.append(k)
    return out


def detections_for_case(session: Any, seed: int, shape: tuple[int, int] = (1024, 832)) -> list[dict[str, Any]]:
    """Per view: truth boxes and detections (original pixels) for one held-out case."""
    backend = cpu_backend()
    case = generate_mammo(seed, shape=shape)
    xs, masks, geoms = [], [], []
    for view in VIEWS:
        x, m, g = preprocess_view(case.images[view], flip=view.startswith("R"),
                                  spacing_mm=(case.pixel_spacing_mm,) * 2, backend=backend)
        xs.append(x[None])
        masks.append(m)
        geoms.append(g)
    hm, size, off = session.run(["heatmap", "size", "offset"], {"image": np.stack(xs)})
    cands = decode(hm, size, off, backend, score_threshold=0.02, mask=np.stack(masks))
    out = []
    for view, cand, geom in zip(VIEWS, cands, geoms):
        keep = batched_nms(cand.boxes, cand.scores, cand.classes, 0.3)
        truth = [(np.asarray(t.box), KINDS[t.kind]) for t in case.boxes(view)]
        out.append({"boxes": geom.input_to_original(cand.boxes[keep]), "scores": cand.scores[keep],
                    "classes": cand.classes[keep], "truth": truth})
    return out


def summarise(views: list[dict[str, Any]], fp_per_image: float = FP_PER_IMAGE) -> dict[str, Any]:
    """Operating threshold, recall per class and overall, FROC points."""
    records = []  # (score, is_fp, hit truth ids)
    n_truth = {c: 0 for c in range(len(CLASSES))}
    for vi, v in enumerate(views):
        for _tb, tc in v["truth"]:
            n_truth[tc] += 1
        for box, score, cls in zip(v["boxes"], v["scores"], v["classes"]):
            h = hits(box, int(cls), v["truth"])
            records.append((float(score), not h, [(vi, k) for k in h]))
    n_images = len(views)

    def at(threshold: float) -> tuple[float, dict[str, float]]:
        fp = sum(1 for s, is_fp, _ in records if s >= threshold and is_fp) / n_images
        found: set[tuple[int, int]] = set()
        for s, _fp, h in records:
            if s >= threshold:
                found.update(h)
        recall = {}
        for c, name in enumerate(CLASSES):
            ids = {(vi, k) for vi, v in enumerate(views) for k, (_b, tc) in enumerate(v["truth"]) if tc == c}
            recall[name] = len(ids & found) / max(len(ids), 1)
        total = sum(n_truth.values())
        recall["all"] = len(found) / max(total, 1)
        return fp, recall

    thresholds = sorted({s for s, _f, _h in records}, reverse=True) or [1.0]
    chosen = thresholds[0]
    for t in thresholds:
        if at(t)[0] <= fp_per_image:
            chosen = t
    fp, recall = at(chosen)
    froc = {}
    for target in (0.1, 0.5, 1.0):
        best = max((at(t)[1]["all"] for t in thresholds if at(t)[0] <= target), default=0.0)
        froc[f"recall_at_{target}_fp_per_image"] = round(best, 3)
    return {"images": n_images, "truth_findings": {CLASSES[c]: n for c, n in n_truth.items()},
            "fp_per_image_target": fp_per_image, "score_threshold": round(chosen, 4),
            "fp_per_image": round(fp, 3), "recall": {k: round(v, 3) for k, v in recall.items()}, **froc}


def evaluate_onnx(path: Path, seeds: range) -> dict[str, Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    t0 = time.time()
    views: list[dict[str, Any]] = []
    for seed in seeds:
        views.extend(detections_for_case(session, seed))
    metrics = summarise(views)
    metrics["held_out_seeds"] = f"{seeds.start}-{seeds.stop - 1}"
    metrics["eval_seconds"] = round(time.time() - t0, 1)
    return metrics


def write_manifest(model: Path, metrics: dict[str, Any]) -> None:
    """Add or replace this model's entry in the manifest beside it, keeping the others."""
    from workstation.ml.registry import sha256_file

    manifest = model.parent / "manifest.json"
    data = json.loads(manifest.read_text()) if manifest.is_file() else {"format_version": 1, "models": []}
    entry = {
        "name": "mammo-cad-detector", "file": model.name, "version": "1.0.0",
        "sha256": sha256_file(model), "task": "detection-2d", "modality": "MG",
        "input": {"name": "image", "spacing": [0.4, 0.4], "tile": list(INPUT_SHAPE), "channels": 1,
                  "orientation": "LPS",
                  "normalization": {"type": "minmax", "lo": 0, "hi": 99}},
        "labels": {"1": "mass", "2": "calcification"},
        "outputs": [{"name": n, "shape": [None, 2, INPUT_SHAPE[0] // 4, INPUT_SHAPE[1] // 4]}
                    for n in ("heatmap", "size", "offset")],
        "preprocessing": "chest wall flipped to the left; fit-resize keeping aspect to 256x208 "
                         "(anti-aliased linear), zero padding right/bottom; values divided by the "
                         "99th percentile inside the Otsu breast mask, clipped to [0, 1.5]",
        "source": "trained on synthetic mammograms from workstation.demo.mammo "
                  "(training/mammo/train_detector.py)",
        "licence": "Apache-2.0",
        "intended_use": "Not for clinical use: demonstration detector trained on synthetic images only",
        "metrics": metrics,
    }
    data["models"] = [m for m in data.get("models", []) if m.get("name") != entry["name"]] + [entry]
    manifest.write_text(json.dumps(data, indent=2) + "\n")
