"""The local study database: index, search, reopen without rescanning, cache limit, routing."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from workstation.core.volume import Volume
from workstation.demo.chest_ct import write_chest_ct
from workstation.io import dicom
from workstation.io.database import StudyDatabase, StudySearch
from workstation.io.dicom_scan import EXTRAS_KEY
from workstation.io.dicom_write import patient_tags, write_series
from workstation.io.pacs.cache import StudyCache
from workstation.io.pacs.errors import PacsError
from workstation.io.pacs.routing import RoutingRule, route, rules_from_json


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("user_studies")
    write_chest_ct(root / "chest", n_slices=46)
    mr = Volume(np.arange(4 * 16 * 16, dtype=np.int16).reshape(4, 16, 16), spacing=(4.0, 1.0, 1.0), modality="MR")
    write_series(mr, root / "mr", modality="MR", intercept=0.0, series_description="T1 axial",
                 tags={**patient_tags("Smith^Anna", "P-77", study_date="20230610", accession="ACC-5"),
                       "BodyPartExamined": "BRAIN"})
    shutil.copy(str(get_testdata_file("rtplan.dcm")), root / "mr" / "plan.dcm")
    return {"root": root, "chest": root / "chest", "mr": root / "mr"}


def _digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def db(tmp_path: Path, folders: dict[str, Path]) -> StudyDatabase:
    database = StudyDatabase(tmp_path / "studies.sqlite", cache_root=tmp_path / "cache")
    database.index_files([folders["root"]])
    return database


def test_search_by_name_id_dates_modality_accession(db: StudyDatabase) -> None:
    def uids(**keys: object) -> list[str]:
        return [r.patient_id for r in db.search(StudySearch(**keys))]  # type: ignore[arg-type]

    assert sorted(uids()) == ["DEMO-0001", "P-77", "id00001"]  # the RT plan is a study of its own
    assert uids(patient_name="chest") == ["DEMO-0001"]
    assert uids(patient_name="smith anna") == ["P-77"] and uids(patient_name="SMITH^A*") == ["P-77"]
    assert uids(patient_name="anna*") == [] and uids(patient_name="*anna") == ["P-77"]
    assert uids(patient_id="DEMO") == ["DEMO-0001"]
    assert uids(date_from=date(2024, 1, 1)) == ["DEMO-0001"]
    assert uids(date_from=date(2023, 6, 10), date_to=date(2023, 6, 10)) == ["P-77"]
    assert uids(date_from=date(2022, 1, 1), date_to=date(2022, 12, 31)) == []
    assert uids(modality="mr") == ["P-77"] and uids(modality="CT") == ["DEMO-0001"]
    assert uids(accession="ACC-5") == ["P-77"] and uids(accession="100%") == []


def test_records_hold_series_body_part_and_other_objects(db: StudyDatabase) -> None:
    chest = db.search(StudySearch(patient_id="DEMO-0001"))[0]
    assert chest.modalities == ("CT",) and chest.n_instances == 46 and chest.cached_bytes == 0
    assert chest.series[0].body_part == "CHEST" and chest.study_date == date(2024, 1, 15)
    plan = pydicom.dcmread(str(get_testdata_file("rtplan.dcm")))
    record = db.study(str(plan.StudyInstanceUID))
    assert record is not None and [s.modality for s in record.series] == ["RTPLAN"]
    assert not record.series[0].is_image


def test_reopened_study_loads_like_a_scan_without_reading_headers(
    db: StudyDatabase, folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned = dicom.scan(folders["chest"]).studies[0]
    before = _digest(folders["root"])

    def no_header(path: object) -> None:
        raise AssertionError("the index should make header reads unnecessary")

    monkeypatch.setattr(dicom, "read_header", no_header)
    study, problems = db.open_study(scanned.uid)
    assert problems == []
    series, reference = study.series[0], scanned.series[0]
    assert [f.path for f in series.frames] == [f.path for f in reference.frames]
    assert [f.position for f in series.frames] == [f.position for f in reference.frames]
    assert len(series.meta[EXTRAS_KEY]) == 46 and series.issues == reference.issues
    volume = dicom.load_series(series)
    monkeypatch.undo()
    expected = dicom.load_series(reference)
    np.testing.assert_array_equal(volume.array, expected.array)
    assert volume.spacing == expected.spacing and volume.origin == expected.origin
    assert (study.patient_id, study.accession_number, study.patient_age_years) == ("DEMO-0001", "DEMO0001", 55.0)
    assert _digest(folders["root"]) == before  # indexed in place: nothing copied or modified
    assert db.study(scanned.uid).last_opened is not None  # type: ignore[union-attr]


def test_changed_and_missing_files_are_noticed_on_reopen(tmp_path: Path, folders: dict[str, Path]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(folders["chest"], copy)
    db = StudyDatabase(tmp_path / "db.sqlite")
    study = db.index_files([copy]).studies[0]
    files = sorted(copy.glob("*.dcm"))
    files[0].unlink()
    ds = pydicom.dcmread(files[1])
    ds.SeriesDescription = "edited elsewhere, longer than before"
    ds.save_as(files[1])
    reopened, problems = db.open_study(study.uid)
    assert [p.path for p in problems] == [files[0]] and "no longer on disk" in problems[0].reason
    assert len(reopened.series[0].frames) == 45
    assert reopened.series[0].description == "edited elsewhere, longer than before"
    with pytest.raises(KeyError):
        db.open_study("1.2.3.4")


def test_cache_limit_evicts_least_recently_used_studies_only_from_the_cache(
    tmp_path: Path, folders: dict[str, Path]
) -> None:
    db = StudyDatabase(tmp_path / "db.sqlite")
    cache = StudyCache(db, tmp_path / "cache", limit_bytes=10**12)
    db.index_files([folders["mr"]])  # a user's folder: indexed in place
    cached: dict[str, list[Path]] = {}
    for seed in (0, 1):
        source = tmp_path / f"src{seed}"
        truth_files = write_series(Volume(np.zeros((3, 8, 8), np.int16), spacing=(1.0, 1.0, 1.0)), source,
                                   tags=patient_tags(f"Cache^{seed}", f"C{seed}"))
        landed = []
        for path in truth_files:
            ds = pydicom.dcmread(path)
            target = cache.path_for(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            landed.append(target)
        cache.commit(landed)
        cached[str(pydicom.dcmread(landed[0]).StudyInstanceUID)] = landed
    first, second = list(cached)
    db.open_study(first)  # the first is now the most recently used
    assert cache.present([pydicom.dcmread(p).SOPInstanceUID for p in cached[second]])
    one_study = sum(p.stat().st_size for p in cached[first])
    assert cache.usage_bytes() == one_study + sum(p.stat().st_size for p in cached[second])
    cache.limit_bytes = one_study
    assert cache.enforce_limit() == [second]
    assert not any(p.exists() for p in cached[second]) and all(p.exists() for p in cached[first])
    assert db.study(second) is None and cache.usage_bytes() == one_study
    assert cache.clear() == one_study and db.study(first) is None
    assert all(p.exists() for p in folders["mr"].iterdir())  # user files never touched
    assert db.search(StudySearch(patient_id="P-77"))


def test_routing_is_a_pure_function_of_the_indexed_study(db: StudyDatabase) -> None:
    chest = db.search(StudySearch(patient_id="DEMO-0001"))[0]
    brain = db.search(StudySearch(patient_id="P-77"))[0]
    rules = rules_from_json('[{"analysis": "calcium", "modality": "CT", "description": "calcium"},'
                            ' {"analysis": "segmentation", "body_part": "CHEST*", "params": {"min_volume_ml": 1}},'
                            ' {"analysis": "calcium", "modality": "C?"},'
                            ' {"analysis": "perfusion", "modality": "CT", "description": "^perfusion"}]')
    requests = route(chest, rules)
    assert [(r.analysis, dict(r.params)) for r in requests] == [("calcium", {}),
                                                                ("segmentation", {"min_volume_ml": "1"})]
    assert requests[0].series_uids == (chest.series[0].series_uid,) and requests[0].study_uid == chest.study_uid
    assert route(brain, rules) == [] and route(brain, [RoutingRule("x", body_part="brain")])[0].analysis == "x"
    assert route(chest, rules) == requests  # the same answer every time: nothing changed by routing


@pytest.mark.parametrize(("text", "words"), [
    ("{}", "list of rules"), ('[{"modality": "CT"}]', "needs an"), ('[{"analysis": "a", "colour": 1}]', "unknown"),
    ('[{"analysis": "a", "description": "("}]', "regular expression"), ("[", "not valid JSON"),
])
def test_bad_routing_rules_name_the_rule(text: str, words: str) -> None:
    with pytest.raises(PacsError) as caught:
        rules_from_json(text)
    assert words in str(caught.value)
