"""Every file the perfusion analysis writes: NIfTI maps, derived DICOM series, PDF report, JSON.

Derived files go to a folder the caller chooses (never a source folder, see
:mod:`workstation.analyses.artifacts`); the DICOM maps belong to the source's patient,
study and Frame of Reference, so they overlay the dynamic series in any viewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workstation.analyses.artifacts import Artifact, ArtifactContext, ArtifactSet, json_artifact, report_artifact
from workstation.analyses.inputs import source_files
from workstation.analyses.perfusion.report import TITLE, section
from workstation.analyses.perfusion.result import MAP_INFO, MAP_NAMES, PerfusionResult
from workstation.core.volume import Volume, VolumeSeries
from workstation.io import writers


def write_nifti_maps(result: PerfusionResult, reference: Volume, out_dir: str | Path) -> list[Path]:
    """``cbf.nii.gz`` ... ``ttp.nii.gz`` (float32, NaN outside tissue) in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [writers.write_nifti(result.maps[name], reference, out / f"{name}.nii.gz", dtype=np.float32,
                                description=f"{MAP_INFO[name][0]} [{MAP_INFO[name][1]}]", time_unit="sec")
            for name in MAP_NAMES]


def write_dicom_maps(result: PerfusionResult, reference: Volume, out_dir: str | Path, *, source: Any = None,
                     first_series_number: int = 900, deidentified: bool = False) -> list[Path]:
    """One derived series per map in ``out_dir/<map>/``, in the source's patient and study.

    ``source`` is a header of the dynamic series (default: read from the reference's
    source files).  Values are stored as int16 with a rescale slope per map that keeps
    1/30000 of its largest magnitude; NaN (outside tissue) is stored as 0.  The
    software and the inputs' digest are in each image's Derivation Description.
    """
    if source is None:
        source = writers.source_header(source_files(reference))
    out = Path(out_dir)
    paths: list[Path] = []
    for n, name in enumerate(MAP_NAMES):
        values = np.nan_to_num(result.maps[name], nan=0.0).astype(np.float64)
        top = float(np.max(np.abs(values))) if values.size else 0.0
        title, unit = MAP_INFO[name]
        paths += writers.write_derived_series(
            reference.with_array(values.astype(np.float32)), out / name, source=source,
            series_description=f"{name.upper()} [{unit}]", series_number=first_series_number + n,
            derivation=f"{title} [{unit}], {result.method} deconvolution; {provenance_text(result)}",
            slope=max(top / 30000.0, 1e-4), file_prefix=name.upper(), deidentified=deidentified,
            extra={"SoftwareVersions": result.provenance.software[:64]})
    return paths


def provenance_text(result: PerfusionResult) -> str:
    """The provenance a derived series carries in its Derivation Description."""
    prov = result.provenance
    digest = f"inputs SHA-256 {prov.inputs.sha256}" if prov.inputs.sha256 else "inputs built in memory"
    return f"{prov.software} on {prov.device}, {digest}"


def _maps(result: PerfusionResult, series: VolumeSeries, context: ArtifactContext) -> list[Path]:
    return write_nifti_maps(result, series.reference, context.folder)


def _dicom(result: PerfusionResult, series: VolumeSeries, context: ArtifactContext) -> list[Path]:
    return write_dicom_maps(result, series.reference, context.folder / "dicom", source=context.source)


ARTIFACTS: ArtifactSet[VolumeSeries, PerfusionResult] = ArtifactSet((
    Artifact("maps", "cbf.nii.gz, cbv.nii.gz, mtt.nii.gz, tmax.nii.gz, ttp.nii.gz", "Maps (NIfTI)", _maps),
    report_artifact("perfusion_summary.pdf", TITLE, section),
    Artifact("dicom", "dicom/<map>/*.dcm", "Maps as derived DICOM series of the study", _dicom, batch=False),
    json_artifact("perfusion.json"),
))
