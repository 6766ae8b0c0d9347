"""Risk categories, CAC-DRS, MESA percentile, artery suggestion and progression."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from workstation.analyses.calcium import mesa
from workstation.analyses.calcium.arteries import suggest_artery
from workstation.analyses.calcium.risk import cac_drs, n_vessels, risk_category
from workstation.analyses.calcium.trend import (
    ScorePoint,
    changes,
    hokanson_progressed,
    load_records,
    points_from_records,
)


@pytest.mark.parametrize(
    "score,category",
    [(0, "0"), (0.4, "1-10"), (10, "1-10"), (10.5, "11-100"), (100, "11-100"), (101, "101-400"),
     (400, "101-400"), (400.1, ">400"), (2500, ">400")],
)
def test_risk_category_boundaries(score: float, category: str) -> None:
    assert risk_category(score) == category


@pytest.mark.parametrize(
    "score,vessels,drs",
    [(0, 0, "A0"), (1, 1, "A1/N1"), (99.9, 2, "A1/N2"), (100, 3, "A2/N3"), (299, 4, "A2/N4"), (300, 2, "A3/N2")],
)
def test_cac_drs(score: float, vessels: int, drs: str) -> None:
    assert cac_drs(score, vessels) == drs


def test_vessel_count_ignores_other() -> None:
    assert n_vessels({"LM": 3.0, "LAD": 0.0, "LCX": 1.0, "RCA": 0.0, "other": 50.0}) == 2
    with pytest.raises(ValueError):
        risk_category(-1)


def test_percentile_edges() -> None:
    assert mesa.percentile(0.0, 60, "F", "black").percentile == 0
    assert mesa.percentile(50.0, None, "F", "white").message == "age unknown"
    assert mesa.percentile(50.0, 60, "", "white").message == "sex unknown"
    assert "outside the MESA reference" in mesa.percentile(50.0, 30, "M", "white").message
    assert mesa.percentile(50.0, 60, "M", "martian").percentile is None  # not a MESA group


def test_percentile_follows_the_published_orderings() -> None:
    # McClelland 2006: men have more calcium than women; calcium rises with age; among
    # men whites have the highest scores (so a given score ranks lower for them).
    def pct(score: float, age: int, sex: str, race: str) -> int:
        value = mesa.percentile(score, age, sex, race).percentile
        assert value is not None
        return value

    assert pct(100, 60, "M", "white") < pct(100, 60, "F", "white")
    assert pct(100, 50, "M", "white") > pct(100, 75, "M", "white")
    for race in ("black", "hispanic", "chinese"):
        assert pct(100, 55, "M", "white") < pct(100, 55, "M", race)
    scores = [1, 10, 100, 400, 1000]
    pcts = [pct(s, 65, "F", "hispanic") for s in scores]
    assert all(b >= a for a, b in zip(pcts, pcts[1:])) and pcts[-1] > pcts[0]


def test_reference_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "ref.json"
    bad.write_text(json.dumps({"models": {"M": {}}}))
    with pytest.raises(ValueError, match="ref.json"):
        mesa.load_reference(str(bad))
    with pytest.raises(FileNotFoundError, match="missing"):
        mesa.load_reference(str(tmp_path / "nope.json"))


@pytest.mark.parametrize(
    "offset,artery",
    [((23, -9, -10), "LM"), ((33, -43, -28), "LAD"), ((43, -50, -57), "LAD"), ((55, 5, -25), "LCX"),
     ((-25, -23, -19), "RCA"), ((-37, -5, -49), "RCA"), ((5, 0, 30), "other")],
)
def test_artery_suggestion(offset: tuple[float, float, float], artery: str) -> None:
    root = np.array([-5.0, -15.0, 31.0])
    assert suggest_artery(root + np.array(offset), root) == artery
    assert suggest_artery(root + np.array(offset), None) == "other"


def test_hokanson_square_root_rule() -> None:
    assert not hokanson_progressed(100.0, 150.0)  # sqrt diff 2.25
    assert hokanson_progressed(100.0, 156.25)  # exactly 2.5
    assert hokanson_progressed(0.0, 6.25)
    assert not hokanson_progressed(400.0, 380.0)


def test_changes_are_sorted_annualised_and_deduplicated() -> None:
    pts = [
        ScorePoint(date(2022, 1, 1), 200.0, "s2"),
        ScorePoint(date(2020, 1, 1), 100.0, "s1"),
        ScorePoint(date(2022, 1, 1), 200.0, "s2"),
    ]
    (change,) = changes(pts)
    assert change.absolute == 100.0
    assert change.per_year == pytest.approx(100.0 / (731 / 365.25))
    assert change.sqrt_difference == pytest.approx(np.sqrt(200) - 10)
    assert change.progressed  # 14.14 - 10 >= 2.5


def test_history_from_calcium_json_records(tmp_path: Path) -> None:
    for i, (pid, day, score) in enumerate([("P1", "2019-05-01", 10.0), ("P2", "2020-01-01", 99.0),
                                           ("P1", "2021-05-01", 30.0)]):
        folder = tmp_path / f"study{i}_results"
        folder.mkdir()
        record = {"patient_id": pid, "study_date": day, "agatston_total": score, "study_uid": f"u{i}"}
        (folder / "calcium.json").write_text(json.dumps(record))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "calcium.json").write_text("{not json")
    pts = points_from_records(load_records([tmp_path]), "P1")
    assert sorted(p.agatston for p in pts) == [10.0, 30.0]
    (change,) = changes(pts)
    assert change.absolute == 20.0 and not change.progressed
