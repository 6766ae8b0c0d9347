"""Every DICOM object the writers and demo generators create passes dciodvfy with 0 errors.

dciodvfy (David Clunie's dicom3tools) checks each file against its IOD: type 1 and 2
attributes present, conditions honoured, values valid for their VR.  The tests skip
where the tool is not installed (``scripts/setup.sh`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import dicom_cases as cases
import numpy as np
import pydicom
import pytest
from dicom_validation import assert_valid_dicom

from workstation.core.volume import Volume, VolumeSeries
from workstation.io.dicom_write import write_series, write_time_series


@pytest.mark.parametrize("modality", ["CT", "MR", "OT"])
def test_written_series_is_valid(tmp_path: Path, modality: str) -> None:
    vol = cases.volume(shape=(3, 8, 8), direction=cases.rotation((1, 2, 3), 17.0))
    paths = write_series(vol, tmp_path, modality=modality, slope=0.123456789012345678, intercept=-1024.0)
    assert_valid_dicom(paths)


def test_slope_written_is_the_slope_used_for_the_stored_values(tmp_path: Path) -> None:
    """A slope of 17 significant digits is written in 16 characters; the values agree with it."""
    values = np.linspace(-500.0, 900.0, 2 * 4 * 4).reshape(2, 4, 4)
    vol = Volume(values, spacing=(2.5, 0.7, 0.7), modality="CT")
    paths = write_series(vol, tmp_path, slope=1.0 / 3.0, intercept=-1024.0)
    ds = pydicom.dcmread(paths[0])
    assert len(str(ds.RescaleSlope.original_string)) <= 16
    physical = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(physical, values[0], atol=float(ds.RescaleSlope) / 2 + 1e-9)


def test_dynamic_series_is_valid(tmp_path: Path) -> None:
    vol = cases.volume(shape=(2, 8, 8))
    series = VolumeSeries((vol, vol.with_array(vol.array + 5)), (0.0, 1.7))
    assert_valid_dicom(write_time_series(series, tmp_path, modality="CT", slope=1.0, intercept=-1024.0))


def test_demo_chest_ct_is_valid(tmp_path: Path) -> None:
    from workstation.demo.chest_ct import write_chest_ct

    write_chest_ct(tmp_path)
    paths = sorted(tmp_path.glob("*.dcm"))
    assert len(paths) == 60
    assert_valid_dicom(paths)


def test_demo_perfusion_is_valid(tmp_path: Path) -> None:
    from workstation.demo.perfusion import write_perfusion

    write_perfusion(tmp_path, shape=(2, 32, 32), n_times=4)
    paths = sorted(tmp_path.glob("*.dcm"))
    assert len(paths) == 8
    assert_valid_dicom(paths)


def test_demo_mammograms_are_valid(tmp_path: Path) -> None:
    from workstation.demo.mammo import write_mammo

    write_mammo(tmp_path, for_processing=True)
    paths = sorted(tmp_path.glob("*.dcm"))
    assert len(paths) == 8  # four views, for presentation and for processing
    assert_valid_dicom(paths)
