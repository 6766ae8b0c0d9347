"""Tiny ONNX models and manifests built in memory for the ML tests (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np


def conv_model(path: Path, tile: Sequence[int], classes: int = 1, *, in_name: str = "image",
               out_name: str = "logits", weight: Optional[np.ndarray] = None, elem: str = "FLOAT",
               bias: Optional[np.ndarray] = None) -> Path:
    """A 1x1(x1) convolution from one channel to ``classes`` channels with dynamic batch.

    ``weight`` (classes,) scales the input per output channel and ``bias`` (classes,) is
    added (default all ones and zeros: an identity per channel).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nd = len(tile)
    w = np.ones(classes, dtype=np.float32) if weight is None else np.asarray(weight, dtype=np.float32)
    w = w.reshape((classes, 1) + (1,) * nd)
    b = np.zeros(classes, dtype=np.float32) if bias is None else np.asarray(bias, dtype=np.float32)
    dtype = getattr(TensorProto, elem)
    x = helper.make_tensor_value_info(in_name, dtype, ["N", 1, *tile])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", classes, *tile])
    nodes = []
    src = in_name
    if elem != "FLOAT":
        nodes.append(helper.make_node("Cast", [in_name], ["xf"], to=TensorProto.FLOAT))
        src = "xf"
    nodes.append(helper.make_node("Conv", [src, "W", "B"], [out_name]))
    graph = helper.make_graph(nodes, "tiny", [x], [y],
                              initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def entry_dict(name: str, file: str, sha: str, tile: Sequence[int], labels: dict[int, str], **extra: Any) -> dict:
    """A manifest item for a segmentation model over ``tile``."""
    item = {
        "name": name, "file": file, "version": "0.1", "sha256": sha, "task": "segmentation-3d",
        "modality": "CT",
        "input": {"name": "image", "spacing": [2.0] * len(tile), "tile": list(tile), "channels": 1,
                  "orientation": "LPS", "normalization": {"type": "ct-window", "lo": -1000, "hi": 1000}},
        "labels": {str(k): v for k, v in labels.items()},
        "source": "test", "licence": "CC0", "intended_use": "Not for clinical use",
    }
    item.update(extra)
    return item


def write_manifest(folder: Path, items: list[dict]) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps({"format_version": 1, "models": items}, indent=1))
    return path
