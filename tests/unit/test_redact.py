"""The redaction rule: whole-token matches of the identity, never the program's own words."""

from __future__ import annotations

from typing import Iterator

import pytest

from workstation.core.redact import add_vocabulary, clear_sensitive, redact, register_sensitive


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_sensitive()
    yield
    clear_sensitive()


def test_underscore_and_other_punctuation_separate_tokens() -> None:
    register_sensitive(["Vandeleur^Ottoline", "XK-448812"])
    assert redact("VANDELEUR_OTTOLINE_001.dcm") == "<redacted>_<redacted>_001.dcm"
    assert redact("vandeleur-ottoline.v2") == "<redacted>-<redacted>.v2"
    assert redact("id XK-448812, again xk-448812.") == "id <redacted>, again <redacted>."


def test_only_whole_tokens_match() -> None:
    register_sensitive(["Vandeleur^Ottoline", "XK-448812"])
    text = "Vandeleurs and Ottolineish; XK-4488120 and AXK-448812"
    assert redact(text) == text


def test_program_vocabulary_is_never_redacted() -> None:
    add_vocabulary(["mammo-cad", "chest-organs"])
    register_sensitive(["Mammo^Tess", "DEMO^CHEST"])
    assert redact("mammo-cad failed for Mammo") == "mammo-cad failed for <redacted>"
    assert redact("model 'chest-organs' on a chest of DEMO") == "model 'chest-organs' on a <redacted> of <redacted>"
    assert redact("MAMMO-CAD.json") == "MAMMO-CAD.json"


def test_the_running_program_registers_its_vocabulary(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """Analysis names (batch and GUI start-up) and model names (any manifest read) are the program's words."""
    from workstation.jobs.batch import main
    from workstation.ml.registry import list_models

    main(["list"])
    names = [m.name for m in list_models()]
    assert "mammo-cad" in capsys.readouterr().out and "chest-organs" in names
    register_sensitive(["Mammo^Tess", "Demo^Chest"])
    assert redact("mammo-cad with model 'chest-organs'") == "mammo-cad with model 'chest-organs'"


def test_markers_survive_identities_that_look_like_them() -> None:
    register_sensitive(["Path^Name", "Redacted"])
    out = redact("/data/Path/x.dcm for Path Name")
    assert out.startswith("<path#") and out.endswith(" for <redacted>")  # the whole name, as one
    assert redact("<name> and <redacted>") == "<name> and <redacted>"


def test_person_names_and_foreign_paths_without_registration() -> None:
    assert redact("Doe^Jane at /srv/pacs/Doe/IM1") .startswith("<name> at <path#")


def test_short_parts_are_not_registered_alone() -> None:
    register_sensitive(["Li^Wu", "ID"])
    assert redact("Li, Wu, ID") == "Li, Wu, ID"  # two-letter parts alone would hide half the language
    assert redact("Li^Wu and Li Wu") == "<redacted> and <redacted>"
