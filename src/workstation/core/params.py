"""Parameters of an analysis: a frozen dataclass whose fields say their unit, default and range.

Plain data (no Qt, no analysis): analyses declare their ``params.py`` with it, the batch
command line and the panels read the declarations.

Declare each field with :func:`param`::

    @dataclass(frozen=True)
    class MyParams(Params):
        threshold_hu: float = param(130.0, unit="HU", lo=50, hi=1000, label="Threshold")
        method: str = param("csvd", choices=("ssvd", "csvd", "osvd"))

:class:`Params` checks every value against its declaration when the dataclass is made
(out of range, not a choice, wrong type: ``ValueError`` naming the field), so the panel,
the batch command line (``--param``, ``--inputs``) and JSON all get the same checks.
:func:`specs` lists the declarations (the panel builds its controls from them,
``workstation-batch list`` prints them); :func:`from_text` parses command-line text;
:meth:`Params.to_json` / :meth:`Params.from_json` round-trip a parameter set.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections import abc
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar, Union

P = TypeVar("P", bound="Params")
_MISSING: Any = dataclasses.MISSING


@dataclass(frozen=True)
class ParamInfo:
    """What a field declares besides its type and default."""

    unit: str = ""
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: tuple[Any, ...] = ()
    label: str = ""
    doc: str = ""
    step: Optional[float] = None
    json_key: str = ""
    panel: bool = True
    none_text: str = ""
    parse: Optional[Callable[[str], Any]] = None


def param(default: Any = _MISSING, *, unit: str = "", lo: Optional[float] = None, hi: Optional[float] = None,
          choices: Sequence[Any] = (), label: str = "", doc: str = "", step: Optional[float] = None,
          json_key: str = "", panel: bool = True, none_text: str = "", parse: Optional[Callable[[str], Any]] = None,
          default_factory: Any = _MISSING) -> Any:
    """A dataclass field carrying its :class:`ParamInfo` (unit, valid range or choices...).

    ``lo``/``hi`` bound numbers (and every number inside a tuple); ``choices`` lists the
    allowed values; ``panel=False`` keeps a field out of the panel's generated controls
    (set by interaction instead, like voxels picked in the viewer); ``none_text`` is what
    a control shows for ``None`` ("unknown" unless given, e.g. "auto"); ``json_key``
    names the field in JSON when that differs from its name.  ``parse`` reads the
    command-line / CSV text of a structured value (``"x,y,z;x,y,z"`` for a list of
    points, say) into the field's type; without it such text is read as JSON.  It
    raises ``ValueError`` for text it cannot read.
    """
    info = ParamInfo(unit, lo, hi, tuple(choices), label, doc, step, json_key, panel, none_text, parse)
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={"param": info})
    return dataclasses.field(default=default, metadata={"param": info})


@dataclass(frozen=True)
class ParamSpec:
    """One field of a parameters dataclass, resolved: name, type, default, declaration."""

    name: str
    type: Any
    default: Any
    info: ParamInfo

    @property
    def optional(self) -> bool:
        """``None`` is allowed (the analysis then decides, e.g. from the image header)."""
        return _is_optional(self.type)

    @property
    def base(self) -> Any:
        """The type without ``Optional``."""
        return _strip_optional(self.type)

    @property
    def label(self) -> str:
        return self.info.label or self.name.replace("_", " ")

    @property
    def choices(self) -> tuple[Any, ...]:
        """Allowed values (declared, or those of a ``Literal`` type); empty when any value goes."""
        return self.info.choices or _literal_choices(self.base)

    def describe(self) -> str:
        """``130.0 HU, 50 to 1000`` style text for ``workstation-batch list`` and tooltips."""
        parts = [f"default {self.default!r}" + (f" {self.info.unit}" if self.info.unit else "")]
        if self.info.lo is not None or self.info.hi is not None:
            lo = "-inf" if self.info.lo is None else f"{self.info.lo:g}"
            hi = "inf" if self.info.hi is None else f"{self.info.hi:g}"
            parts.append(f"range {lo} to {hi}")
        if self.choices:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        if self.optional:
            parts.append("or none")
        return "; ".join(parts)


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _strip_optional(tp: Any) -> Any:
    if not _is_optional(tp):
        return tp
    rest = [a for a in typing.get_args(tp) if a is not type(None)]
    return rest[0] if len(rest) == 1 else Union[tuple(rest)]


def _literal_choices(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if typing.get_origin(tp) is typing.Literal else ()


def specs(params_type: type) -> tuple[ParamSpec, ...]:
    """The declared fields of ``params_type`` in order (undeclared fields get an empty info)."""
    hints = typing.get_type_hints(params_type)
    out = []
    for f in dataclasses.fields(params_type):
        if f.default is not _MISSING:
            default = f.default
        elif f.default_factory is not _MISSING:
            factory: Any = f.default_factory
            default = factory()
        else:
            default = None
        out.append(ParamSpec(f.name, hints[f.name], default, f.metadata.get("param", ParamInfo())))
    return tuple(out)


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _numbers(v)]
    return []


def check_value(spec: ParamSpec, value: Any) -> None:
    """Raise ``ValueError`` naming the field when ``value`` breaks its declaration."""
    if value is None:
        if spec.optional:
            return
        raise ValueError(f"{spec.name} may not be empty")
    unit = f" {spec.info.unit}" if spec.info.unit else ""
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{spec.name} must be one of {', '.join(map(str, spec.choices))}, got {value!r}")
    for number in _numbers(value):
        if not math.isfinite(number):
            raise ValueError(f"{spec.name} must be finite, got {value!r}")
        if spec.info.lo is not None and number < spec.info.lo:
            raise ValueError(f"{spec.name} = {value!r}{unit} is below its minimum {spec.info.lo:g}{unit}")
        if spec.info.hi is not None and number > spec.info.hi:
            raise ValueError(f"{spec.name} = {value!r}{unit} is above its maximum {spec.info.hi:g}{unit}")
    base = spec.base
    if base in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{spec.name} must be a number, got {value!r}")
    if base is bool and not isinstance(value, bool):
        raise ValueError(f"{spec.name} must be true or false, got {value!r}")
    if base is str and not isinstance(value, str):
        raise ValueError(f"{spec.name} must be text, got {value!r}")


def _coerce(tp: Any, value: Any) -> Any:
    """JSON-ish ``value`` (lists, string keys) as the declared type ``tp`` (tuples, int keys)."""
    if value is None:
        return None
    tp = _strip_optional(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and isinstance(value, (list, tuple)):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v) for v in value)
        if args and len(args) == len(value):
            return tuple(_coerce(a, v) for a, v in zip(args, value))
        return tuple(value)
    if origin in (abc.Mapping, dict):
        key_type, value_type = args if len(args) == 2 else (str, Any)
        return {_coerce(key_type, k): _coerce(value_type, v) for k, v in dict(value).items()}
    if tp is int and isinstance(value, str):
        return int(value)
    return value


def from_text(spec: ParamSpec, text: str) -> Any:
    """A command-line or CSV cell as the field's type (``none`` / empty for an optional field)."""
    stripped = text.strip()
    if spec.optional and stripped.lower() in ("", "none", "null"):
        return None
    base = spec.base
    if spec.info.parse is not None:
        try:
            return _coerce(spec.type, spec.info.parse(stripped))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{spec.name}: cannot read {text!r}: {exc}") from None
    try:
        if base is bool:
            lowered = stripped.lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(stripped)
            return lowered in ("1", "true", "yes", "on")
        if base in (int, float):
            number = float(stripped)
            if base is int and number != int(number):
                raise ValueError(stripped)
            return int(number) if base is int else number
        if base is str or spec.choices:
            return stripped
        return _coerce(base, json.loads(stripped))
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValueError(f"{spec.name}: cannot read {text!r} as {_type_words(base)}") from None


def _type_words(tp: Any) -> str:
    if tp is bool:
        return "true/false"
    if tp in (int, float):
        return "a number" if tp is float else "a whole number"
    return "JSON (e.g. [1, 2, 3])"


class Params:
    """Base of every analysis's parameters dataclass: checks the declarations, JSON round trip."""

    def __post_init__(self) -> None:
        for spec in specs(type(self)):
            value = _coerce(spec.type, getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)
            check_value(spec, value)

    def to_json(self) -> dict[str, Any]:
        """Field values as JSON types, keyed by field name (or the field's ``json_key``)."""
        return {spec.info.json_key or spec.name: _jsonable(getattr(self, spec.name)) for spec in specs(type(self))}

    @classmethod
    def from_json(cls: type[P], data: Mapping[str, Any]) -> P:
        """The parameters :meth:`to_json` wrote (unknown keys are an error)."""
        by_key = {spec.info.json_key or spec.name: spec for spec in specs(cls)}
        by_key.update({spec.name: spec for spec in specs(cls)})
        unknown = sorted(set(data) - set(by_key))
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for {cls.__name__}")
        return cls(**{by_key[k].name: _coerce(by_key[k].type, v) for k, v in data.items()})

    def replace(self: P, **changes: Any) -> P:
        """A copy with some values changed (checked like a new instance)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def with_overrides(params_type: type[P], base: Optional[P], texts: Mapping[str, str]) -> P:
    """``base`` (default: the defaults) with ``name -> text`` values parsed and checked."""
    by_name = {spec.name: spec for spec in specs(params_type)}
    unknown = sorted(set(texts) - set(by_name))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(by_name))}")
    start = base if base is not None else params_type()
    changes = {name: from_text(by_name[name], text) for name, text in texts.items()}
    return dataclasses.replace(start, **changes)  # type: ignore[type-var]
