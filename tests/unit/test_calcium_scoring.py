"""Agatston, volume and mass scores on analytic phantoms with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from calcium_phantoms import as_volume, blank, count_disc_pixels, disc_mask, reference_agatston
from workstation.analyses.base import InputError
from workstation.analyses.calcium.logic import run
from workstation.analyses.calcium.params import CalciumParams
from workstation.analyses.calcium.scoring import density_weight, interpolated_volume
from workstation.compute.backend import cpu_backend

CPU = cpu_backend()
ROOT = (0.0, 0.0, 0.0)  # a fixed root keeps these tests independent of root finding
NO_EXCLUDE = CalciumParams(aortic_root_mm=ROOT, auto_exclude=False)


@pytest.mark.parametrize("pixel_mm", [0.4, 0.7, 1.0])
def test_square_lesion_area_weight_and_score(pixel_mm: float) -> None:
    a = blank((5, 64, 64), pixel_mm, 3.0)
    a[2, 20:26, 30:37] = 350  # 6 x 7 pixels on one slice
    result = run(as_volume(a, pixel_mm, 3.0), NO_EXCLUDE, CPU)
    area = 42 * pixel_mm**2
    assert len(result.lesions) == 1
    les = result.lesions[0]
    assert les.area_mm2 == pytest.approx(area)
    assert les.peak_hu == 350 and les.weight == 3
    assert result.agatston_total == pytest.approx(area * 3)
    assert result.volume_mm3_total == pytest.approx(area * 3.0)
    assert result.mass_mg_total == pytest.approx(0.74 * 350 * area * 3.0 / 1000)
    assert les.slice_indices == (2,)


@pytest.mark.parametrize("pixel_mm,radius_px", [(0.4, 6.3), (0.7, 4.0), (1.0, 2.6)])
def test_disc_lesions_match_an_independent_pixel_count(pixel_mm: float, radius_px: float) -> None:
    a = blank((3, 48, 48), pixel_mm, 3.0)
    a[1][disc_mask(48, 48, 24.3, 22.6, radius_px)] = 520
    result = run(as_volume(a, pixel_mm, 3.0), NO_EXCLUDE, CPU)
    n = count_disc_pixels(24.3, 22.6, radius_px)
    assert result.lesions[0].n_voxels == n
    assert result.agatston_total == pytest.approx(n * pixel_mm**2 * 4)


@pytest.mark.parametrize(
    "hu,weight",
    [(129, 0), (130, 1), (199, 1), (200, 2), (299, 2), (300, 3), (399, 3), (400, 4), (1500, 4)],
)
def test_boundary_weights(hu: int, weight: int) -> None:
    a = blank((3, 32, 32), 1.0, 3.0)
    a[1, 10:13, 10:13] = hu  # 9 mm^2
    result = run(as_volume(a, 1.0, 3.0), NO_EXCLUDE, CPU)
    assert result.agatston_total == pytest.approx(9.0 * weight)
    assert len(result.lesions) == (1 if weight else 0)
    assert int(density_weight(float(hu))) == weight


def test_peak_sets_the_weight_and_threshold_sets_the_area() -> None:
    # Partial-volume edge: a 300 HU core, a 150 HU rim (counted), a 120 HU halo (not).
    a = blank((3, 32, 32), 0.5, 3.0)
    a[1, 8:17, 8:17] = 120
    a[1, 9:16, 9:16] = 150
    a[1, 11:14, 11:14] = 300
    result = run(as_volume(a, 0.5, 3.0), NO_EXCLUDE, CPU)
    assert result.lesions[0].area_mm2 == pytest.approx(49 * 0.25)
    assert result.lesions[0].weight == 3
    assert result.agatston_total == pytest.approx(49 * 0.25 * 3)
    assert result.mass_mg_total == pytest.approx(0.74 * (9 * 300 + 40 * 150) * 0.25 * 3.0 / 1000)


def test_min_area_drops_small_lesions_and_is_configurable() -> None:
    a = blank((3, 32, 32), 0.7, 3.0)
    a[1, 5, 5:7] = 500  # 2 px = 0.98 mm^2 < 1 mm^2
    a[1, 20, 20:23] = 500  # 3 px = 1.47 mm^2
    vol = as_volume(a, 0.7, 3.0)
    assert run(vol, NO_EXCLUDE, CPU).agatston_total == pytest.approx(3 * 0.49 * 4)
    everything = run(vol, CalciumParams(aortic_root_mm=ROOT, auto_exclude=False, min_area_mm2=0.0), CPU)
    assert everything.agatston_total == pytest.approx(5 * 0.49 * 4)
    b = blank((3, 32, 32), 1.0, 3.0)
    b[1, 5, 5] = 500  # exactly 1 mm^2: kept
    assert run(as_volume(b, 1.0, 3.0), NO_EXCLUDE, CPU).agatston_total == pytest.approx(4.0)


def test_eight_connectivity_in_plane_and_26_across_slices() -> None:
    a = blank((6, 32, 32), 1.0, 3.0)
    a[1, 5, 5] = a[1, 6, 6] = 250  # diagonal pixels: one 2D lesion of 2 mm^2
    a[2, 7, 7] = a[2, 7, 8] = 250  # diagonal to (1, 6, 6) on the next slice: same 3D lesion
    a[4, 20:22, 20:22] = 250  # two slices away from everything: its own lesion
    result = run(as_volume(a, 1.0, 3.0), NO_EXCLUDE, CPU)
    assert [les.slice_indices for les in result.lesions] == [(1, 2), (4,)]
    assert result.lesions[0].agatston == pytest.approx((2 + 2) * 2)


def test_increment_scaling_makes_1_5_mm_equal_to_3_mm() -> None:
    # A 6 mm tall prism of 5 x 4 mm at 420 HU, sampled at 3 mm and at 1.5 mm increments.
    thick = blank((4, 32, 32), 1.0, 3.0)
    thick[1:3, 10:15, 10:14] = 420
    thin = blank((8, 32, 32), 1.0, 1.5)
    thin[2:6, 10:15, 10:14] = 420
    r3 = run(as_volume(thick, 1.0, 3.0), NO_EXCLUDE, CPU)
    r15 = run(as_volume(thin, 1.0, 1.5), NO_EXCLUDE, CPU)
    assert r3.agatston_total == pytest.approx(2 * 20 * 4)
    assert r15.agatston_total == pytest.approx(4 * 20 * 4 * 1.5 / 3.0)
    assert r15.volume_mm3_total == pytest.approx(r3.volume_mm3_total) == pytest.approx(120.0)
    assert any("scaled by 1.5/3" in w for w in r15.warnings)
    assert not r3.warnings


def test_sphere_volume_and_interpolated_volume() -> None:
    a = blank((12, 40, 40), 0.5, 1.0)
    z, y, x = np.indices(a.shape)
    sphere = ((z - 6) * 1.0) ** 2 + ((y - 20) * 0.5) ** 2 + ((x - 20) * 0.5) ** 2 <= 3.0**2
    a[sphere] = 600
    # The poles are single 0.25 mm^2 pixels: keep them (min area 0) so all voxels count.
    params = CalciumParams(aortic_root_mm=ROOT, auto_exclude=False, min_area_mm2=0.0)
    voxel = run(as_volume(a, 0.5, 1.0), params, CPU)
    assert voxel.volume_mm3_total == pytest.approx(sphere.sum() * 0.25)
    areas = sphere.sum(axis=(1, 2))[sphere.any(axis=(1, 2))] * 0.25
    expected = sum(1.0 / 3 * (p + q + np.sqrt(p * q)) for p, q in zip(areas[:-1], areas[1:])) + 0.5 * (
        areas[0] + areas[-1]
    )
    interp = run(as_volume(a, 0.5, 1.0), CalciumParams(aortic_root_mm=ROOT, auto_exclude=False, min_area_mm2=0.0,
                                                       volume_method="interpolated"), CPU)
    assert interp.volume_mm3_total == pytest.approx(expected)
    assert interp.volume_mm3_total < voxel.volume_mm3_total  # the cones trim the ends
    assert interpolated_volume(np.array([7.0, 7.0, 7.0]), 2.0) == pytest.approx(42.0)
    assert interp.agatston_total == voxel.agatston_total


def test_matches_a_plain_loop_implementation_on_random_specks() -> None:
    rng = np.random.default_rng(3)
    a = blank((8, 64, 64), 0.6, 3.0)
    n = 400
    zz, yy, xx = rng.integers(0, 8, n), rng.integers(2, 62, n), rng.integers(0, 62, n)
    for z, y, x, hu in zip(zz, yy, xx, rng.integers(100, 700, n)):
        a[z, y : y + rng.integers(1, 3), x : x + rng.integers(1, 4)] = hu
    result = run(as_volume(a, 0.6, 3.0), NO_EXCLUDE, CPU)
    assert result.agatston_total == pytest.approx(reference_agatston(a, 0.6, 3.0))


def test_bone_is_excluded_by_length_and_distance() -> None:
    a = blank((20, 64, 64), 1.0, 3.0)
    a[:, 50:56, 50:56] = 700  # a 60 mm rod: bone, not a plaque
    a[10, 30:33, 30:33] = 300
    vol = as_volume(a, 1.0, 3.0)
    result = run(vol, CalciumParams(aortic_root_mm=ROOT), CPU)
    assert result.excluded_components == 1
    assert result.agatston_total == pytest.approx(9 * 3)
    far = run(vol, CalciumParams(aortic_root_mm=(500.0, 0.0, 0.0)), CPU)
    assert far.agatston_total == 0.0 and far.excluded_components == 2


def test_input_checks() -> None:
    a = blank((4, 16, 16), 1.0, 3.0)
    mr = as_volume(a, 1.0, 3.0)
    with pytest.raises(InputError, match="needs a CT"):
        run(type(mr)(a, spacing=mr.spacing, modality="MR"), NO_EXCLUDE, CPU)
    thick = run(as_volume(a, 1.0, 3.0, thickness=5.0), NO_EXCLUDE, CPU)
    assert any("exceeds 3 mm" in w for w in thick.warnings)
    raw = run(as_volume(np.full((4, 16, 16), 1064, np.int16), 1.0, 3.0), NO_EXCLUDE, CPU)
    assert any("without rescale" in w for w in raw.warnings)
    tilted = as_volume(a, 1.0, 3.0)
    c, s = np.cos(np.deg2rad(30)), np.sin(np.deg2rad(30))
    coronal = type(tilted)(a, spacing=tilted.spacing, modality="CT", direction=[[1, 0, 0], [0, c, -s], [0, s, c]])
    assert any("not axial" in w for w in run(coronal, NO_EXCLUDE, CPU).warnings)
    uneven = type(tilted)(a, spacing=tilted.spacing, modality="CT",
                          meta={"issues": ["uneven spacing: steps from 2.9 to 3.1 mm"]})
    assert "series: uneven spacing: steps from 2.9 to 3.1 mm" in run(uneven, NO_EXCLUDE, CPU).warnings


def test_artery_overrides_and_not_coronary() -> None:
    a = blank((4, 40, 40), 1.0, 3.0)
    a[1, 5:8, 5:8] = 250
    a[2, 30:32, 30:32] = 450
    result = run(as_volume(a, 1.0, 3.0), CalciumParams(aortic_root_mm=ROOT, auto_exclude=False,
                                                       artery_overrides={2: "LCX"}), CPU)
    assert result.lesions[1].artery == "LCX"
    moved = result.with_artery(1, "RCA")
    assert moved.per_artery()["RCA"]["agatston"] == pytest.approx(9 * 2)
    assert moved.per_artery()["LCX"]["agatston"] == pytest.approx(4 * 4)
    assert moved.cac_drs == "A1/N2"
    dropped = moved.with_artery(2, "none")
    assert dropped.agatston_total == pytest.approx(18.0)
    assert dropped.to_json()["parameters"]["artery_overrides"] == {"1": "RCA", "2": "none"}
    with pytest.raises(ValueError, match="unknown artery"):
        result.with_artery(1, "XYZ")
    assert result.lesion_at((1, 6, 6)) == 1 and result.lesion_at((0, 0, 0)) is None
    labels = result.label_volume("weight")
    assert labels[1, 6, 6] == 2 and labels[2, 30, 30] == 4 and labels.sum() == 9 * 2 + 4 * 4


def test_json_has_the_documented_fields() -> None:
    a = blank((3, 24, 24), 1.0, 3.0)
    a[1, 5:8, 5:8] = 250
    js = run(as_volume(a, 1.0, 3.0), NO_EXCLUDE, CPU).to_json()
    for key in ("agatston_total", "volume_mm3_total", "mass_mg_total", "per_artery", "lesions", "risk_category",
                "cac_drs", "percentile", "age", "sex", "device", "warnings", "parameters"):
        assert key in js
    assert set(js["per_artery"]) == {"LM", "LAD", "LCX", "RCA", "other"}
    assert js["lesions"][0]["slice_numbers"] == [2]  # array index 1: slice 2 as the viewer numbers it
    assert "from 1" in js["slice_numbering"]
    for key in ("id", "slice_numbers", "area_mm2", "peak_hu", "weight", "agatston", "volume_mm3", "mass_mg",
                "artery", "centroid_mm"):
        assert key in js["lesions"][0]
    assert js["percentile"] is None and js["device"] == "cpu"


def test_no_wrap_around_image_edges_and_empty_volumes() -> None:
    a = blank((4, 16, 16), 1.0, 3.0)
    a[1, 5, 15] = a[1, 5, 14] = 300  # right edge of row 5, slice 1
    a[2, 6, 0] = a[2, 6, 1] = 300  # left edge of row 6, slice 2: flat neighbour, not a voxel neighbour
    a[3, 15, 15] = a[3, 15, 14] = 300  # last slice, last row
    result = run(as_volume(a, 1.0, 3.0), NO_EXCLUDE, CPU)
    assert [les.slice_indices for les in result.lesions] == [(1,), (2,), (3,)]
    empty = run(as_volume(blank((3, 16, 16), 1.0, 3.0), 1.0, 3.0), NO_EXCLUDE, CPU)
    assert empty.lesions == () and empty.agatston_total == 0 and empty.cac_drs == "A0"
    assert empty.label_volume().sum() == 0


def test_float_volumes_score_like_integer_ones() -> None:
    a = blank((3, 24, 24), 0.5, 3.0)
    a[1, 5:9, 5:9] = 310
    r_int = run(as_volume(a, 0.5, 3.0), NO_EXCLUDE, CPU)
    r_float = run(as_volume(a.astype(np.float32) + 0.25, 0.5, 3.0), NO_EXCLUDE, CPU)
    assert r_float.agatston_total == r_int.agatston_total == pytest.approx(16 * 0.25 * 3)
    assert r_float.lesions[0].peak_hu == 310.25
