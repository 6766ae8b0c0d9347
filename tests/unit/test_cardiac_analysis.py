"""Cardiac function through the bundled model, against phantoms with exact volumes, and its messages.

The phantoms here use other seeds, matrices, pixel sizes, slice thicknesses and gaps
than the demo and the model's training set (seeds 1-200) and held-out set (90000+).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dicom_validation import assert_valid_dicom
from workstation.analyses import get
from workstation.analyses.base import InputError
from workstation.analyses.cardiac_function.logic import remeasure, run
from workstation.analyses.cardiac_function.params import CardiacParams
from workstation.analyses.cardiac_function.prepare import CineInput, cine_input, prepare
from workstation.analyses.cardiac_function.sr import read_sr_values
from workstation.compute.backend import cpu_backend
from workstation.demo.cardiac_dicom import write_cine, write_enhanced_cine
from workstation.demo.cardiac_geometry import sample_params
from workstation.demo.cardiac_phantom import CineCase, generate_cine
from workstation.io.dicom import scan

pytest.importorskip("onnxruntime")

CASES = {
    "13 slices x 16 phases, 1.5 mm, 7 + 3 mm": dict(seed=501, n_slices=13, n_phases=16, rows=200, cols=208,
                                                   pixel_mm=1.5, thickness_mm=7.0, gap_mm=3.0, heart_rate_bpm=75.0),
    "12 slices x 18 phases, 1.8 mm, 9 + 1 mm": dict(seed=733, n_slices=12, n_phases=18, rows=176, cols=176,
                                                   pixel_mm=1.8, thickness_mm=9.0, gap_mm=1.0, heart_rate_bpm=58.0),
}


@pytest.fixture(scope="module", params=list(CASES))
def measured(request: pytest.FixtureRequest) -> tuple[CineCase, CineInput, object]:
    kwargs = dict(CASES[request.param])
    case = generate_cine(kwargs.pop("seed"), **kwargs)
    cine = cine_input(case.series(height_m=1.7, weight_kg=68.0), sex="F")
    return case, cine, run(cine, CardiacParams(), cpu_backend())


def test_volumes_function_and_mass_match_the_phantom(measured) -> None:  # type: ignore[no-untyped-def]
    case, _cine, result = measured
    t, lv = case.truth, result.lv
    assert abs(lv.ef_pct - t["lv_ef_pct"]) <= 3.0, (lv.ef_pct, t["lv_ef_pct"])
    assert lv.edv_ml == pytest.approx(t["lv_edv_ml"], rel=0.05)
    assert lv.esv_ml == pytest.approx(t["lv_esv_ml"], rel=0.05)
    assert lv.mass_g == pytest.approx(t["lv_mass_g"], rel=0.10)
    assert result.rv.edv_ml == pytest.approx(t["rv_edv_ml"], rel=0.10)
    assert abs(result.rv.ef_pct - t["rv_ef_pct"]) <= 6.0
    assert lv.ed_phase == case.ed_phase and abs(lv.es_phase - case.es_phase) <= 1
    assert lv.co_l_min == pytest.approx(lv.sv_ml * case.heart_rate_bpm / 1000.0, rel=1e-3)
    assert lv.bsa_m2 == pytest.approx(np.sqrt(170 * 68 / 3600.0))


def test_json_has_the_fields_the_batch_promises(measured) -> None:  # type: ignore[no-untyped-def]
    _case, _cine, result = measured
    record = json.loads(json.dumps(result.to_json()))
    assert record["analysis"] == "cardiac-function" and record["device"] == "cpu"
    assert {"edv_ml", "esv_ml", "sv_ml", "ef_pct", "mass_g", "ed_phase", "es_phase"} <= set(record["lv"])
    assert {"edv_ml", "esv_ml", "sv_ml", "ef_pct"} <= set(record["rv"])
    assert [s["segment"] for s in record["segments"]] == list(range(1, 18))
    assert isinstance(record["warnings"], list)
    assert record["lv"]["sv_ml"] == pytest.approx(record["lv"]["edv_ml"] - record["lv"]["esv_ml"], abs=0.02)
    assert "summation of discs" in record["method"]["volumes"]


def test_a_hypokinetic_wall_thickens_least() -> None:
    # a sector 90 degrees from the septum toward anterior does not thicken: mid anterior (AHA 7)
    params = replace(sample_params(np.random.default_rng(5), hypokinesis=True), hypokinesis=1.0,
                     hypokinesis_angle_deg=90.0)
    case = generate_cine(919, n_slices=12, n_phases=16, rows=176, cols=176, pixel_mm=1.7, thickness_mm=8.0,
                         gap_mm=2.0, params=params)
    result = run(cine_input(case.series()), CardiacParams(), cpu_backend())
    thick = {s.number: s.thickening_pct for s in result.segments if s.thickening_pct is not None}
    mid = {n: thick[n] for n in range(7, 13) if n in thick}
    weakest = min(mid, key=mid.__getitem__)
    assert weakest in (7, 8, 12), mid
    assert mid[weakest] < 0.6 * float(np.median(list(mid.values()))), mid


def test_edited_contours_change_the_volumes(measured) -> None:  # type: ignore[no-untyped-def]
    _case, cine, result = measured
    labels = result.labels.copy()
    ed = result.lv.ed_phase
    slices = list(result.lv_limits[ed].slices())
    k = slices[len(slices) // 2]
    removed = int((labels[ed, k] == 1).sum())
    labels[ed, k][labels[ed, k] == 1] = 0  # the reader empties one slice's blood pool
    from workstation.ml.registry import get_model

    again = remeasure(labels, cine, CardiacParams(ed_phase=ed), cpu_backend(), model=get_model("cardiac-cine"),
                      device="cpu", edited=[(ed, k)])
    lost = removed * cine.pixel_spacing[0] * cine.pixel_spacing[1] * cine.spacing_mm / 1000.0
    assert again.lv.edv_ml < result.lv.edv_ml - 0.5 * lost
    assert again.edited_planes == ((ed, k),) and any("edited" in w for w in again.warnings)
    assert again.provenance.model is not None and again.provenance.model.name == "cardiac-cine"


# -- DICOM in, messages out ------------------------------------------------------------------
SMALL = dict(n_slices=9, n_phases=12, rows=112, cols=112, pixel_mm=2.6, thickness_mm=9.0, gap_mm=2.0)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[CineCase, Path]:
    case = generate_cine(613, **SMALL)
    folder = tmp_path_factory.mktemp("cine") / "study"
    write_cine(case, folder)
    return case, folder


def _study(folder: Path):  # type: ignore[no-untyped-def]
    (study,) = [s for s in scan(folder).studies if s.series]
    return study


def test_dicom_cine_runs_and_writes_a_valid_sr_and_report(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, folder = small
    study = _study(folder)
    cine = prepare(study)
    assert cine.timed and cine.heart_rate_bpm == pytest.approx(round(case.heart_rate_bpm), abs=0.01)
    assert cine.height_m == 1.78 and cine.sex == "M"
    result = run(cine, CardiacParams(), cpu_backend())
    assert result.lv.edv_ml == pytest.approx(case.truth["lv_edv_ml"], rel=0.08)
    written = get("cardiac-function").write_artifacts(result, cine, tmp_path / "out", study=study,
                                                      names=("report", "sr", "curve", "labels", "json"))
    names = sorted(p.name for p in written)
    assert names == ["cardiac_function.json", "cardiac_function_report.pdf", "cardiac_function_sr.dcm",
                     "cardiac_labels_ed.nii.gz", "cardiac_labels_es.nii.gz", "cardiac_volume_curve.csv"]
    sr = tmp_path / "out" / "cardiac_function_sr.dcm"
    assert_valid_dicom([sr])
    values = read_sr_values(sr)
    assert values["Left ventricle structure: LV ejection fraction"] == pytest.approx(result.lv.ef_pct, abs=1e-3)
    assert values["Right ventricle structure: RV end-diastolic volume"] == pytest.approx(result.rv.edv_ml, abs=1e-3)
    assert pydicom.dcmread(sr).StudyInstanceUID == study.uid
    rows = (tmp_path / "out" / "cardiac_volume_curve.csv").read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("phase,trigger_delay_ms")


def test_enhanced_mr_gives_the_single_frame_volumes(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, folder = small
    write_enhanced_cine(case, tmp_path / "enhanced")
    single = run(prepare(_study(folder)), CardiacParams(), cpu_backend())
    enhanced = run(prepare(_study(tmp_path / "enhanced")), CardiacParams(), cpu_backend())
    assert enhanced.lv.edv_ml == pytest.approx(single.lv.edv_ml, rel=1e-3)
    assert enhanced.lv.esv_ml == pytest.approx(single.lv.esv_ml, rel=1e-3)


def test_axial_stack_is_refused_as_not_short_axis(tmp_path: Path) -> None:
    write_cine(generate_cine(614, axial=True, **SMALL), tmp_path)
    with pytest.raises(InputError, match="not a short-axis stack"):
        prepare(_study(tmp_path))


def test_too_few_phases_and_slices_are_refused(tmp_path: Path) -> None:
    write_cine(generate_cine(615, **{**SMALL, "n_phases": 4}), tmp_path / "phases")
    with pytest.raises(InputError, match="too few phases: the cine has 4"):
        prepare(_study(tmp_path / "phases"))
    write_cine(generate_cine(616, **{**SMALL, "n_slices": 2}), tmp_path / "slices")
    with pytest.raises(InputError, match="too few slices: the stack has 2"):
        prepare(_study(tmp_path / "slices"))


def test_a_study_without_a_cine_is_refused(tmp_path: Path) -> None:
    case = generate_cine(617, **{**SMALL, "n_phases": 5})
    write_cine(case, tmp_path)
    for path in tmp_path.glob("CINE*_00[2-5].dcm"):
        path.unlink()  # one phase left: a plain stack
    with pytest.raises(InputError, match="needs a cine series"):
        prepare(_study(tmp_path))


def test_missing_trigger_times_are_said_and_phases_still_ordered(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, _folder = small
    write_cine(case, tmp_path, with_trigger=False)
    cine = prepare(_study(tmp_path))
    assert not cine.timed and cine.heart_rate_bpm is None
    result = run(cine, CardiacParams(), cpu_backend())
    assert any("missing trigger times" in w and "phase number" in w for w in result.warnings)
    assert result.lv.co_l_min is None and "phase" in result.to_json()["curve"]
    assert result.lv.ed_phase == case.ed_phase


def test_few_phases_and_a_missing_slice_are_warned(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, folder = small
    shutil.copytree(folder, tmp_path / "gap")
    for path in (tmp_path / "gap").glob("CINE05_*.dcm"):
        path.unlink()  # the middle slice is missing
    cine = prepare(_study(tmp_path / "gap"))
    assert cine.shape[1] == 8
    result = run(cine, CardiacParams(), cpu_backend())
    assert any(w.startswith("gap in the stack: 22.0 mm between slices") for w in result.warnings), result.warnings
    assert any(w.startswith("few phases: 12") for w in result.warnings)
    assert result.lv.edv_ml == pytest.approx(case.truth["lv_edv_ml"], rel=0.12)  # interpolated over the gap


def test_batch_writes_the_json_and_artifacts(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from workstation.jobs import batch

    case, folder = small
    assert batch.main(["run", "cardiac-function", str(folder), "--out", str(tmp_path / "out"), "--device", "cpu",
                       "--param", "basal_coverage=0.5"]) == 0
    (study_dir,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    record = json.loads((study_dir / "cardiac-function.json").read_text())
    assert record["lv"]["edv_ml"] == pytest.approx(case.truth["lv_edv_ml"], rel=0.08)
    assert record["provenance"]["params"]["basal_coverage"] == 0.5 and record["device"] == "cpu"
    files = {p.name for p in study_dir.iterdir()}
    assert {"cardiac_function_report.pdf", "cardiac_function_sr.dcm", "cardiac_volume_curve.csv",
            "cardiac_labels_ed.nii.gz"} <= files


def _resave(folder: Path, out: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Copy ``folder``'s cine into ``out``, ``edit(ds, slice, phase)`` changing each file's header."""
    out.mkdir(parents=True)
    for path in sorted(folder.glob("CINE*.dcm")):
        k, t = (int(v) - 1 for v in path.stem[4:].split("_"))
        ds = pydicom.dcmread(path)
        edit(ds, k, t)
        ds.save_as(out / path.name, enforce_file_format=True)


def _same_volumes(a, b) -> None:  # type: ignore[no-untyped-def]
    for side in ("lv", "rv"):
        va, vb = getattr(a, side), getattr(b, side)
        assert (vb.ed_phase, vb.es_phase) == (va.ed_phase, va.es_phase)
        assert vb.edv_ml == pytest.approx(va.edv_ml, rel=1e-9) and vb.esv_ml == pytest.approx(va.esv_ml, rel=1e-9)


def test_a_cine_stored_one_series_per_slice_is_joined(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, folder = small
    uids = [pydicom.uid.generate_uid() for _ in range(SMALL["n_slices"])]

    def per_slice(ds, k: int, t: int) -> None:  # type: ignore[no-untyped-def]
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = uids[k], 20 + k, f"SA cine slice {k + 1}"

    _resave(folder, tmp_path / "per-slice", per_slice)
    study = _study(tmp_path / "per-slice")
    assert len(study.series) == SMALL["n_slices"]
    cine = prepare(study)
    assert cine.shape == (SMALL["n_phases"], SMALL["n_slices"], SMALL["rows"], SMALL["cols"]) and cine.timed
    result = run(cine, CardiacParams(), cpu_backend())
    _same_volumes(run(prepare(_study(folder)), CardiacParams(), cpu_backend()), result)
    assert result.lv.edv_ml == pytest.approx(case.truth["lv_edv_ml"], rel=0.08)
    assert any(w.startswith("cine of 9 series joined, one per slice (series 20-28)") for w in result.warnings)


def test_ct_phases_stored_one_series_each_are_ordered_by_their_percentage(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case, folder = small
    n = SMALL["n_phases"]
    uids = [pydicom.uid.generate_uid() for _ in range(n)]

    def per_phase(ds, k: int, t: int) -> None:  # type: ignore[no-untyped-def]
        # phase reconstructions: no trigger delay per image, series numbered against phase order
        for keyword in ("TriggerTime", "TemporalPositionIdentifier", "NumberOfTemporalPositions"):
            delattr(ds, keyword)
        ds.SeriesInstanceUID, ds.SeriesNumber = uids[t], 100 - t
        ds.SeriesDescription = f"Cardiac {100 * t / n:.0f}%"

    _resave(folder, tmp_path / "per-phase", per_phase)
    cine = prepare(_study(tmp_path / "per-phase"))
    assert cine.shape[:2] == (n, SMALL["n_slices"])
    result = run(cine, CardiacParams(), cpu_backend())
    _same_volumes(run(prepare(_study(folder)), CardiacParams(), cpu_backend()), result)
    assert result.lv.ed_phase == case.ed_phase
    assert any("one per phase, ordered by phase percentage" in w for w in result.warnings), result.warnings
    assert any("evenly spaced over the R-R interval" in w for w in result.warnings)


def test_series_of_another_frame_of_reference_are_not_joined(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _case, folder = small
    uids = [pydicom.uid.generate_uid() for _ in range(SMALL["n_slices"])]

    def other_matrix(ds, k: int, t: int) -> None:  # type: ignore[no-untyped-def]
        ds.SeriesInstanceUID = uids[k]
        if k % 2:  # every other slice series from another frame of reference: not one stack
            ds.FrameOfReferenceUID = "1.2.3.4"

    _resave(folder, tmp_path / "mixed", other_matrix)
    cine = prepare(_study(tmp_path / "mixed"))
    assert cine.shape[1] == 5  # the five series of the first frame of reference, not all nine
    assert cine.notes[0].startswith("cine of 5 series joined, one per slice")
    spacing = cine.positions_mm[1] - cine.positions_mm[0]
    assert abs(spacing) == pytest.approx(2 * (SMALL["thickness_mm"] + SMALL["gap_mm"]), abs=1e-3)


def test_phase_series_order_trigger_delay_then_percentage_then_number() -> None:
    from workstation.analyses.cardiac_function.stacking import phase_percent, stacked_cines
    from workstation.core.study import FrameRef, Series, Study

    def phase(number: int, description: str, trigger_s: float | None) -> Series:
        frames = [FrameRef(Path(f"{number}_{z}.dcm"), f"1.{number}.{z}", position=(0.0, 0.0, 10.0 * z),
                           orientation=(1.0, 0, 0, 0, 0.8, -0.6), rows=8, columns=8, pixel_spacing=(1.0, 1.0),
                           trigger_time_s=trigger_s, time_s=3600.0) for z in range(4)]
        return Series(f"2.{number}", "9", "CT", number, description, frames)

    def order(series: list[Series]) -> tuple[list[int], str]:
        (joined,) = stacked_cines(Study("9", series=series))
        first = [f.path.name for f in joined.frames if f.path.name.endswith("_0.dcm")]
        assert all(f.time_s is None for f in joined.frames)  # one scan's time is no phase's time
        return [int(name.split("_")[0]) for name in first], joined.description

    by_trigger = [phase(1, "Cardiac 70%", 0.6), phase(2, "Cardiac 10%", 0.1), phase(3, "Cardiac 40%", 0.35)]
    assert order(by_trigger) == ([2, 3, 1], "3 series joined, one per phase, ordered by trigger delay (series 1-3)")
    by_percent = [phase(1, "Cardiac 70%", None), phase(2, "Cardiac 10%", None), phase(3, "Cardiac 40 %", None)]
    assert order(by_percent)[0] == [2, 3, 1] and "phase percentage" in order(by_percent)[1]
    by_number = [phase(3, "Cardiac", None), phase(1, "Cardiac", None), phase(2, "Cardiac", None)]
    assert order(by_number)[0] == [1, 2, 3] and "series number" in order(by_number)[1]
    assert phase_percent(phase(4, "Cardiac 0.6 Bv36 75% ", None)) == 75.0 and phase_percent(phase(5, "120%", None)) is None
