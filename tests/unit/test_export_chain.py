"""The GPU -> CPU -> library chain: forced failures fall back, once logged, within tolerance.

Tolerances: the CPU path equals the GPU path bit for bit (tests/gpu); the library
path (Pillow resize) is within 50 dB PSNR of it and the same size; lossless encoders
decode to identical pixels on every path, JPEG q90 to >= 38 dB of the source.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from resize_images import textured_rgb
from skimage.metrics import peak_signal_noise_ratio

from workstation.compute.backend import Backend, GpuError, cpu_backend
from workstation.export import encode as encode_module
from workstation.export import resizing
from workstation.export.chain import ExportStageError, Step, run_chain
from workstation.export.encode import EncodeSettings, encode
from workstation.export.frames import Frame
from workstation.export.images import export_images
from workstation.export.options import ImageOptions


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Backend:
    """A backend the chain believes is a GPU, whose GPU paths raise a CUDA error."""

    def broken(*args: object) -> None:
        raise GpuError("CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure")

    monkeypatch.setattr(resizing, "_gpu", broken)
    monkeypatch.setattr(resizing, "_gpu_unavailable", lambda backend: None)
    monkeypatch.setattr(encode_module, "_gpu", broken)
    monkeypatch.setattr(encode_module, "_gpu_unavailable", lambda backend: None)
    return cpu_backend()


def _ct(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(2)
    z, y, x = np.mgrid[:n, :200, :240]
    disc = ((y - 100) ** 2 + (x - 120) ** 2 < (40 + 5 * z) ** 2) * 900
    return (disc - 1000 + rng.normal(0, 20, disc.shape)).astype(np.int16)


def test_forced_gpu_failure_falls_back_to_the_same_pixels(fake_gpu: Backend, caplog: pytest.LogCaptureFixture) -> None:
    values = _ct()
    window = (1500.0, -600.0, np.uint8)
    expected, path = resizing.resize_frames(values, (100, 120), "lanczos3", cpu_backend(), window=window)
    assert path == "cpu"
    notices: list[dict[str, str]] = []
    with caplog.at_level(logging.WARNING, logger="workstation.export.chain"):
        for _ in range(3):
            got, path = resizing.resize_frames(values, (100, 120), "lanczos3", fake_gpu, window=window,
                                               notices=notices)
            assert path == "cpu"
            np.testing.assert_array_equal(got, expected)
    failures = [r for r in caplog.records if "gpu path failed" in r.getMessage()]
    assert len(failures) == 1 and "CUDA_ERROR_LAUNCH_FAILED" in failures[0].getMessage()
    assert notices == [{"stage": "resize", "step": "gpu", "reason": "GpuError: CUDA_ERROR_LAUNCH_FAILED: "
                        "unspecified launch failure"}]


def test_library_path_is_within_tolerance(fake_gpu: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    image = textured_rgb(300, 400)[None]
    expected, _ = resizing.resize_frames(image, (150, 200), "lanczos3", cpu_backend())

    def out_of_memory(*args: object) -> None:
        raise MemoryError("cannot allocate the intermediate rows")

    monkeypatch.setattr(resizing, "_cpu", out_of_memory)
    got, path = resizing.resize_frames(image, (150, 200), "lanczos3", fake_gpu)
    assert path == "library" and got.shape == expected.shape and got.dtype == expected.dtype
    assert peak_signal_noise_ratio(expected, got) >= 50.0


def test_16_bit_library_path(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _ct(1)
    window = (400.0, 40.0, np.uint16)
    expected, _ = resizing.resize_frames(values, (67, 80), "catmull-rom", cpu_backend(), window=window)
    monkeypatch.setattr(resizing, "_cpu", lambda *a: (_ for _ in ()).throw(RuntimeError("broken")))
    got, path = resizing.resize_frames(values, (67, 80), "catmull-rom", cpu_backend(), window=window)
    assert path == "library" and got.dtype == np.uint16
    assert np.sqrt(np.mean((expected.astype(float) - got) ** 2)) <= 65535 * 10 ** (-50 / 20)  # >= 50 dB


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("fmt,lossless", [("png", True), ("webp", True), ("jpeg", False), ("webp", False)])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_every_encoder_path_decodes_to_the_expected_size(
    fake_gpu: Backend, monkeypatch: pytest.MonkeyPatch, fmt: str, lossless: bool, channels: int | None
) -> None:
    rgb = textured_rgb(90, 130)
    image = rgb[..., 0] if channels is None else rgb if channels == 3 else np.dstack([rgb, np.full((90, 130), 255,
                                                                                                    np.uint8)])
    settings = EncodeSettings(format=fmt, lossless=lossless, quality=90, subsampling="4:4:4")
    outputs = {}
    data, path = encode(image, settings, fake_gpu)
    outputs[path] = _decode(data)
    monkeypatch.setattr(encode_module, "_pillow", lambda *a: (_ for _ in ()).throw(OSError("encoder broken")))
    data, path = encode(image, settings, fake_gpu)
    outputs[path] = _decode(data)
    assert set(outputs) == {"cpu", "library"}
    for decoded in outputs.values():
        assert decoded.shape[:2] == (90, 130)
        grey = decoded if decoded.ndim == 2 else decoded[..., 0] if channels is None else decoded[..., :3]
        source = image if channels is None else image[..., :3]
        if lossless:
            np.testing.assert_array_equal(grey, source)
        else:
            assert peak_signal_noise_ratio(source, grey) >= 36.0


def test_16_bit_png_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    image = (np.arange(64 * 80, dtype=np.uint32).reshape(64, 80) * 13 % 65536).astype(np.uint16)
    settings = EncodeSettings(format="png")
    first, path = encode(image, settings, cpu_backend())
    assert path == "cpu"
    monkeypatch.setattr(encode_module, "_pillow", lambda *a: (_ for _ in ()).throw(OSError("broken")))
    second, path = encode(image, settings, cpu_backend())
    assert path == "library"
    for data in (first, second):
        np.testing.assert_array_equal(_decode(data), image)


def test_formats_refuse_what_they_cannot_hold() -> None:
    with pytest.raises(ValueError, match="grey-scale PNG only"):
        encode(np.zeros((4, 4), np.uint16), EncodeSettings(format="jpeg"), cpu_backend())
    with pytest.raises(ValueError, match="quality"):
        EncodeSettings(format="jpeg", quality=0)
    with pytest.raises(ValueError, match="16-bit output is for PNG"):
        ImageOptions(format="webp", bit_depth=16)


def test_a_chain_with_no_working_step_names_every_reason() -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("no")

    with pytest.raises(ExportStageError, match="gpu: not here; cpu: RuntimeError: no"):
        run_chain("encode", [Step("gpu", fail, lambda: "not here"), Step("cpu", fail)])


def test_export_json_says_which_path_ran(fake_gpu: Backend, tmp_path: Path) -> None:
    frames = [Frame(v, f"series-001_instance-{k + 1:04d}", window=(400.0, 40.0)) for k, v in enumerate(_ct(3))]
    options = ImageOptions(format="jpeg", scale=0.5)
    result = export_images(frames, options, tmp_path, fake_gpu)
    result.write_manifest()
    manifest = json.loads((tmp_path / "export.json").read_text())
    assert manifest["paths"] == {"resize": {"cpu": 3}, "encode": {"cpu": 3}}
    assert {(n["stage"], n["step"]) for n in manifest["fallbacks"]} == {("resize", "gpu"), ("encode", "gpu")}
    cpu = export_images(frames, options, tmp_path / "cpu", cpu_backend())
    for a, b in zip(result.files, cpu.files):
        assert (a["width"], a["height"]) == (b["width"], b["height"]) == (120, 100)
        assert (tmp_path / a["file"]).read_bytes() == (tmp_path / "cpu" / b["file"]).read_bytes()
