"""``workstation-batch export`` on a real DICOM series written with a named patient."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_validation import dciodvfy
from PIL import Image

from workstation.core.volume import Volume
from workstation.io.dicom_write import patient_tags, write_series
from workstation.jobs.batch import main

NAME, PID, ACCESSION = "Rivera^Joanna", "PID-778812", "ACC55019"
SECRETS = (b"Rivera", b"Joanna", PID.encode(), ACCESSION.encode())


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 slices of 96x128, 3 mm apart at 0.8 mm pixels: a bright disc in soft tissue."""
    z, y, x = np.mgrid[:12, :96, :128]
    values = np.where((y - 48) ** 2 + (x - 64) ** 2 < (20 + z) ** 2, 700, 40).astype(np.int16)
    values[:, :, :6] = -1000
    volume = Volume(values, spacing=(3.0, 0.8, 0.8), modality="CT")
    folder = tmp_path_factory.mktemp("src") / "Rivera_Joanna"
    tags = patient_tags(NAME, PID, accession=ACCESSION, study_description="CT chest")
    write_series(volume, folder, tags=tags, series_number=3)
    return folder


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["export", *args, "--device", "cpu"])
    out = capsys.readouterr()
    return code, out.out + out.err


def _no_identity(folder: Path) -> None:
    for path in folder.rglob("*"):
        assert not any(s.decode().lower() in path.name.lower() for s in SECRETS), path.name
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in SECRETS), f"{path.name} carries patient identity"


@pytest.mark.parametrize("fmt,suffix", [("png", ".png"), ("jpeg", ".jpg"), ("webp", ".webp")])
def test_images_named_by_series_and_instance_without_identity(
    ct_series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, suffix: str
) -> None:
    out = tmp_path / fmt
    code, text = _run([str(ct_series), "--out", str(out), "--format", fmt, "--size", "200x0", "--preset", "lung",
                       "--slices", "3-7", "--watermark", "NOT FOR DIAGNOSTIC USE", "--annotate"], capsys)
    assert code == 0, text
    names = sorted(p.name for p in out.glob(f"*{suffix}"))
    assert names == [f"series-003_instance-{i:04d}{suffix}" for i in range(3, 8)]
    for name in names:
        picture = Image.open(out / name)
        assert picture.size == (200, 150)  # 128x96 at square pixels, fitted to 200 wide
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(picture.info)
        if fmt == "png":
            assert not getattr(picture, "text", {})
    manifest = json.loads((out / "export.json").read_text())
    assert [f["file"] for f in manifest["files"]] == names
    assert manifest["paths"] == {"resize": {"cpu": 5}, "encode": {"cpu": 5}}
    assert manifest["options"]["window"] == [1500.0, -600.0]
    _no_identity(out)


def test_window_option_and_16_bit_png(ct_series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", "png", "--bit-depth", "16",
                       "--window=40,400", "--slices", "1"], capsys)
    assert code == 0, text
    picture = Image.open(tmp_path / "series-003_instance-0001.png")
    assert picture.mode == "I;16" and picture.size == (128, 96)
    values = np.asarray(picture)
    assert values.max() == 65535 and values.min() == 0  # 700 HU and -1000 HU lie outside 40 +/- 200
    assert np.any((values > 0) & (values < 65535))  # soft tissue at 40 HU lands mid-range
    assert abs(int(values[48, 120]) - 65535 // 2) < 400


def test_anonymized_dicom(ct_series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key" / "mapping.json"
    code, text = _run([str(ct_series), "--out", str(tmp_path / "out"), "--format", "dicom", "--anonymize",
                       "--slices", "2-4", "--mapping", str(key)], capsys)
    assert code == 0, text
    files = sorted((tmp_path / "out").glob("*.dcm"))
    assert [f.name for f in files] == [f"series-003_instance-{i:04d}.dcm" for i in (2, 3, 4)]
    sources = {int(pydicom.dcmread(p).InstanceNumber): p for p in ct_series.glob("*.dcm")}
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.PatientName == ds.PatientID == "ANON-0001"
        src = pydicom.dcmread(sources[int(ds.InstanceNumber)])
        assert ds.PixelData == src.PixelData
        assert len(dciodvfy(f).errors) <= len(dciodvfy(sources[int(ds.InstanceNumber)]).errors)
    _no_identity(tmp_path / "out")
    assert json.loads(key.read_text())["patients"] == {PID: "ANON-0001"}
    manifest = json.loads((tmp_path / "out" / "export.json").read_text())
    assert manifest["kind"] == "dicom" and manifest["options"]["deidentified"] is True


@pytest.mark.parametrize("fmt", ["webp", "gif", "mp4"])
def test_cine(ct_series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    if fmt == "mp4":
        pytest.importorskip("imageio_ffmpeg")
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", fmt, "--cine", "--scale", "0.5",
                       "--fps", "5"], capsys)
    assert code == 0, text
    (path,) = [p for p in tmp_path.iterdir() if p.suffix == f".{fmt}"]
    assert path.name == f"series-003_cine-0012.{fmt}"
    if fmt == "mp4":
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        assert tuple(meta["size"]) == (64, 48) and sum(1 for _ in reader) == 12
    else:
        picture = Image.open(io.BytesIO(path.read_bytes()))
        assert picture.size == (64, 48) and picture.n_frames == 12
    _no_identity(tmp_path)


def test_bad_arguments_are_explained(ct_series: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", "dicom", "--size", "64x64"], capsys)
    assert code == 2 and "--size apply to image formats" in text
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", "png", "--preset", "liver"], capsys)
    assert code == 2 and "unknown window preset" in text
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", "png", "--slices", "10-40"], capsys)
    assert code == 1 and "outside 1-12" in text
    code, text = _run([str(ct_series), "--out", str(tmp_path), "--format", "gif"], capsys)
    assert code == 2 and "add --cine" in text
