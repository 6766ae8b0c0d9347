"""The demo coronary CTA: real CT DICOM, arteries where the truth says, and the analysis finding them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from dicom_validation import assert_valid_dicom
from workstation.analyses import get
from workstation.compute.backend import cpu_backend
from workstation.compute.sampling import IndexMap, sample
from workstation.demo import coronary_tree as tree
from workstation.demo.coronary_cta import ensure_demo, generate_coronary_cta, write_coronary_cta
from workstation.io.dicom import load_series, scan


def test_the_demo_is_valid_ct_dicom_that_loads_back(tmp_path: Path) -> None:
    truth = write_coronary_cta(tmp_path / "demo", size=96, pixel_mm=2.0, n_slices=5, slice_mm=0.6)
    files = sorted((tmp_path / "demo").glob("*.dcm"))
    assert len(files) == 5
    assert_valid_dicom(files)
    (study,) = scan(tmp_path / "demo").studies
    volume = load_series(study.series[0])
    assert volume.modality == "CT" and volume.shape == (5, 96, 96) and volume.spacing[0] == pytest.approx(0.6)
    generated, _ = generate_coronary_cta(0, size=96, pixel_mm=2.0, n_slices=5, slice_mm=0.6)
    np.testing.assert_array_equal(volume.array, generated.array)
    assert {a.name for a in truth.arteries} == {"LM", "LAD", "LCX", "RCA", "D1", "OM1"}


def test_ensure_demo_writes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr("workstation.demo.coronary_cta.write_coronary_cta",
                        lambda folder, seed=0, progress=None: calls.append(folder) or (Path(folder) / "x.dcm").write_text(""))
    assert ensure_demo(tmp_path / "d") == ensure_demo(tmp_path / "d") == tmp_path / "d"
    assert len(calls) == 1


def test_arteries_run_in_epicardial_fat_with_the_stated_lesions() -> None:
    truth = tree.build_arteries()
    for a in truth.arteries:
        inner = a.s_mm > (3.0 if not a.parent else 1.0)  # past the ostium / the branch point
        q_myo = tree._offset_q(a.centreline_mm[inner], 0.0)
        q_fat = tree._offset_q(a.centreline_mm, tree.FAT_MM)
        assert q_myo.min() > 1.1 and q_fat.max() < 0.9, a.name
        assert 0.7 <= a.reference_radius_mm.min() and a.reference_radius_mm.max() <= 2.3
        for st in a.stenoses:
            assert 0 < st.position_mm - st.length_mm / 2 and st.position_mm + st.length_mm / 2 < a.length_mm
            k = int(np.argmin(np.abs(a.s_mm - st.position_mm)))
            assert a.lumen_radius_mm[k] == pytest.approx(a.reference_radius_mm[k] * (1 - st.percent / 100))
    left, right = np.asarray(truth.ostia_mm["LM"]), np.asarray(truth.ostia_mm["RCA"])
    assert left[0] > truth.aortic_root_mm[0] > right[0]  # left ostium toward the patient's left
    assert {st.composition for a in truth.arteries for st in a.stenoses} == {"non-calcified", "mixed"}


def test_the_image_shows_contrast_lumen_in_fat_beside_myocardium() -> None:
    volume, truth = generate_coronary_cta(0, size=200, pixel_mm=1.0, n_slices=60, slice_mm=2.0, noise_hu=0.0)
    vmap = IndexMap.of_volume(volume)
    values = np.asarray(volume.array, dtype=np.float32)
    rca = truth.artery("RCA")
    inside = (rca.s_mm > 5) & (rca.s_mm < 20)  # proximal, normal, 2 mm lumen
    lumen = sample(values, rca.centreline_mm[inside], vmap)
    assert 300 <= np.median(lumen) <= 500
    u1, _, _ = tree.heart_frame()
    centre = np.asarray(tree.HEART_CENTRE)
    myocardium = sample(values, (centre + 0.9 * tree.HEART_AXES[0] * u1)[None, :], vmap)[0]
    assert 80 <= myocardium <= 140
    fat = sample(values, (centre - (tree.HEART_AXES[1] + 0.6 * tree.FAT_MM) * np.asarray([0, 1, 0]))[None, :], vmap)[0]
    assert -130 <= fat <= -60


@pytest.fixture(scope="module")
def example_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, tree.CoronaryTruth]:
    analysis = get("coronary-cta")
    folder = tmp_path_factory.mktemp("coronary_example") / "study"
    analysis.example(folder)
    (study,) = [s for s in scan(folder).studies if s.series]
    inputs = analysis.prepare(study, None)
    return analysis.run(inputs, analysis.default_params(), cpu_backend(), None), tree.build_arteries()


def test_automatic_extraction_finds_and_names_the_main_arteries(example_result: tuple) -> None:
    result, truth = example_result
    assert result.method == "automatic"
    names = [v.name for v in result.vessels]
    assert {"LM", "LAD", "LCX", "RCA"} <= set(names)
    for v in result.vessels:
        artery = truth.artery(v.name)
        distance = cKDTree(artery.centreline_mm).query(v.centreline_mm)[0]
        assert np.median(distance) < 0.6, v.name  # 1 mm voxels
        covered = cKDTree(v.centreline_mm).query(artery.centreline_mm)[0] < 1.5
        assert covered.mean() > (0.6 if v.name == "LM" else 0.85), v.name
    assert np.linalg.norm(np.asarray(result.aortic_root_mm) - np.asarray(truth.aortic_root_mm)) < 5.0


@pytest.mark.slow
def test_full_resolution_demo_finds_every_planted_lesion_and_grades_it() -> None:
    from workstation.analyses.coronary_cta.stenosis import grade

    volume, truth = generate_coronary_cta(0)
    result = get("coronary-cta").run(volume, get("coronary-cta").default_params(), cpu_backend(), None)
    for artery in truth.arteries:
        vessel = result.vessel(artery.name)
        for planted in artery.stenoses:
            at = artery.centreline_mm[int(np.argmin(np.abs(artery.s_mm - planted.position_mm)))]
            where = vessel.position_mm[int(np.argmin(np.linalg.norm(vessel.centreline_mm - at, axis=1)))]
            found = min(vessel.stenoses, key=lambda s: abs(s.position_mm - where))
            assert abs(found.position_mm - where) <= 3.0, (artery.name, planted)
            assert abs(found.percent_diameter - planted.percent) <= 12.0, (artery.name, planted, found)
            if planted.percent == 0:
                assert found.grade == "minimal" and found.calcified_mm3 > 1.0  # plaque without narrowing
            elif abs(found.percent_diameter - planted.percent) <= 5.0:
                assert grade(found.percent_diameter) in {grade(planted.percent - 5), grade(planted.percent + 5)}
        assert len(vessel.stenoses) == len(artery.stenoses), artery.name
