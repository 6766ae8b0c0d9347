"""MESA percentile lookup and 10-year CHD risk against the published reference values."""

from __future__ import annotations

import json

import pytest

from workstation.analyses.calcium import chd_risk, mesa

REF = json.loads(mesa.reference_path().read_text())


def _groups():
    for race in mesa.RACES:
        for sex_key, sex in mesa.SEXES.items():
            for age in range(45, 85):
                yield race, sex_key, age, REF["groups"][race][sex][str(age)]


def test_every_groups_published_percentile_scores_map_back_within_one() -> None:
    checked = 0
    for race, sex, age, group in _groups():
        for target, score in zip((25, 50, 75, 90), group["p25_p50_p75_p90"]):
            if score <= 0:
                continue
            got = mesa.percentile(score, age + 0.7, sex, race)
            assert got.percentile is not None
            assert abs(got.percentile - target) <= 1, (race, sex, age, target, score, got)
            checked += 1
    assert checked > 500  # most groups have non-zero upper percentiles


def test_lookup_follows_the_files_rule_at_the_boundaries() -> None:
    group = REF["groups"]["black"]["male"]["84"]
    mins = group["min_score_for_percentile_1_to_99"]
    n = 60
    assert mesa.percentile(mins[n - 1], 84, "M", "black").percentile >= n
    assert mesa.percentile(mins[n] - 0.5, 84, "M", "black").percentile == n
    assert mesa.percentile(0, 84, "M", "black").percentile == 0
    assert mesa.percentile(1e6, 84, "M", "black").percentile == 99
    assert mesa.percentile(10, 84, "M", "black").nonzero_prevalence_pct == group["nonzero_pct"]


@pytest.mark.parametrize("age", [44, 44.99, 85, 90])
def test_ages_outside_45_84_get_the_outside_message(age: float) -> None:
    got = mesa.percentile(100, age, "F", "white")
    assert got.percentile is None
    assert "outside the MESA reference" in got.message


def test_unknown_race_gives_no_number_but_each_groups_percentile() -> None:
    got = mesa.percentile(100, 60, "M", None)
    assert got.percentile is None and "race not given" in got.message
    assert set(got.by_race) == set(mesa.RACES)
    for race, value in got.by_race.items():
        assert value == mesa.percentile(100, 60, "M", race).percentile
    assert "MESA covers only" in got.race_statement


@pytest.mark.parametrize("text, race", [("Caucasian", "white"), ("African American", "black"),
                                        ("Hispanic/Latino", "hispanic"), ("CHINESE", "chinese"),
                                        ("Asian", None), ("white and black", None), ("", None)])
def test_ethnic_group_text_maps_to_a_mesa_group_or_none(text: str, race: str | None) -> None:
    assert mesa.normalise_race(text) == race


def test_a_damaged_reference_file_is_named(tmp_path) -> None:
    bad = tmp_path / "mesa.json"
    bad.write_text('{"ages": [45, 84], "groups": {}}')
    with pytest.raises(ValueError, match="mesa.json"):
        mesa.load_reference(str(bad))


WORKED = chd_risk.RiskFactors(age=70, sex="M", race="hispanic", total_cholesterol=190, hdl=50, sbp=130,
                              bp_medication=True, lipid_medication=False, smoker=False, diabetes=False,
                              family_history=False)


def test_worked_example_of_the_publication_gives_3_06_percent() -> None:
    risk = chd_risk.chd_risk(WORKED, 0)
    assert round(risk.with_cac_pct, 2) == 3.06
    assert risk.without_cac_pct is not None and risk.message == ""


def test_risk_rises_with_calcium_and_matches_the_equation_by_hand() -> None:
    import math

    eq = json.loads((mesa.resource_path(chd_risk.RISK_FILE)).read_text())
    b = eq["with_cac"]["beta"]
    lin = (b["age"] * 70 + b["male"] + b["hispanic"] + b["total_cholesterol"] * 190 + b["hdl"] * 50
           + b["sbp"] * 130 + b["bp_medication"] + b["ln_cac_plus_1"] * math.log(401))
    expected = 100 * (1 - eq["with_cac"]["S0"] ** math.exp(lin))
    assert chd_risk.chd_risk(WORKED, 400).with_cac_pct == pytest.approx(expected, rel=1e-12)
    assert chd_risk.chd_risk(WORKED, 400).with_cac_pct > chd_risk.chd_risk(WORKED, 0).with_cac_pct


def test_validity_range_and_missing_factors_are_stated() -> None:
    from dataclasses import replace

    assert chd_risk.chd_risk(replace(WORKED, age=85), 10).with_cac_pct is not None
    old = chd_risk.chd_risk(replace(WORKED, age=86), 10)
    assert old.with_cac_pct is None and "outside" in old.message
    assert "without known CHD" in chd_risk.chd_risk(replace(WORKED, known_chd=True), 10).message
    missing = chd_risk.chd_risk(replace(WORKED, hdl=None, sbp=None), 10)
    assert missing.with_cac_pct is None and "hdl" in missing.message and "sbp" in missing.message
    assert "not a MESA group" in chd_risk.chd_risk(replace(WORKED, race="asian"), 10).message
