"""Analysis results into a study report, through each analysis's registry entry.

Every registered analysis whose entry has a ``findings`` hook can fill a report: its
result JSON (in memory or as ``workstation-batch run`` wrote it,
``<results>/<StudyInstanceUID>/<name>.json``) becomes an
:class:`~workstation.report.document.Insertion` in the section its template names.  Key
images suggested by the findings are rendered from the analysis's own inputs, prepared
from the study again; they are used only when those inputs are the ones the result was
computed from (same SHA-256 over the SOP instances).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses import registry
from workstation.analyses.inputs import input_digest, pixel_arrays, source_instances
from workstation.core.key_images import KeyImageRecord
from workstation.core.study import Study
from workstation.report.document import Insertion, StudyReport
from workstation.report.findings import Findings, KeySuggestion
from workstation.report.images import percentile_window
from workstation.report.key_image_render import draw_annotations, render_plane
from workstation.report.templates import Template

log = logging.getLogger(__name__)


def reporting_analyses() -> list[str]:
    """Registered analyses that contribute findings to a study report."""
    out = []
    for name in registry.names():
        try:
            if registry.get(name).findings is not None:
                out.append(name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin costs only itself
            log.warning("analysis %s cannot report: %s", name, exc)
    return out


def findings_of(name: str, result_json: Mapping[str, Any]) -> Findings:
    hook = registry.get(name).findings
    if hook is None:
        raise ValueError(f"analysis {name!r} contributes no findings to a report")
    return hook(result_json)


def insertion_for(name: str, result_json: Mapping[str, Any]) -> Insertion:
    """The insertion of one analysis result (its findings, linked to the result by digest)."""
    return Insertion.of(name, registry.get(name).title, findings_of(name, result_json), result_json)


def insert_result(report: StudyReport, template: Template, name: str, result_json: Mapping[str, Any]) -> StudyReport:
    """``report`` with ``name``'s findings in the template's section (replacing older ones)."""
    return report.with_insertion(template.section_for(name), insertion_for(name, result_json))


def read_results(folder: Path) -> dict[str, dict[str, Any]]:
    """``<name>.json`` of every reporting analysis found in a study's results folder.

    Raises ``ValueError`` naming a file that is not a result JSON.
    """
    found = {}
    for name in reporting_analyses():
        path = Path(folder) / f"{name}.json"
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable result JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a result JSON is an object")
        found[name] = data
    return found


def compose(template: Template, study_uid: str, results: Mapping[str, Mapping[str, Any]]) -> StudyReport:
    """A draft of ``template`` with every result inserted (template's analyses first)."""
    report = template.new_report(study_uid)
    order = [n for n in template.analyses if n in results] + [n for n in results if n not in template.analyses]
    for name in order:
        report = insert_result(report, template, name, results[name])
    return report


@dataclass(frozen=True)
class RenderedKeyImage:
    record: KeyImageRecord
    rgb: NDArray[np.uint8]


def _plane(inputs: Any, suggestion: KeySuggestion) -> Optional[tuple[Any, str, int]]:
    """(2D values, SOP instance UID, slice index) of a suggestion in the analysis's inputs."""
    instances = source_instances(inputs)
    arrays = pixel_arrays(getattr(inputs, "volume", inputs))
    if suggestion.sop_instance_uid:
        uids = [i.split("/")[0] for i in instances]
        if suggestion.sop_instance_uid not in uids:
            return None
        index = uids.index(suggestion.sop_instance_uid)
    elif suggestion.slice_index is not None:
        index = suggestion.slice_index
    else:
        return None
    if len(arrays) == 1 and np.ndim(arrays[0]) == 3:
        volume = arrays[0]
        if not 0 <= index < volume.shape[0]:
            return None
        uid = instances[index].split("/")[0] if index < len(instances) else ""
        return np.asarray(volume[index]), uid, index
    if index < len(arrays) and np.ndim(arrays[index]) == 2:
        return np.asarray(arrays[index]), instances[index].split("/")[0] if index < len(instances) else "", 0
    return None


def suggested_key_images(study: Study, results: Mapping[str, Mapping[str, Any]]) -> list[RenderedKeyImage]:
    """The key images the results suggest, rendered from the study (see module doc)."""
    out: list[RenderedKeyImage] = []
    for name, result in results.items():
        suggestions = findings_of(name, result).key_images
        if not suggestions:
            continue
        analysis = registry.get(name)
        try:
            inputs = analysis.prepare(study, None)
        except Exception as exc:  # noqa: BLE001 - no key images, the report still goes out
            log.warning("%s: no key images (%s)", name, exc)
            continue
        wanted = ((result.get("provenance") or {}).get("inputs") or {}).get("sha256", "")
        if wanted and input_digest(inputs).sha256 != wanted:
            log.warning("%s: the study's images are not those of the result; no key images from it", name)
            continue
        for s in suggestions:
            found = _plane(inputs, s)
            if found is None:
                continue
            values, uid, index = found
            width, level = s.window if s.window is not None else percentile_window(values)
            rgb = draw_annotations(render_plane(values, width, level), s.annotations)
            series = next((x.uid for x in study.series if uid and uid in x.instance_uids), "")
            out.append(RenderedKeyImage(KeyImageRecord(study.uid, series, uid, None, index, 0, float(width),
                                                       float(level), s.caption, tuple(s.annotations)), rgb))
    return out
