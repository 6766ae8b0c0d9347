"""``workstation-batch`` end to end: real DICOM studies, real analysis, real Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workstation.demo.chest_ct import write_chest_ct
from workstation.io.dicom import scan
from workstation.io.dicom_write import write_series
from workstation.core.volume import Volume
from workstation.jobs.batch import main


@pytest.fixture(scope="module")
def two_ct_studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    root = tmp_path_factory.mktemp("studies")
    expected = {}
    for seed in (0, 1):
        truth = write_chest_ct(root / f"study{seed}", seed=seed)
        expected[str(seed)] = truth.agatston_total
    (root / "notes.txt").write_text("not a DICOM file\n")
    return root, expected


def _records(out: Path, name: str) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob(f"*/{name}.json")}


def test_batch_writes_one_record_per_study_with_known_scores(
    two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, expected = two_ct_studies
    code = main(["run", "calcium", str(root), "--out", str(tmp_path), "--device", "cpu"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    records = _records(tmp_path, "calcium")
    uids = {s.uid for s in scan([root]).studies}
    assert set(records) == uids
    for record in records.values():
        assert record["device"] == "cpu"
        assert record["agatston_total"] == pytest.approx(expected["0"], abs=1e-6)
    assert "2 of 2 studies succeeded" in out.out
    assert "notes.txt" in out.err  # the non-DICOM file is reported, not fatal
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".staging-*"))


def test_batch_exit_code_is_nonzero_when_a_study_fails(
    two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = two_ct_studies
    mixed = tmp_path / "in"
    mr = Volume(np.full((3, 16, 16), 100, np.int16), spacing=(5.0, 1.0, 1.0), modality="MR")
    write_series(mr, mixed / "mr", modality="MR", intercept=0.0)
    code = main(["run", "calcium", str(root / "study0"), str(mixed), "--out", str(tmp_path / "out"), "--device", "cpu"])
    text = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in text and "1 of 2 studies succeeded" in text
    assert len(_records(tmp_path / "out", "calcium")) == 1


def test_batch_rejects_unknown_parameter(two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path) -> None:
    root, _ = two_ct_studies
    assert main(["run", "calcium", str(root), "--out", str(tmp_path), "--param", "no_such=1"]) == 2


@pytest.mark.integration
def test_batch_on_a_local_dask_cluster_matches_in_process(
    two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = two_ct_studies
    assert main(["run", "calcium", str(root), "--out", str(tmp_path / "local"), "--device", "cpu"]) == 0
    code = main(["run", "calcium", str(root), "--out", str(tmp_path / "dask"), "--device", "cpu", "--dask", "local:2"])
    assert code == 0, capsys.readouterr().out
    local, dask = _records(tmp_path / "local", "calcium"), _records(tmp_path / "dask", "calcium")
    assert set(local) == set(dask) and len(dask) == 2
    for uid in local:
        assert dask[uid]["agatston_total"] == local[uid]["agatston_total"]
        assert dask[uid]["lesions"] == local[uid]["lesions"]


def test_batch_inputs_csv_sets_parameters_per_study(
    two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workstation.analyses import get
    from workstation.compute.backend import cpu_backend

    root, expected = two_ct_studies
    studies = sorted(scan([root]).studies, key=lambda s: s.uid)
    table = tmp_path / "inputs.csv"
    table.write_text(f"StudyInstanceUID,threshold_hu,age\n{studies[0].uid},400,\n{studies[1].uid},,70\n"
                     "1.2.3.4.5,200,\n")
    code = main(["run", "calcium", str(root), "--out", str(tmp_path / "out"), "--device", "cpu",
                 "--param", "min_area_mm2=2", "--inputs", str(table)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "study 1.2.3.4.5 is not among the studies found" in out.err
    records = _records(tmp_path / "out", "calcium")
    analysis = get("calcium")
    strict = analysis.default_params().replace(threshold_hu=400.0, min_area_mm2=2.0)
    first = analysis.run(analysis.prepare(studies[0], None), strict, cpu_backend(), None)
    assert records[studies[0].uid]["agatston_total"] == pytest.approx(first.agatston_total)
    assert first.agatston_total < expected["0"]  # the 400 HU threshold drops the weaker voxels
    assert records[studies[0].uid]["parameters"]["threshold_hu"] == 400.0
    assert records[studies[1].uid]["parameters"] | {"age": None} == records[studies[0].uid]["parameters"] | {
        "threshold_hu": 130.0, "age": None}
    assert records[studies[1].uid]["age"] == 70.0 and records[studies[1].uid]["parameters"]["min_area_mm2"] == 2.0
    assert records[studies[1].uid]["provenance"]["params"]["age"] == 70.0


@pytest.mark.parametrize("header,row,message", [
    ("StudyInstanceUID,no_such", "x,1", "no_such are not parameters"),
    ("StudyInstanceUID,threshold_hu", "{uid},5000", "threshold_hu = 5000.0 HU is above its maximum 1000 HU"),
    ("StudyInstanceUID,threshold_hu", "{uid},abc", "threshold_hu: cannot read 'abc' as a number"),
    ("threshold_hu", "130", "no StudyInstanceUID column"),
])
def test_batch_refuses_a_bad_inputs_table(two_ct_studies: tuple[Path, dict[str, float]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], header: str, row: str,
                                          message: str) -> None:
    root, _ = two_ct_studies
    uid = scan([root]).studies[0].uid
    table = tmp_path / "inputs.csv"
    table.write_text(f"{header}\n{row.format(uid=uid)}\n")
    code = main(["run", "calcium", str(root), "--out", str(tmp_path / "out"), "--inputs", str(table)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any study ran


def test_list_shows_units_ranges_and_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "--param threshold_hu  (default 130.0 HU; range 50 to 1000)" in text
    assert "--param method  (default 'osvd'; one of osvd, csvd, ssvd)" in text
    assert "sub-command: workstation-batch segmentation-models" in text
    assert "writes calcium.json, calcium_labels.nii.gz, calcium_report.pdf" in text


def test_an_analysis_declares_its_own_sub_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segmentation-models", "--models-dir", str(tmp_path / "none")]) == 1  # a faulty folder says so
    text = capsys.readouterr().out
    assert "chest-organs" in text and "built-in" in text and "does not exist" in text


def test_a_sub_command_clash_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from workstation.jobs import batch

    monkeypatch.setattr(batch, "COMMANDS", {"segmentation-models": "workstation.analyses.segmentation.cli"})
    with pytest.raises(ValueError, match="declares the sub-command 'segmentation-models'"):
        batch.all_commands()
