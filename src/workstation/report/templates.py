"""Report templates per exam type: JSON files, built in and in the user's settings folder.

A template names the exam, the text each section starts with (and a hint shown while
it is empty), and which analyses' findings go into which section::

    {"format_version": 1, "name": "ct-calcium-score", "title": "CT coronary calcium score",
     "modality": "CT", "analyses": {"calcium": "findings"},
     "sections": {"technique": {"text": "Non-contrast ECG-gated CT ...", "hint": "kV, slice thickness"},
                  "impression": {"hint": "risk category and recommendation"}}}

Built-in templates are ``resources/report_templates/*.json``; the user's are
``<settings folder>/report_templates/*.json`` (:func:`user_templates_dir`).  A user
template of the same name replaces a built-in one; a faulty user file is reported by
name and costs only itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from workstation.core.paths import ORGANIZATION, config_home, resource_file
from workstation.report.document import SECTIONS, Section, StudyReport

FORMAT_VERSION = 1


class TemplateError(ValueError):
    """A template file cannot be used; the message names the file and the fault."""


@dataclass(frozen=True)
class Template:
    """One exam type's report layout."""

    name: str
    title: str
    modality: str = ""
    analyses: Mapping[str, str] = field(default_factory=dict)  # analysis name -> section key
    texts: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    source: Optional[Path] = None

    def new_report(self, study_uid: str) -> StudyReport:
        """An empty draft of this template for a study."""
        sections = tuple(Section(key, title, self.texts.get(key, ""), (), self.hints.get(key, ""))
                         for key, title in SECTIONS.items())
        return StudyReport(study_uid, self.name, self.title, sections)

    def section_for(self, analysis: str) -> str:
        """Where findings of ``analysis`` go (``findings`` unless the template says otherwise)."""
        return self.analyses.get(analysis, "findings")


def builtin_templates_dir() -> Path:
    return resource_file("report_templates")


def user_templates_dir() -> Path:
    """``<settings folder>/report_templates``: the user's own templates."""
    return config_home() / ORGANIZATION / "report_templates"


def parse(data: Any, where: str) -> Template:
    """A :class:`Template` from parsed JSON; :class:`TemplateError` names ``where`` and the fault."""
    if not isinstance(data, Mapping):
        raise TemplateError(f"{where}: a template is a JSON object")
    if data.get("format_version") != FORMAT_VERSION:
        raise TemplateError(f"{where}: format_version must be {FORMAT_VERSION}")
    name, title = data.get("name"), data.get("title")
    if not isinstance(name, str) or not name.strip() or not isinstance(title, str) or not title.strip():
        raise TemplateError(f"{where}: 'name' and 'title' must be non-empty texts")
    sections = data.get("sections", {})
    if not isinstance(sections, Mapping):
        raise TemplateError(f"{where}: 'sections' must map section keys to {{text, hint}}")
    unknown = [k for k in sections if k not in SECTIONS]
    if unknown:
        raise TemplateError(f"{where}: unknown sections {unknown}; known: {', '.join(SECTIONS)}")
    texts, hints = {}, {}
    for key, body in sections.items():
        if not isinstance(body, Mapping) or not all(isinstance(body.get(k, ""), str) for k in ("text", "hint")):
            raise TemplateError(f"{where}: section {key!r} must be {{\"text\": ..., \"hint\": ...}}")
        texts[key], hints[key] = str(body.get("text", "")), str(body.get("hint", ""))
    analyses = data.get("analyses", {})
    if not isinstance(analyses, Mapping) or any(v not in SECTIONS for v in analyses.values()):
        raise TemplateError(f"{where}: 'analyses' must map analysis names to section keys")
    return Template(name.strip(), title.strip(), str(data.get("modality", "")),
                    {str(k): str(v) for k, v in analyses.items()}, texts, hints)


def read_template(path: Path) -> Template:
    """One template file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateError(f"{path}: not a readable JSON template ({exc})") from exc
    template = parse(data, str(path))
    return Template(template.name, template.title, template.modality, template.analyses, template.texts,
                    template.hints, Path(path))


@dataclass(frozen=True)
class TemplateCatalogue:
    """Usable templates by name (a user's replacing a built-in one) and the user files' faults."""

    templates: Mapping[str, Template]
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> Template:
        try:
            return self.templates[name]
        except KeyError:
            raise KeyError(f"no report template {name!r}; known: {', '.join(sorted(self.templates))}") from None


def _read_folder(folder: Path, problems: list[str]) -> dict[str, Template]:
    found: dict[str, Template] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            template = read_template(path)
        except TemplateError as exc:
            problems.append(str(exc))
            continue
        found[template.name] = template
    return found


def catalogue(user_dir: Optional[Path] = None) -> TemplateCatalogue:
    """Built-in and user templates; a faulty built-in template is a programming error and raises."""
    builtin: dict[str, Template] = {}
    for path in sorted(builtin_templates_dir().glob("*.json")):
        template = read_template(path)
        builtin[template.name] = template
    problems: list[str] = []
    user = _read_folder(user_dir if user_dir is not None else user_templates_dir(), problems)
    return TemplateCatalogue({**builtin, **user}, tuple(problems))
