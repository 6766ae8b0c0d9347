"""What every export script of a bundled model does: ONNX out, checked against PyTorch, into the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from workstation.ml.registry import builtin_models_dir


def export_onnx(model: torch.nn.Module, tile: Sequence[int], path: Path, *, input_name: str = "image",
                output_name: str = "logits") -> int:
    """Export ``model`` (eval mode) with a fixed tile and a free batch, opset 17; returns its parameter count.

    Checks ONNX Runtime's output against PyTorch's on random input (max abs difference < 1e-3).
    """
    import onnxruntime as ort

    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, *tile),), str(path), input_names=[input_name],
                      output_names=[output_name], dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
                      opset_version=17, dynamo=False)
    x = np.random.default_rng(0).random((2, 1, *tile), dtype=np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {input_name: x})[0]
    err = float(np.abs(got - ref).max())
    print(f"ONNX vs PyTorch max abs difference {err:.2e}")
    assert err < 1e-3
    return sum(p.numel() for p in model.parameters())


def write_manifest(entry: dict) -> Path:
    """Put ``entry`` into the built-in ``models/manifest.json`` (replacing the model of the same name)."""
    path = builtin_models_dir() / "manifest.json"
    data = json.loads(path.read_text()) if path.is_file() else {"format_version": 1, "models": []}
    data["models"] = [m for m in data["models"] if m.get("name") != entry["name"]] + [entry]
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
