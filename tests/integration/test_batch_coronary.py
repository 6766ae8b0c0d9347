"""``workstation-batch run coronary-cta``: vessel points on the command line and per study, on DICOM tubes."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from coronary_phantoms import Narrowing, Tube, helix, make_tube  # noqa: E402

from workstation.io.dicom_write import write_series  # noqa: E402
from workstation.jobs.batch import main  # noqa: E402

FIELDS = {"position_mm", "percent_diameter", "percent_area", "grade", "length_mm", "reference_diameter_mm"}


def _text(tube: Tube, *s: float) -> str:
    return ";".join(",".join(f"{c:.2f}" for c in tube.point_at(x)) for x in s)


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Tube]]:
    root = tmp_path_factory.mktemp("coronary_studies")
    tubes = {}
    for k, narrowing in enumerate((Narrowing(20.0, 8.0, 60.0), None)):
        tube = make_tube(helix(), 40.0, narrowings=(narrowing,) if narrowing else (), seed=10 + k)
        uid = f"1.2.826.0.1.3680043.10.511.{k + 1}"
        write_series(tube.volume, root / f"study{k}", modality="CT", study_uid=uid,
                     tags={"PatientID": f"TUBE{k}", "PatientName": f"TUBE^{k}"}, series_description="tube")
        tubes[uid] = tube
    return root, tubes


def _record(out: Path, uid: str) -> dict:
    return json.loads((out / uid / "coronary-cta.json").read_text())


def test_points_and_names_on_the_command_line(studies: tuple[Path, dict[str, Tube]], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root, tubes = studies
    uid, tube = next(iter(tubes.items()))
    points = f"{_text(tube, 0.0, 40.0)}|{_text(tube, 25.0, 40.0)}"
    code = main(["run", "coronary-cta", str(root / "study0"), "--out", str(tmp_path), "--device", "cpu",
                 "--param", f"points={points}", "--param", "names=LAD|LAD distal"])
    assert code == 0, capsys.readouterr().out
    record = _record(tmp_path, uid)
    assert record["analysis"] == "coronary-cta" and record["method"] == "points"
    lad, distal = record["vessels"]
    assert (lad["name"], distal["name"]) == ("LAD", "LAD distal")
    assert lad["length_mm"] == pytest.approx(40.0, abs=1.0) and distal["length_mm"] == pytest.approx(15.0, abs=1.0)
    assert len(lad["centreline_mm"]) == len(lad["diameter_mm"]) == len(lad["position_mm"])
    assert all(len(p) == 3 for p in lad["centreline_mm"])
    (stenosis,) = lad["stenoses"]
    assert FIELDS <= set(stenosis)
    assert abs(stenosis["percent_diameter"] - 60.0) <= 10.0 and stenosis["grade"] == "moderate"
    assert distal["stenoses"] == []
    assert (tmp_path / uid / "coronary_cta_report.pdf").is_file()
    with open(tmp_path / uid / "coronary_profile.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["vessel"] for r in rows} == {"LAD", "LAD distal"}


def test_points_per_study_from_an_inputs_table(studies: tuple[Path, dict[str, Tube]], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root, tubes = studies
    table = tmp_path / "points.csv"
    with open(table, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["StudyInstanceUID", "points", "names"])
        for uid, tube in tubes.items():
            writer.writerow([uid, _text(tube, 0.0, 20.0, 40.0), "RCA"])
    out = tmp_path / "out"
    code = main(["run", "coronary-cta", str(root), "--out", str(out), "--device", "cpu", "--inputs", str(table)])
    assert code == 0, capsys.readouterr().out
    stenosed, normal = (_record(out, uid) for uid in tubes)
    assert [v["name"] for v in stenosed["vessels"]] == ["RCA"] == [v["name"] for v in normal["vessels"]]
    assert len(stenosed["vessels"][0]["stenoses"]) == 1 and normal["vessels"][0]["stenoses"] == []
    assert stenosed["cad_rads"] == "3" and normal["cad_rads"] == "0"


def test_bad_points_are_refused_before_anything_runs(studies: tuple[Path, dict[str, Tube]], tmp_path: Path) -> None:
    root, _ = studies
    assert main(["run", "coronary-cta", str(root), "--out", str(tmp_path / "o"), "--param", "points=1,2,3"]) == 2
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
