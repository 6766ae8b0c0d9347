"""The contract every registered analysis keeps (see docs/contributing.md).

Parametrised over the registry, so a new analysis is checked the moment it has its line
there: its folder has the file roles; its parameters round-trip through JSON and refuse
values outside their declarations; ``prepare`` refuses a study of the wrong modality with
the input error; ``run`` on its small example study gives a JSON result with provenance;
its artifacts never land in a source folder; and a study whose files lack every optional
(type 2/3) patient and study attribute still runs and writes DICOM that dciodvfy passes.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pydicom
import pytest

from dicom_validation import assert_valid_dicom
from workstation.analyses import get, names
from workstation.analyses.base import InputError
from workstation.compute.backend import cpu_backend
from workstation.core.params import Params, specs
from workstation.core.study import FrameRef, Series, Study
from workstation.io.dicom import scan
from workstation.io.writers import SourceFolderError
from workstation.report.model import ReportSection

ROLES = ("params.py", "prepare.py", "logic.py", "result.py", "artifacts.py", "report.py", "panel.py")
#: Type 2 and 3 attributes of the patient, study and series modules a source may lack.
OPTIONAL = ("PatientName", "PatientBirthDate", "PatientSex", "PatientAge", "StudyTime", "ReferringPhysicianName",
            "StudyID", "AccessionNumber", "StudyDescription", "SeriesDescription", "Manufacturer",
            "InstitutionName", "BodyPartExamined", "PatientPosition", "SeriesDate", "AcquisitionDate",
            "ContentDate", "KVP", "ConvolutionKernel")

pytestmark = pytest.mark.parametrize("name", names())


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each analysis's example study, written once per module."""
    root = tmp_path_factory.mktemp("examples")
    found: dict[str, Path] = {}
    for name in names():
        folder = root / name / "study"
        analysis = get(name)
        assert analysis.example is not None, f"{name} declares no example study"
        analysis.example(folder)
        found[name] = folder
    return found


def _run(name: str, folder: Path) -> tuple[Any, Any, Study]:
    analysis = get(name)
    (study,) = [s for s in scan(folder).studies if s.series]
    inputs = analysis.prepare(study, None)
    return inputs, analysis.run(inputs, analysis.default_params(), cpu_backend(), None), study


def test_folder_has_every_file_role(name: str) -> None:
    analysis = get(name)
    package = importlib.import_module(_package_of(name))
    folder = Path(package.__file__).parent
    missing = [role for role in ROLES if not (folder / role).is_file()]
    assert not missing, f"{name} lacks {missing}"
    assert analysis.panel and analysis.panel.startswith(f"{package.__name__}.panel:")
    for part in ("artifacts", "estimate_memory", "report", "example"):
        assert getattr(analysis, part) is not None, f"{name} declares no {part}"


def _package_of(name: str) -> str:
    from workstation.analyses.registry import ANALYSES

    return ANALYSES[name]


def test_params_round_trip_through_json(name: str) -> None:
    params_type = get(name).params_type
    assert issubclass(params_type, Params) and dataclasses.is_dataclass(params_type)
    defaults = params_type()
    assert params_type.from_json(json.loads(json.dumps(defaults.to_json()))) == defaults
    changed = {}
    for spec in specs(params_type):  # every declared range at its upper end, every choice at its last value
        if spec.choices:
            changed[spec.name] = spec.choices[-1]
        elif spec.info.hi is not None and spec.base in (int, float):
            changed[spec.name] = spec.base(spec.info.hi)
    varied = dataclasses.replace(defaults, **changed)
    assert varied != defaults or not changed
    assert params_type.from_json(json.loads(json.dumps(varied.to_json()))) == varied


def test_params_refuse_values_outside_their_declarations(name: str) -> None:
    params_type = get(name).params_type
    declared = 0
    for spec in specs(params_type):
        if spec.info.lo is not None and spec.base in (int, float):
            with pytest.raises(ValueError, match=spec.name):
                params_type(**{spec.name: spec.base(spec.info.lo - 1)})
            declared += 1
        if spec.info.hi is not None and spec.base in (int, float):
            with pytest.raises(ValueError, match=spec.name):
                params_type(**{spec.name: spec.base(spec.info.hi + 1)})
        if spec.choices:
            with pytest.raises(ValueError, match=spec.name):
                params_type(**{spec.name: "no-such-choice"})
            declared += 1
    assert declared, f"{name} declares no range or choice for any parameter"


def test_prepare_refuses_a_wrong_modality_with_the_input_error(name: str, tmp_path: Path) -> None:
    # nine planes at three positions: enough slices and time points, but ultrasound
    frames = [FrameRef(tmp_path / f"{k}.dcm", f"1.2.3.{k}", position=(0.0, 0.0, float(k % 3)),
                       orientation=(1, 0, 0, 0, 1, 0), rows=8, columns=8) for k in range(9)]
    study = Study(uid="1.2.3", series=[Series(uid="1.2.3.9", study_uid="1.2.3", modality="US", frames=frames)])
    with pytest.raises(InputError):
        get(name).prepare(study, None)


def test_run_on_the_example_gives_json_with_provenance(name: str, examples: dict[str, Path]) -> None:
    analysis = get(name)
    inputs, result, _study = _run(name, examples[name])
    record = json.loads(json.dumps(result.to_json()))
    assert record["analysis"] == name
    prov = record["provenance"]
    assert prov["analysis"] == name and prov["software"].startswith("workstation ")
    assert prov["inputs"]["kind"] == "instances" and len(prov["inputs"]["sha256"]) == 64
    assert prov["params"] == json.loads(json.dumps(analysis.default_params().to_json()))
    assert prov["device"] == "cpu"
    section = analysis.report(result, inputs)  # type: ignore[misc]
    assert isinstance(section, ReportSection) and section.provenance == result.provenance
    need = analysis.estimate_memory(inputs, analysis.default_params(), cpu_backend())  # type: ignore[misc]
    assert isinstance(need, int) and need > 0
    if analysis.findings is not None:  # its part of a study report: items traceable to the JSON
        from workstation.io.writers import plain_json
        from workstation.report.findings import lookup

        found = analysis.findings(plain_json(result.to_json()))
        assert found.sentence and found.items
        for item in found.items:
            assert item.key, item.label
            lookup(plain_json(result.to_json()), item.key)


def test_artifacts_never_land_in_a_source_folder(name: str, examples: dict[str, Path], tmp_path: Path) -> None:
    analysis = get(name)
    source = examples[name]
    inputs, result, study = _run(name, source)
    before = sorted(p.relative_to(source) for p in source.rglob("*"))
    for target in (source, source / "results"):
        with pytest.raises(SourceFolderError):
            analysis.write_artifacts(result, inputs, target, names=analysis.artifacts.names(), study=study)
    assert sorted(p.relative_to(source) for p in source.rglob("*")) == before
    written = analysis.write_artifacts(result, inputs, tmp_path / "out", names=analysis.artifacts.names(), study=study)
    assert written and all(p.is_file() and source.resolve() not in p.resolve().parents for p in written)


def test_missing_optional_attributes_are_unknown_and_dicom_out_is_valid(name: str, examples: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    shutil.copytree(examples[name], folder)
    for path in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        for keyword in OPTIONAL:
            if keyword in ds:
                delattr(ds, keyword)
        ds.save_as(path)
    analysis = get(name)
    inputs, result, study = _run(name, folder)
    json.dumps(result.to_json())
    written = analysis.write_artifacts(result, inputs, tmp_path / "out", names=analysis.artifacts.names(), study=study)
    assert written
    dicom = [p for p in written if p.suffix == ".dcm"]
    for path in dicom:  # every DICOM object says how it was made
        assert result.provenance.inputs.sha256.encode() in path.read_bytes(), path.name
    if dicom:
        assert_valid_dicom(dicom)
        for path in dicom:
            ds = pydicom.dcmread(path)
            assert ds.StudyInstanceUID == study.uid  # a derived object stays in its source's study
            assert ds.PatientID == study.patient_id
