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
