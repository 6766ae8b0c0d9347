"""Parameter declarations: checks, text parsing, JSON round trip, descriptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional

import pytest

from workstation.core.params import Params, from_text, param, specs, with_overrides


@dataclass(frozen=True)
class Demo(Params):
    level: float = param(1.0, unit="mm", lo=0.0, hi=10.0)
    count: int = param(3, lo=1, hi=9)
    mode: Literal["a", "b"] = param("a")
    age: Optional[float] = param(None, unit="y", lo=0.0, hi=120.0)
    on: bool = param(True)
    point: Optional[tuple[float, float, float]] = param(None, lo=-100.0, hi=100.0)
    names: Mapping[int, str] = param(default_factory=dict)
    label: str = param("x", json_key="label_text")


def test_declarations_are_checked_on_construction() -> None:
    with pytest.raises(ValueError, match="level = 11.0 mm is above its maximum 10 mm"):
        Demo(level=11.0)
    with pytest.raises(ValueError, match="count = 0 is below its minimum 1"):
        Demo(count=0)
    with pytest.raises(ValueError, match="mode must be one of a, b"):
        Demo(mode="c")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="point"):
        Demo(point=(0.0, 0.0, 101.0))
    with pytest.raises(ValueError, match="level must be finite"):
        Demo(level=float("nan"))
    with pytest.raises(ValueError, match="on must be true or false"):
        Demo(on=1)  # type: ignore[arg-type]
    assert Demo(age=None).age is None and Demo(level=2).level == 2.0 and isinstance(Demo(level=2).level, float)


def test_text_from_the_command_line() -> None:
    by = {s.name: s for s in specs(Demo)}
    assert from_text(by["level"], " 2.5 ") == 2.5 and from_text(by["count"], "4") == 4
    assert from_text(by["on"], "no") is False and from_text(by["age"], "none") is None
    assert from_text(by["point"], "[1, 2, 3]") == (1.0, 2.0, 3.0)
    for spec, text in ((by["count"], "2.5"), (by["on"], "maybe"), (by["level"], "abc")):
        with pytest.raises(ValueError, match=f"{spec.name}: cannot read"):
            from_text(spec, text)
    p = with_overrides(Demo, None, {"level": "3", "names": '{"2": "b"}'})
    assert p.level == 3.0 and p.names == {2: "b"}
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        with_overrides(Demo, None, {"nope": "1"})


def test_json_round_trip_with_tuples_int_keys_and_json_keys() -> None:
    p = Demo(point=(1.0, 2.0, 3.0), names={1: "a", 7: "b"}, label="y", age=40.0)
    data = p.to_json()
    assert data["point"] == [1.0, 2.0, 3.0] and data["names"] == {"1": "a", "7": "b"} and data["label_text"] == "y"
    assert Demo.from_json(data) == p
    with pytest.raises(ValueError, match="unknown parameter"):
        Demo.from_json({"bogus": 1})


def test_descriptions_name_unit_range_and_choices() -> None:
    by = {s.name: s for s in specs(Demo)}
    assert by["level"].describe() == "default 1.0 mm; range 0 to 10"
    assert by["mode"].describe() == "default 'a'; one of a, b"
    assert by["age"].describe() == "default None y; range 0 to 120; or none"


def _pairs(text: str) -> tuple[tuple[float, float], ...]:
    """``a,b;c,d`` as pairs (a parser a structured field declares)."""
    out = []
    for part in text.split(";"):
        a, b = part.split(",")
        out.append((float(a), float(b)))
    return tuple(out)


@dataclass(frozen=True)
class Structured(Params):
    pairs: tuple[tuple[float, float], ...] = param((), lo=-10.0, hi=10.0, parse=_pairs, panel=False)
    plain: tuple[tuple[float, float], ...] = param(())


def test_a_structured_value_reads_its_own_text_and_keeps_its_checks() -> None:
    by = {s.name: s for s in specs(Structured)}
    assert from_text(by["pairs"], " 1,2; 3,-4 ") == ((1.0, 2.0), (3.0, -4.0))
    with pytest.raises(ValueError, match="pairs: cannot read '1,2,3'"):
        from_text(by["pairs"], "1,2,3")
    p = with_overrides(Structured, None, {"pairs": "1,2;3,4", "plain": "[[5, 6]]"})  # no parser: JSON
    assert p.pairs == ((1.0, 2.0), (3.0, 4.0)) and p.plain == ((5.0, 6.0),)
    with pytest.raises(ValueError, match="pairs = .* is above its maximum 10"):
        with_overrides(Structured, None, {"pairs": "1,20"})  # the range still holds for every number
    assert Structured.from_json(p.to_json()) == p
