"""MESA percentile and 10-year CHD risk through the batch command: race from the header,
risk factors per study from ``--inputs``, units in ``list``, the PDF's percentile line."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pydicom
import pytest

from workstation.analyses.calcium import chd_risk, mesa
from workstation.demo.chest_ct import write_chest_ct
from workstation.io.dicom import scan
from workstation.jobs.batch import main

FACTORS = {"total_cholesterol": "190", "hdl": "50", "sbp": "130", "bp_medication": "1", "lipid_medication": "0",
           "smoker": "0", "diabetes": "0", "family_history": "1"}


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, float]:
    """Two demo CTs (age 55, male); the second says Ethnic Group "Hispanic/Latino"."""
    root = tmp_path_factory.mktemp("risk")
    truth = write_chest_ct(root / "a", seed=0)
    write_chest_ct(root / "b", seed=1)
    for path in (root / "b").iterdir():
        ds = pydicom.dcmread(path)
        ds.EthnicGroup = "Hispanic/Latino"
        ds.save_as(path)
    uid_a = scan([root / "a"]).studies[0].uid
    uid_b = scan([root / "b"]).studies[0].uid
    return root, uid_a, uid_b, truth.agatston_total


def test_race_from_header_and_risk_factors_per_study(studies: tuple[Path, str, str, float], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root, uid_a, uid_b, agatston = studies
    table = tmp_path / "factors.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["StudyInstanceUID", "race", *FACTORS])
        writer.writeheader()
        writer.writerow({"StudyInstanceUID": uid_a, "race": "white", **FACTORS})
        writer.writerow({"StudyInstanceUID": uid_b, "race": "", **{k: "" for k in FACTORS}})
    out = tmp_path / "out"
    code = main(["run", "calcium", str(root), "--out", str(out), "--device", "cpu", "--inputs", str(table)])
    assert code == 0, capsys.readouterr()
    a = json.loads((out / uid_a / "calcium.json").read_text())
    b = json.loads((out / uid_b / "calcium.json").read_text())

    assert a["race"] == "white" and a["race_source"] == "parameter"
    expected = mesa.percentile(agatston, 55, "M", "white")
    assert a["percentile"] == expected.percentile and isinstance(a["percentile"], int)
    assert a["nonzero_prevalence_pct"] == expected.nonzero_prevalence_pct
    assert "McClelland" in a["percentile_reference"] and "Circulation. 2006" in a["percentile_reference"]
    factors = chd_risk.RiskFactors(age=55, sex="M", race="white", total_cholesterol=190, hdl=50, sbp=130,
                                   bp_medication=True, lipid_medication=False, smoker=False, diabetes=False,
                                   family_history=True)
    risk = chd_risk.chd_risk(factors, agatston)
    assert a["mesa_10y_chd_risk_pct"] == pytest.approx(risk.with_cac_pct)
    assert a["mesa_10y_chd_risk_without_cac_pct"] == pytest.approx(risk.without_cac_pct)
    assert a["mesa_10y_chd_risk_pct"] > a["mesa_10y_chd_risk_without_cac_pct"]  # a score of 226 raises it

    assert b["race"] == "hispanic" and b["race_source"].startswith("header")
    assert b["percentile"] == mesa.percentile(agatston, 55, "M", "hispanic").percentile
    assert b["mesa_10y_chd_risk_pct"] is None and b["mesa_10y_chd_risk_without_cac_pct"] is None
    assert "risk factors not given" in b["chd_risk_note"]


def test_age_outside_the_reference_is_said_and_the_risk_still_applies_at_85(
        studies: tuple[Path, str, str, float], tmp_path: Path) -> None:
    root, uid_a, _, _ = studies
    params = ["--param", "race=black", "--param", "age=85"] + [a for k, v in FACTORS.items()
                                                                 for a in ("--param", f"{k}={v}")]
    assert main(["run", "calcium", str(root / "a"), "--out", str(tmp_path), "--device", "cpu", *params]) == 0
    record = json.loads((tmp_path / uid_a / "calcium.json").read_text())
    assert record["percentile"] is None and "outside the MESA reference" in record["percentile_note"]
    assert record["mesa_10y_chd_risk_pct"] is not None
    pdf = tmp_path / "pdf"
    assert main(["run", "calcium", str(root / "a"), "--out", str(pdf), "--device", "cpu", "--param", "race=white"]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf / uid_a / "calcium_report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    line = next(t for t in text.splitlines() if "MESA percentile" in t)
    assert str(record_percentile(pdf, uid_a)) in line and "MESA white reference" in " ".join(text.split())
    assert "Percentile reference: McClelland" in " ".join(text.split())


def record_percentile(out: Path, uid: str) -> int:
    value = json.loads((out / uid / "calcium.json").read_text())["percentile"]
    assert isinstance(value, int)
    return value


def test_list_shows_the_risk_factors_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for name, unit in (("total_cholesterol", "mg/dL"), ("hdl", "mg/dL"), ("sbp", "mmHg")):
        line = next(t for t in text.splitlines() if name in t)
        assert unit in line
    assert "smoker" in text and "family_history" in text and "race" in text
