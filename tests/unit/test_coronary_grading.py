"""Stenosis grading from diameter profiles, CAD-RADS, vessel names, point text, centreline geometry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workstation.analyses.coronary_cta.centerline import frames, resample
from workstation.analyses.coronary_cta.naming import cad_rads, suggest, territory, unique
from workstation.analyses.coronary_cta.params import CoronaryParams
from workstation.analyses.coronary_cta.points import format_points, parse_names, parse_points
from workstation.analyses.coronary_cta.stenosis import find_stenoses, grade, reference_profile
from workstation.core.params import specs, with_overrides


@pytest.mark.parametrize("percent,expected", [(0.0, "none"), (0.5, "minimal"), (24.9, "minimal"), (25.0, "mild"),
                                              (49.9, "mild"), (50.0, "moderate"), (69.9, "moderate"),
                                              (70.0, "severe"), (99.0, "severe"), (100.0, "occluded")])
def test_scct_2014_grades(percent: float, expected: str) -> None:
    assert grade(percent) == expected


def _profile(n: int = 241, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    s = np.arange(n) * step
    return s, 3.6 - 1.6 * s / s[-1]  # a vessel tapering from 3.6 to 2.0 mm


def test_a_dip_in_a_tapering_profile_is_graded_against_the_interpolated_reference() -> None:
    s, d = _profile()
    u = np.abs(s - 40.0) / 4.5  # 9 mm long around 40 mm: flat middle third, cosine shoulders
    dip = np.where(u < 1.0, 0.5 * (1.0 + np.cos(np.pi * np.clip((u - 1.0 / 3.0) * 1.5, 0.0, 1.0))), 0.0)
    narrowed = d * (1.0 - 0.6 * dip)
    area = np.pi * narrowed**2 / 4.0
    found, ref = find_stenoses(s, narrowed, area, 20.0)
    (st,) = found
    expected_ref = 3.6 - 1.6 * 40.0 / s[-1]
    assert st.position_mm == pytest.approx(40.0, abs=0.5)
    assert st.reference_diameter_mm == pytest.approx(expected_ref, rel=0.02)
    assert st.percent_diameter == pytest.approx(60.0, abs=1.0)
    assert st.percent_area == pytest.approx(100.0 * (1.0 - 0.4**2), abs=2.0)
    assert st.grade == "moderate"
    # narrowed by at least 10 %: where 0.6 depth >= 0.1, i.e. u <= 1/3 + (2/3) acos(-2/3) / pi
    assert st.length_mm == pytest.approx(9.0 * (1.0 / 3.0 + 2.0 / 3.0 * np.arccos(-2.0 / 3.0) / np.pi), abs=1.0)
    np.testing.assert_allclose(ref, d, rtol=0.02)


def test_noise_and_unmeasured_sections_make_no_lesion() -> None:
    s, d = _profile()
    rng = np.random.default_rng(0)
    noisy = d * (1.0 + rng.normal(0.0, 0.03, d.shape))
    noisy[100:104] = np.nan  # a side branch: not measured
    found, ref = find_stenoses(s, noisy, np.pi * noisy**2 / 4, 20.0)
    assert found == []
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(reference_profile(s, noisy), d, rtol=0.04)


def test_an_occlusion_and_plaque_without_narrowing() -> None:
    s, d = _profile()
    occluded = d.copy()
    occluded[60:68] = 0.0
    plaque = np.zeros_like(s), np.zeros_like(s)
    plaque[0][150:160] = 0.8  # calcified mm^3 per section, lumen not narrowed
    found, _ = find_stenoses(s, occluded, np.pi * occluded**2 / 4, 20.0, plaque_mm3=plaque, min_plaque_mm3=2.0)
    first, second = sorted(found, key=lambda x: x.position_mm)
    assert first.grade == "occluded" and first.percent_diameter == 100.0 and first.minimal_diameter_mm == 0.0
    assert second.grade == "minimal" and second.calcified_mm3 == pytest.approx(8.0) and second.plaque == "calcified"


def test_cad_rads_categories() -> None:
    assert cad_rads({"LAD": 0.0, "RCA": 0.0}) == "0"
    assert cad_rads({"LAD": 20.0}) == "1"
    assert cad_rads({"LAD": 30.0, "RCA": 10.0}) == "2"
    assert cad_rads({"LCX": 55.0}) == "3"
    assert cad_rads({"LAD": 75.0, "LCX": 30.0}) == "4A"
    assert cad_rads({"LM": 55.0}) == "4B"
    assert cad_rads({"D1": 80.0, "OM1": 72.0, "RCA": 90.0}) == "4B"  # three territories >= 70 %
    assert cad_rads({"LAD": 40.0}, occluded=["RCA"]) == "5"
    assert territory("OM2") == "LCX" and territory("LAD 2") == "LAD" and territory("graft") == ""


def test_names_are_suggested_from_the_course() -> None:
    s = np.linspace(0.0, 1.0, 50)[:, None]
    root = (0.0, 0.0, 0.0)
    rca = np.hstack([-5 - 40 * s, -10 * s, -60 * s])  # to the patient's right and down
    lad = np.hstack([10 + 40 * s, -10 - 50 * s, -70 * s])  # left, anterior, down to the apex
    lcx = np.hstack([10 + 30 * s, 5 + 40 * s, -20 * s])  # left and posterior
    lm = np.hstack([8 + 10 * s, -2 - 4 * s, 0 * s])
    assert [suggest(c, root) for c in (rca, lad, lcx, lm)] == ["RCA", "LAD", "LCX", "LM"]
    assert suggest(rca) == "RCA"  # without a root: from its own start
    assert unique(["LAD", "RCA", "LAD"]) == ["LAD", "RCA", "LAD 2"]


def test_points_text_csv_cell_and_json_forms() -> None:
    text = "10,20.5,-3; 11,21,-4 ;12,22,-5 | -1,-2,-3;-4,-5,-6"
    vessels = parse_points(text)
    assert vessels == (((10.0, 20.5, -3.0), (11.0, 21.0, -4.0), (12.0, 22.0, -5.0)),
                       ((-1.0, -2.0, -3.0), (-4.0, -5.0, -6.0)))
    assert parse_points(format_points(vessels)) == vessels
    assert parse_points(json.dumps([[list(p) for p in v] for v in vessels])) == vessels
    assert parse_points("  ") == ()
    for bad in ("1,2;3,4,5", "1,2,3", "a,b,c;1,2,3", "1,2,nan;1,2,3"):
        with pytest.raises(ValueError):
            parse_points(bad)
    assert parse_names("LAD | RCA") == ("LAD", "RCA") and parse_names('["LM"]') == ("LM",)


def test_points_as_a_declared_parameter() -> None:
    params = with_overrides(CoronaryParams, None, {"points": "1,2,3;4,5,6|7,8,9;1,1,1", "names": "LAD|RCA"})
    assert params.points[1] == ((7.0, 8.0, 9.0), (1.0, 1.0, 1.0)) and params.names == ("LAD", "RCA")
    assert CoronaryParams.from_json(json.loads(json.dumps(params.to_json()))) == params
    with pytest.raises(ValueError, match="points: cannot read"):
        with_overrides(CoronaryParams, None, {"points": "1,2,3"})
    with pytest.raises(ValueError, match="names"):
        CoronaryParams(points=(((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),), names=("LAD", "RCA"))
    with pytest.raises(ValueError, match="sigma_min_mm"):
        CoronaryParams(sigma_min_mm=3.0, sigma_max_mm=2.0)
    by_name = {spec.name: spec for spec in specs(CoronaryParams)}
    assert by_name["points"].info.unit == "mm" and not by_name["points"].info.panel
    assert CoronaryParams(n_scales=3, sigma_min_mm=0.5, sigma_max_mm=2.0).sigmas_mm == pytest.approx((0.5, 1.0, 2.0))


def test_resampled_centreline_is_smooth_even_and_keeps_its_ends() -> None:
    rng = np.random.default_rng(0)
    line = np.stack([np.linspace(0, 30, 61), np.zeros(61), np.zeros(61)], axis=1)
    jagged = line + rng.choice([-0.25, 0.0, 0.25], size=line.shape) * [0, 1, 1]  # voxel-grid jitter
    c = resample(jagged, 0.5, 1.0)
    rms = float(np.sqrt(np.mean(c[4:-4, 1:] ** 2)))
    assert rms < 0.45 * float(np.sqrt(np.mean(jagged[:, 1:] ** 2)))  # voxel jitter smoothed away
    np.testing.assert_allclose(np.linalg.norm(np.diff(c[:-1], axis=0), axis=1), 0.5, atol=0.02)
    assert np.linalg.norm(c[0] - jagged[0]) < 0.3 and np.linalg.norm(c[-1] - jagged[-1]) < 0.3


def test_parallel_transport_frames_do_not_twist() -> None:
    t = np.linspace(0.0, 3.0 * np.pi, 600)
    helix = np.stack([10 * np.cos(t), 10 * np.sin(t), 4 * t], axis=1)
    f = frames(helix)
    for a, b in ((f.tangent, f.normal), (f.tangent, f.binormal), (f.normal, f.binormal)):
        np.testing.assert_allclose(np.sum(a * b, axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(f.normal, axis=1), 1.0, atol=1e-9)
    # rotation-minimising: the normal turns only with the tangent, never about it
    dn = np.diff(f.normal, axis=0)
    assert np.abs(np.sum(dn * f.binormal[:-1], axis=1)).max() < 1e-3
    # a planar curve keeps a constant binormal (its plane's normal)
    arc = np.stack([np.cos(t[:200]), np.sin(t[:200]), np.zeros(200)], axis=1) * 20
    fa = frames(arc, up=np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(np.abs(fa.normal[:, 2]), 1.0, atol=1e-6)
