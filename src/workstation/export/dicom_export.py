"""Export DICOM objects as they are or de-identified, named by series and instance number.

Each source file is read, never changed; the copy is de-identified
(:mod:`workstation.export.deidentify`) when asked, after masking burnt-in text where
the header says (:mod:`workstation.export.burnt_in`); objects that cannot be made safe
are listed as refused with the reason.  Pixel data is copied unchanged (same bytes,
same transfer syntax) unless it had to be masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pydicom

from workstation.core.progress import ProgressFn, report
from workstation.export.burnt_in import assess, mask_outside
from workstation.export.deidentify import Deidentifier
from workstation.export.frames import frame_name
from workstation.export.images import ExportResult
from workstation.io.export_files import write_dataset, write_json


def _number(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def export_dicom(sources: Sequence[Path], out_dir: Path, *, deidentifier: Deidentifier | None = None,
                 mapping_file: Path | None = None, progress: ProgressFn | None = None) -> ExportResult:
    """Copy ``sources`` into ``out_dir`` (de-identified with ``deidentifier``).

    ``mapping_file``: where to write the re-identification key (only when given; keep
    it apart from the exported data).
    """
    options = {"deidentified": deidentifier is not None,
               "dates": None if deidentifier is None else deidentifier.options.dates}
    result = ExportResult(out_dir, "dicom", options, "cpu")
    unique = list(dict.fromkeys(Path(p) for p in sources))
    for k, path in enumerate(unique, start=1):
        ds = pydicom.dcmread(path)
        series, instance = _number(ds.get("SeriesNumber")), _number(ds.get("InstanceNumber"))
        stem = frame_name(series, "instance", instance if instance is not None else k)
        pixels = "unchanged"
        if deidentifier is not None:
            verdict = assess(ds)
            if verdict.action == "refuse":
                result.refused.append({"object": stem, "reason": verdict.reason})
                report(progress, k / len(unique), f"refused {stem}")
                continue
            if verdict.action == "mask":
                mask_outside(ds, verdict.regions)
                pixels = "masked outside the ultrasound regions"
            deidentifier.deidentify(ds, pixels_cleaned=verdict.action == "mask")
        written = write_dataset(out_dir / f"{stem}.dcm", ds)
        result.files.append({"file": written.name, "series_number": series, "instance_number": instance,
                             "deidentified": deidentifier is not None, "pixels": pixels,
                             "paths": {"write": "cpu"}})
        report(progress, k / len(unique), f"exported {k} of {len(unique)}")
    if mapping_file is not None and deidentifier is not None:
        write_json(mapping_file, deidentifier.mapping())
    return result
