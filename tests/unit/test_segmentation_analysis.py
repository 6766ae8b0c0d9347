"""The registered analysis end to end: DICOM study on disk -> labels, NIfTI and DICOM SEG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workstation.analyses import get
from workstation.analyses.base import InputError
from workstation.compute.backend import cpu_backend
from workstation.core.study import Study
from workstation.demo.chest_ct import generate_chest_ct
from workstation.demo.chest_labels import LUNGS, chest_ct_labels


def test_registered_analysis_on_dicom_study(tmp_path: Path) -> None:
    hd = pytest.importorskip("highdicom")
    nib = pytest.importorskip("nibabel")
    from workstation.io.dicom import scan
    from workstation.io.dicom_write import write_series

    volume, _ = generate_chest_ct(0, size=128, pixel_mm=2.8)
    write_series(volume, tmp_path / "study", modality="CT")
    (study,) = scan(tmp_path / "study").studies

    analysis = get("segmentation")
    data = analysis.prepare(study, None)
    result = analysis.run(data, analysis.default_params(), cpu_backend(), None)
    js = json.loads(json.dumps(result.to_json()))
    assert js["model"] == "chest-organs" and len(js["structures"]) == 5

    truth = chest_ct_labels(data.volume)
    lungs = result.labels == LUNGS
    assert 2 * (lungs & (truth == LUNGS)).sum() / (lungs.sum() + (truth == LUNGS).sum()) > 0.9

    files = analysis.write_artifacts(result, data, tmp_path / "out")
    assert sorted(p.name for p in files) == ["labels.nii.gz", "seg.dcm"]
    seg = hd.seg.segread(str(tmp_path / "out" / "seg.dcm"))
    present = [int(k) for k in np.unique(result.labels) if k]
    assert [d.SegmentLabel for d in seg.SegmentSequence] == [result.names[k] for k in present]
    assert seg.StudyInstanceUID == study.uid
    nifti = np.asarray(nib.load(str(tmp_path / "out" / "labels.nii.gz")).dataobj)
    np.testing.assert_array_equal(nifti.transpose(2, 1, 0), result.labels)
    assert not any(p.name.startswith("seg") for p in (tmp_path / "study").iterdir())


def test_study_without_ct_is_refused() -> None:
    with pytest.raises(InputError, match="no CT series"):
        get("segmentation").prepare(Study(uid="1.2.3"), None)
