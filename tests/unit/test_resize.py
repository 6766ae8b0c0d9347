"""Separable resize (NumPy twin) against libvips, Pillow, a float64 reference and a zone plate.

Thresholds on an 8-bit RGB texture of 768x1024 at scales 0.25, 0.5, 0.75 (shrink) and
1.5, 2 (enlarge); measured values in brackets.  libvips enlarges differently (38-41 dB
from both us and Pillow), so it is compared when shrinking only.

=============  ==========================  ===========================  ================
kernel         vs libvips, shrink          vs Pillow, all scales        zone plate 1/4
=============  ==========================  ===========================  ================
lanczos3       >= 48 dB (51.4-56.0),       >= 50 dB (54.4-57.4),        <= -20 dB (-23)
               SSIM >= 0.999 (0.9994+)     SSIM >= 0.997 (0.9980+)
catmull-rom    >= 50 dB (54.9-57.9)        >= 50 dB (54.5-57.6)         <= -20 dB (-22)
bilinear       >= 50 dB (54.3-58.2)        >= 50 dB (53.7-57.6)         <= -20 dB (-24)
=============  ==========================  ===========================  ================

OpenCV's ``INTER_LANCZOS4`` (no widening) leaves 0 dB of ripple on the same zone
plate: it would fail the aliasing test.
"""

from __future__ import annotations

import numpy as np
import pytest
from resize_images import (
    reference_resize,
    ripple_db,
    textured_rgb,
    zone_plate,
    zone_plate_frequency,
)
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from workstation.compute.resize import (
    KERNELS,
    filter_weights,
    fit_shape,
    resize,
    resize_batch,
)

SCALES = (0.25, 0.5, 0.75, 1.5, 2.0)
VIPS_KERNEL = {"lanczos3": "lanczos3", "catmull-rom": "cubic", "bilinear": "linear"}


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return textured_rgb(768, 1024)


def _shape(scale: float) -> tuple[int, int]:
    return round(768 * scale), round(1024 * scale)


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=-1, data_range=255))


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("scale", [s for s in SCALES if s < 1])
def test_matches_libvips_when_shrinking(texture: np.ndarray, kernel: str, scale: float) -> None:
    pyvips = pytest.importorskip("pyvips")
    oh, ow = _shape(scale)
    vips = pyvips.Image.new_from_array(texture).resize(ow / 1024, vscale=oh / 768, kernel=VIPS_KERNEL[kernel], gap=0.0)
    theirs = vips.numpy()
    ours = resize(texture, (oh, ow), kernel=kernel)
    assert theirs.shape == ours.shape
    floor = 48.0 if kernel == "lanczos3" else 50.0
    assert peak_signal_noise_ratio(theirs, ours) >= floor
    assert _ssim(theirs, ours) >= 0.999


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("scale", SCALES)
def test_matches_pillow(texture: np.ndarray, kernel: str, scale: float) -> None:
    from PIL import Image

    filters = {"lanczos3": Image.Resampling.LANCZOS, "catmull-rom": Image.Resampling.BICUBIC,
               "bilinear": Image.Resampling.BILINEAR}
    oh, ow = _shape(scale)
    theirs = np.asarray(Image.fromarray(texture).resize((ow, oh), filters[kernel]))
    ours = resize(texture, (oh, ow), kernel=kernel)
    assert peak_signal_noise_ratio(theirs, ours) >= 50.0
    assert _ssim(theirs, ours) >= (0.999 if scale < 1 else 0.997)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("shape", [(192, 256), (301, 157), (1100, 1300)])
def test_float_path_matches_float64_reference(texture: np.ndarray, kernel: str, shape: tuple[int, int]) -> None:
    values = texture[:300, :400].astype(np.float64) / 255.0
    ours = resize(values, shape, kernel=kernel)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_resize(values, shape, kernel), atol=2e-6, rtol=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_identity_at_scale_one(dtype: type) -> None:
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    image = (rng.integers(info.min, info.max, size=(37, 53, 3), endpoint=True) if info
             else rng.normal(size=(37, 53, 3))).astype(dtype)
    for kernel in KERNELS:
        out = resize(image, (37, 53), kernel=kernel)
        np.testing.assert_array_equal(out, image.astype(out.dtype))


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("dtype,value", [(np.uint8, 0), (np.uint8, 255), (np.uint8, 137), (np.uint16, 65535),
                                         (np.int16, -1024), (np.float32, 0.3)])
def test_constant_stays_constant(kernel: str, dtype: type, value: float) -> None:
    image = np.full((41, 67), value, dtype=dtype)
    for shape in ((10, 17), (41, 67), (97, 203), (13, 300)):
        out = resize(image, shape, kernel=kernel)
        if np.dtype(dtype).kind == "f":
            np.testing.assert_allclose(out, value, rtol=1e-6)
        else:
            assert np.all(out == value), (shape, np.unique(out))


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_zone_plate_does_not_alias(kernel: str) -> None:
    image, k = zone_plate(1024)
    out = resize(image, (256, 256), kernel=kernel)
    local = zone_plate_frequency(1024, 256, k)
    assert ripple_db(out, local > 0.6) <= -20.0  # beyond the new Nyquist: flat grey, not aliases
    assert abs(ripple_db(out, local < 0.25)) <= 1.0  # well inside the pass band: full contrast


def test_weights_widen_when_shrinking() -> None:
    for kernel, (radius, _) in KERNELS.items():
        up = filter_weights(100, 250, kernel)
        down = filter_weights(400, 100, kernel)
        assert up.taps <= 2 * radius + 1
        assert down.taps >= 2 * radius * 4 - 1
        for w in (up, down):
            np.testing.assert_allclose(w.weights.sum(axis=1), 1.0, atol=1e-6)


def test_pixel_centres_are_aligned() -> None:
    """A bright column at input x maps to output x' = (x + 0.5) * out/in - 0.5, both ways."""
    image = np.zeros((8, 400), np.float32)
    image[:, 201] = 1.0
    out = resize(image, (8, 100), kernel="bilinear")[0]
    centroid = float((out * np.arange(100)).sum() / out.sum())
    assert centroid == pytest.approx((201 + 0.5) / 4 - 0.5, abs=1e-3)


def test_clipping_and_dtypes() -> None:
    step = np.zeros((16, 64), np.uint8)
    step[:, 32:] = 255
    out = resize(step, (16, 150))  # Lanczos rings over- and undershoot: clipped, not wrapped
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert out[0, 0] == 0 and out[0, -1] == 255
    hu = np.where(step > 0, 3000, -1024).astype(np.int16)
    out16 = resize(hu, (16, 150))
    assert out16.dtype == np.int16 and out16.min() < -1024 and out16.max() > 3000  # ringing kept in range


@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_batch_equals_single_images(channels: int | None) -> None:
    rng = np.random.default_rng(5)
    shape = (3, 40, 50) + (() if channels is None else (channels,))
    batch = rng.integers(0, 256, size=shape).astype(np.uint8)
    out = resize_batch(batch, (17, 90))
    assert out.shape == (3, 17, 90) + (() if channels is None else (channels,))
    for i in range(3):
        np.testing.assert_array_equal(out[i], resize(batch[i], (17, 90)))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown resize kernel"):
        resize(np.zeros((4, 4), np.uint8), (2, 2), kernel="mitchell")
    with pytest.raises(TypeError, match="not int32"):
        resize(np.zeros((4, 4), np.int32), (2, 2))
    with pytest.raises(ValueError, match="channels"):
        resize_batch(np.zeros((1, 4, 4, 2), np.uint8), (2, 2))
    with pytest.raises(ValueError, match="at least 1x1"):
        resize(np.zeros((4, 4), np.uint8), (0, 2))


def test_fit_shape() -> None:
    assert fit_shape(512, 512) == (512, 512)
    assert fit_shape(512, 512, scale=0.5) == (256, 256)
    assert fit_shape(100, 512, pixel_aspect=5.0) == (500, 512)  # thick coronal slices shown to scale
    assert fit_shape(512, 1024, size=(256, 256)) == (128, 256)  # fits inside the box
    assert fit_shape(512, 1024, size=(0, 100)) == (100, 200)
    with pytest.raises(ValueError):
        fit_shape(10, 10, size=(5, 5), scale=2.0)
