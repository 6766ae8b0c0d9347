"""Our reader against SimpleITK's series reader (GDCM) on the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dicom_cases as cases
from workstation.io.dicom import load

sitk = pytest.importorskip("SimpleITK")


def _sitk_read(folder: Path):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


@pytest.mark.parametrize("direction", [
    np.eye(3),
    cases.rotation((0.3, -1.0, 0.4), 33.0),
    cases.rotation((1.0, 0.0, 0.0), 90.0),  # coronal-like
])
def test_same_voxels_and_geometry_as_simpleitk(tmp_path: Path, direction: np.ndarray) -> None:
    vol = cases.volume(shape=(10, 24, 20), spacing=(1.25, 0.6, 0.75), origin=(-40.0, 12.5, 300.0),
                       direction=direction)
    cases.scramble(cases.write(vol, tmp_path / "w"), tmp_path / "s", seed=11)
    ours = load(tmp_path / "s")
    image = _sitk_read(tmp_path / "s")
    np.testing.assert_array_equal(ours.array, sitk.GetArrayFromImage(image))
    np.testing.assert_allclose(ours.spacing, image.GetSpacing()[::-1], rtol=1e-5)
    np.testing.assert_allclose(ours.origin, image.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.direction, np.asarray(image.GetDirection()).reshape(3, 3), atol=1e-5)
