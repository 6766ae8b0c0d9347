"""Routing rules: which analyses a received study should get, as a pure function.

A rule names an analysis (and its parameter overrides) and the series it wants:
modality and body part as shell patterns (``CT``, ``CHEST*``; case ignored), a
description as a regular expression searched in the series and study descriptions
(case ignored).  Empty criteria match anything.  :func:`route` applies the rules to a
study as indexed in the local database and returns the requests, one per analysis and
parameter set, in rule order; it runs nothing and touches nothing, so whatever queues
and runs analyses (a thread here, a persistent job queue later) takes its output.

Rules are kept as JSON, e.g.::

    [{"analysis": "calcium", "modality": "CT", "description": "calcium|cac"},
     {"analysis": "segmentation", "modality": "CT", "body_part": "CHEST",
      "params": {"model": "chest-organs"}}]
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workstation.io.database_rows import SeriesRecord, StudyRecord
from workstation.io.pacs.errors import Fault, PacsError


@dataclass(frozen=True)
class RoutingRule:
    """Run ``analysis`` (with ``params``) on a study having a series that matches."""

    analysis: str
    modality: str = ""
    body_part: str = ""
    description: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    def matches(self, study: StudyRecord, series: SeriesRecord) -> bool:
        if self.modality and not fnmatch.fnmatchcase(series.modality.upper(), self.modality.upper()):
            return False
        if self.body_part and not fnmatch.fnmatchcase(series.body_part.upper(), self.body_part.upper()):
            return False
        if self.description:
            text = f"{series.description}\n{study.description}"
            if re.search(self.description, text, re.IGNORECASE) is None:
                return False
        return True


@dataclass(frozen=True)
class AnalysisRequest:
    """One analysis to run on one study: what a job queue receives."""

    analysis: str
    study_uid: str
    params: Mapping[str, str] = field(default_factory=dict)
    series_uids: tuple[str, ...] = ()


def route(study: StudyRecord, rules: Sequence[RoutingRule]) -> list[AnalysisRequest]:
    """The analyses ``rules`` ask for ``study``, each once, with the series that matched."""
    requests: dict[tuple[str, str], AnalysisRequest] = {}
    for rule in rules:
        matched = tuple(s.series_uid for s in study.series if s.is_image and rule.matches(study, s))
        if not matched:
            continue
        key = (rule.analysis, json.dumps(dict(rule.params), sort_keys=True))
        if key not in requests:
            requests[key] = AnalysisRequest(rule.analysis, study.study_uid, dict(rule.params), matched)
    return list(requests.values())


def rules_from_json(text: str) -> list[RoutingRule]:
    """Rules from their JSON form; :class:`PacsError` (``CONFIG``) names a bad rule."""
    if not text.strip():
        return []
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise PacsError("routing rules", Fault.CONFIG, f"not valid JSON ({exc})") from None
    if not isinstance(entries, list):
        raise PacsError("routing rules", Fault.CONFIG, "expected a list of rules")
    return [_rule(i, entry) for i, entry in enumerate(entries, start=1)]


def _rule(number: int, entry: Any) -> RoutingRule:
    where = f"routing rule {number}"
    if not isinstance(entry, dict) or not str(entry.get("analysis", "")).strip():
        raise PacsError(where, Fault.CONFIG, "each rule needs an \"analysis\"")
    unknown = set(entry) - {"analysis", "modality", "body_part", "description", "params"}
    if unknown:
        raise PacsError(where, Fault.CONFIG, f"unknown keys {sorted(unknown)}")
    description = str(entry.get("description", ""))
    try:
        re.compile(description)
    except re.error as exc:
        raise PacsError(where, Fault.CONFIG, f"description is not a valid regular expression ({exc})") from None
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise PacsError(where, Fault.CONFIG, "params must be an object of NAME: VALUE")
    return RoutingRule(str(entry["analysis"]).strip(), str(entry.get("modality", "")), str(entry.get("body_part", "")),
                       description, {str(k): str(v) for k, v in params.items()})


def rules_to_json(rules: Sequence[RoutingRule]) -> str:
    return json.dumps([{"analysis": r.analysis, "modality": r.modality, "body_part": r.body_part,
                        "description": r.description, "params": dict(r.params)} for r in rules], indent=2)
