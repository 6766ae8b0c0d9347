"""Cardiac measurements from labels: discs, limits, ED/ES, mass, segments, contours, clean-up.

References: the phantom's exact volumes (an independent integral of its shapes),
hand-computed disc sums, and label stacks built here with known areas.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from workstation.analyses.cardiac_function import kernel, volumes
from workstation.analyses.cardiac_function.bullseye import render
from workstation.analyses.cardiac_function.contours import apply_border, border_mask, outline, resample
from workstation.analyses.cardiac_function.measure import bsa_m2, measure
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import cine_input
from workstation.analyses.cardiac_function.regional import Segment, segments
from workstation.compute.backend import cpu_backend
from workstation.compute.windowing import jet
from workstation.demo.cardiac_phantom import generate_cine


@pytest.fixture(scope="module")
def case():  # type: ignore[no-untyped-def]
    return generate_cine(31, n_slices=13, n_phases=14, rows=176, cols=176, pixel_mm=1.7, thickness_mm=7.0,
                         gap_mm=2.0, heart_rate_bpm=72.0)


def test_true_labels_measure_the_phantom_within_the_disc_error(case) -> None:  # type: ignore[no-untyped-def]
    m = measure(case.labels, cine_input(case.series(), sex="F"), CardiacParams(), cpu_backend())
    t = case.truth
    assert (m.lv.ed_phase, m.lv.es_phase) == (case.ed_phase, case.es_phase)
    assert m.lv.edv_ml == pytest.approx(t["lv_edv_ml"], rel=0.03)
    assert m.lv.esv_ml == pytest.approx(t["lv_esv_ml"], rel=0.04)
    assert abs(m.lv.ef_pct - t["lv_ef_pct"]) < 1.5
    assert m.lv.mass_g == pytest.approx(t["lv_mass_g"], rel=0.07)
    assert m.rv.edv_ml == pytest.approx(t["rv_edv_ml"], rel=0.05)
    assert m.lv.co_l_min == pytest.approx(m.lv.sv_ml * 72.0 / 1000.0, rel=1e-3)
    assert m.lv.bsa_m2 == pytest.approx(np.sqrt(175.0 * 75.0 / 3600.0))
    assert len(m.lv_curve_ml) == 14 and m.lv_curve_ml[case.ed_phase] == max(m.lv_curve_ml)


def test_reader_limits_and_phases_override_the_automatic_ones(case) -> None:  # type: ignore[no-untyped-def]
    cine = cine_input(case.series())
    auto = measure(case.labels, cine, CardiacParams(), cpu_backend())
    ed_limits = auto.lv_limits[auto.lv.ed_phase]
    one_less = ed_limits.basal + (-1 if auto.base_high else 1)  # drop the basal slice at ED
    params = CardiacParams(basal_slice_ed=one_less, es_phase=auto.lv.es_phase + 1)
    m = measure(case.labels, cine, params, cpu_backend())
    dropped = (case.labels[auto.lv.ed_phase, ed_limits.basal] == 1).sum() * 1.7 ** 2 * cine.spacing_mm / 1000.0
    assert m.lv.edv_ml == pytest.approx(auto.lv.edv_ml - dropped, rel=1e-6)
    assert m.lv.es_phase == auto.lv.es_phase + 1 and m.lv.esv_ml > auto.lv.esv_ml
    with pytest.raises(ValueError, match="outside the stack"):
        measure(case.labels, cine, CardiacParams(apical_slice_es=40), cpu_backend())
    with pytest.raises(ValueError, match="ED phase 99 is outside"):
        measure(case.labels, cine, CardiacParams(ed_phase=99), cpu_backend())


def test_summation_of_discs_fills_a_missing_slice_with_its_neighbours() -> None:
    areas = np.array([0.0, 100.0, 200.0, 300.0, 0.0])
    regular = volumes.disc_volume_ml(areas, [0, 10, 20, 30, 40], volumes.Limits(3, 1))
    assert regular == pytest.approx((100 + 200 + 300) * 10 / 1000.0)
    gapped = np.array([0.0, 100.0, 300.0, 0.0])  # the slice at 20 mm is missing
    with_gap = volumes.disc_volume_ml(gapped, [0, 10, 30, 40], volumes.Limits(2, 1))
    assert with_gap == pytest.approx((100 + 300) * 10 / 1000.0 + 10 * 200 / 1000.0)
    assert volumes.gaps([0, 10, 30, 40]) == [(1, 20.0)]


def test_basal_limit_needs_myocardium_around_the_blood_pool() -> None:
    area = np.array([[0, 50.0, 200, 300, 320, 310]])
    coverage = np.array([[0, 1.0, 1.0, 1.0, 0.8, 0.3]])  # the basal-most section is mostly atrium
    (lim,) = volumes.auto_limits(area, coverage, base_high=True, min_coverage=0.5)
    assert (lim.basal, lim.apical) == (4, 1)
    assert volumes.base_at_high_index(area[0]) and not volumes.base_at_high_index(area[0, ::-1])


def test_clean_up_keeps_one_of_each_and_fills_papillary_holes() -> None:
    plane = np.zeros((1, 40, 40), np.uint8)
    yy, xx = np.mgrid[0:40, 0:40]
    r = np.hypot(yy - 20, xx - 20)
    plane[0][r < 12] = 2
    plane[0][r < 8] = 1
    plane[0][(yy - 20) ** 2 + (xx - 17) ** 2 < 3] = 2  # a papillary muscle inside the blood pool
    plane[0, 2:4, 2:4] = 1  # a stray LV speck
    plane[0, 35:38, 30:38] = 3
    plane[0, 1, 35] = 3  # a stray RV speck
    clean = kernel.clean_labels(plane, ndi)
    assert clean[0, 2, 2] == 0 and clean[0, 1, 35] == 0
    assert clean[0, 20, 17] == 1  # the hole is blood pool
    assert (clean == 2).sum() == ((r >= 8) & (r < 12)).sum()
    counts = kernel.pixel_counts(clean)
    assert counts[0, 1] == (r < 8).sum() and counts[0, 3] == 24 and counts.sum() == 1600


def test_a_papillary_muscle_on_the_wall_joins_the_blood_pool_and_a_smooth_wall_stays() -> None:
    yy, xx = np.mgrid[0:40, 0:40]
    r = np.hypot(yy - 20, xx - 20)
    ring = np.zeros((1, 40, 40), np.uint8)
    ring[0][r < 12] = 2
    ring[0][r < 8] = 1
    muscle = (np.abs(yy - 20) <= 1) & (xx >= 23) & (r < 8)  # 3 pixels wide, reaching from the wall into the pool
    plane = ring.copy()
    plane[0][muscle] = 2
    assert (kernel.clean_labels(plane, ndi)[0][muscle] == 2).all()  # no closing: the muscle is myocardium
    closed = kernel.clean_labels(plane, ndi, papillary_px=3)
    assert (closed[0][muscle] == 1).sum() >= 0.7 * muscle.sum()
    assert ((closed == 2) == (ring == 2) | ((closed == 2) & muscle[None])).all()  # the wall itself is untouched
    smooth = kernel.clean_labels(ring, ndi, papillary_px=3)
    np.testing.assert_array_equal(smooth, ring)  # a convex pool has no concavity to close


def _rings(thickness_of_angle, n_slices: int = 6) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Label planes of an LV ring whose wall thickness (pixels) depends on the angle; RV on the left."""
    yy, xx = np.mgrid[0:100, 0:100]
    r, theta = np.hypot(yy - 50, xx - 50), np.arctan2(yy - 50, xx - 50)
    plane = np.zeros((100, 100), np.uint8)
    plane[r < 15 + thickness_of_angle(theta)] = 2
    plane[r < 15] = 1
    plane[(np.abs(xx - 18) < 8) & (np.abs(yy - 50) < 20)] = 3
    return np.repeat(plane[None], n_slices, axis=0)


def test_aha_segments_find_the_thin_sector_and_its_thickening() -> None:
    # columns run toward the patient's left, rows toward posterior (image up is anterior); the RV
    # (septum) is on the image's left; 1 mm pixels
    direction = np.eye(3)
    ed = _rings(lambda t: np.full(t.shape, 8.0))
    es = _rings(lambda t: np.where(np.abs(np.angle(np.exp(1j * (t + np.pi / 2)))) < np.pi / 6, 8.0, 12.0))
    found = {s.number: s for s in segments(ed, es, range(6), True, (1.0, 1.0), direction)}
    for n in range(1, 17):
        assert found[n].ed_mm == pytest.approx(8.0, abs=1.0), n
    thin = min(range(1, 17), key=lambda n: found[n].thickening_pct)  # type: ignore[arg-type, return-value]
    assert thin in (1, 7, 13)  # anterior: basal, mid, apical
    assert found[1].thickening_pct < 15.0 and found[4].thickening_pct == pytest.approx(50.0, abs=12.0)
    assert found[17].ed_mm is None


def test_bullseye_colours_each_segment_by_thickening() -> None:
    segs = [Segment(n, "", 10.0, 10.0 + n) for n in range(1, 17)] + [Segment(17, "apex", None, None)]
    rgb = render(segs, 200, lo=0.0, hi=80.0)
    assert rgb.shape == (200, 200, 3)

    def expected(pct: float) -> tuple[int, ...]:
        return tuple(int(round(v * 255)) for v in jet(np.array([pct / 80.0]))[0])

    r = 0.48 * 200  # outer radius in pixels
    # sample beside the printed numbers: anterior basal (1, 10 %) at the top, inferior basal (4, 40 %) at the
    # bottom, septal apical (14, 140 % -> the top of the scale) left of the centre, the apex (17) not measured
    assert tuple(rgb[int(100 - 0.8 * r), 112]) == expected(10.0)
    assert tuple(rgb[int(100 + 0.8 * r), 112]) == expected(40.0)
    assert tuple(rgb[88, int(100 - 0.3 * r)]) == expected(80.0)
    assert tuple(rgb[92, 106]) == (110, 110, 110)


def test_dragging_the_endocardium_inward_thickens_the_wall() -> None:
    plane = _rings(lambda t: np.full(t.shape, 8.0), 1)[0]
    points = resample(outline(border_mask(plane, "LV endocardium")))  # type: ignore[arg-type]
    smaller = 50 + (points - 50) * 0.7
    edited = apply_border(plane, "LV endocardium", smaller)
    assert (edited == 1).sum() == pytest.approx(0.49 * (plane == 1).sum(), rel=0.1)
    assert border_mask(edited, "LV epicardium").sum() == border_mask(plane, "LV epicardium").sum()
    assert ((edited == 3) == (plane == 3)).all()


def test_body_surface_area_is_mosteller() -> None:
    assert bsa_m2(1.78, 80.0) == pytest.approx(np.sqrt(178 * 80 / 3600.0))
    assert bsa_m2(None, 80.0) is None and bsa_m2(17.8, 80.0) is None  # height in cm by mistake


def test_elongated_sections_and_a_wrong_phase_count_are_warned(case) -> None:  # type: ignore[no-untyped-def]
    series = case.series()
    series.meta["cardiac_number_of_images"] = 20
    cine = cine_input(series)
    assert any("the header says 20 phases per slice; 14 were found" in n for n in cine.notes)
    yy, xx = np.mgrid[0:176, 0:176]
    ellipse = ((yy - 88) / 12.0) ** 2 + ((xx - 88) / 40.0) ** 2  # a long-axis-like LV section
    plane = np.where(ellipse < 1.0, 1, np.where(ellipse < 1.6, 2, 0)).astype(np.uint8)
    labels = np.zeros_like(case.labels)
    labels[:, 2:11] = plane
    m = measure(labels, cine, CardiacParams(), cpu_backend())
    assert any("elongated" in w and "not be short-axis" in w for w in m.warnings)
    assert any("no RV blood pool found" in w for w in m.warnings)


def test_holes_are_filled_per_plane_as_scipy_fills_them() -> None:
    import scipy.ndimage as ndi

    from workstation.analyses.cardiac_function import kernel

    rng = np.random.default_rng(3)
    plane = np.zeros((3, 3, 3), dtype=bool)
    plane[1] = ndi.generate_binary_structure(2, 1)
    for _ in range(10):
        mask = ndi.binary_dilation(rng.random((5, 40, 50)) > 0.93, structure=plane, iterations=int(rng.integers(1, 3)))
        np.testing.assert_array_equal(kernel.fill_holes_per_plane(mask, ndi), ndi.binary_fill_holes(mask, plane))
