"""The CUDA resize kernels give the NumPy twin's bits, for every dtype, kernel, layout."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.compute.resize import KERNELS, resize_batch

pytestmark = pytest.mark.gpu


def _images(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(7)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("layout", [(2, 61, 83), (2, 61, 83, 1), (2, 61, 83, 3), (1, 61, 83, 4)])
@pytest.mark.parametrize("out", [(20, 31), (61, 200), (150, 40)])
def test_parity(cp, kernel: str, dtype: type, layout: tuple[int, ...], out: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    host = _images(dtype, layout)
    expected = resize_batch(host, out, kernel=kernel)
    got = resize_batch(cp.asarray(host), out, kernel=kernel)
    assert isinstance(got, cp.ndarray) and got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(cp.asnumpy(got), expected)


def test_large_batch_loops_over_the_grid(cp) -> None:  # type: ignore[no-untyped-def]
    """300 CT slices to 256x256: 76 800 output rows, more than one grid's 65 535."""
    host = _images(np.uint8, (300, 512, 512))
    got = resize_batch(cp.asarray(host), (256, 256))
    np.testing.assert_array_equal(cp.asnumpy(got), resize_batch(host, (256, 256)))


def test_4k_to_hd_rgb(cp) -> None:  # type: ignore[no-untyped-def]
    host = _images(np.uint8, (1, 2160, 3840, 3))
    got = resize_batch(cp.asarray(host), (1080, 1920))
    np.testing.assert_array_equal(cp.asnumpy(got), resize_batch(host, (1080, 1920)))


def test_export_chain_uses_the_gpu(cp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a working GPU the export's resize runs there and equals the CPU's output."""
    from workstation.compute.backend import cpu_backend, select_backend
    from workstation.export.resizing import resize_frames

    host = _images(np.uint8, (3, 512, 512))
    gpu_out, gpu_path = resize_frames(host, (256, 256), "lanczos3", select_backend("cuda"))
    cpu_out, cpu_path = resize_frames(host, (256, 256), "lanczos3", cpu_backend())
    assert (gpu_path, cpu_path) == ("gpu", "cpu")
    np.testing.assert_array_equal(gpu_out, cpu_out)


def test_jpeg_on_the_gpu(cp) -> None:  # type: ignore[no-untyped-def]
    """nvImageCodec's nvJPEG encoder: same size as Pillow's JPEG, as close to the source."""
    pytest.importorskip("nvidia.nvimgcodec")
    import io

    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    from workstation.compute.backend import cpu_backend, select_backend
    from workstation.export import encode as encode_module
    from workstation.export.encode import EncodeSettings

    backend = select_backend("cuda")
    image = _images(np.uint8, (1, 64, 64, 3))[0].repeat(4, axis=0).repeat(4, axis=1)  # blocky, compressible
    settings = EncodeSettings(format="jpeg", quality=90, subsampling="4:4:4")
    try:
        gpu = encode_module._gpu(image, settings, backend)
    except RuntimeError as exc:
        pytest.skip(f"nvImageCodec loads but has no GPU JPEG encoder here (nvJPEG missing): {exc}")
    data, path = encode_module.encode(image, settings, backend)
    assert path == "gpu" and data[:2] == b"\xff\xd8"
    pillow, _ = encode_module.encode(image, settings, cpu_backend())
    ours, theirs = (np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in (gpu, pillow))
    assert ours.shape == theirs.shape == image.shape
    assert peak_signal_noise_ratio(image, ours) >= peak_signal_noise_ratio(image, theirs) - 3.0


@pytest.mark.parametrize("layout", [(1, 2160, 3840, 3), (1, 97, 131), (7, 64, 80), (300, 64, 64, 1)])
@pytest.mark.parametrize("pieces", [1, 3, 4])
@pytest.mark.parametrize("pinned", [True, False])
def test_host_to_host_in_overlapped_pieces_gives_the_twins_bits(cp, layout: tuple[int, ...], pieces: int,  # type: ignore[no-untyped-def]
                                                               pinned: bool) -> None:
    from workstation.compute.resize_cuda import resize_host_gpu
    from workstation.compute.transfer import pinned_empty

    host = _images(np.uint8, layout)
    shape = (max(1, layout[1] // 2), max(1, layout[2] // 2 + 3))
    expected = resize_batch(host, shape)
    if pinned:
        source = pinned_empty(host.shape, host.dtype)
        source[...] = host
        out = pinned_empty(expected.shape, expected.dtype)
        got = resize_host_gpu(source, shape, out=out, pieces=pieces)
        assert got is out
    else:
        got = resize_host_gpu(host, shape, pieces=pieces)
    np.testing.assert_array_equal(got, expected)


def test_host_to_host_float_and_16_bit(cp) -> None:  # type: ignore[no-untyped-def]
    from workstation.compute.resize_cuda import resize_host_gpu

    for dtype in (np.uint16, np.int16, np.float64):
        host = _images(dtype, (1, 301, 257, 1))
        np.testing.assert_array_equal(resize_host_gpu(host, (120, 500), kernel="catmull-rom"),
                                      resize_batch(host, (120, 500), kernel="catmull-rom"))
