"""``workstation-batch export``: write the series under PATH as images, a cine or DICOM.

::

    workstation-batch export PATH... --out DIR --format png|jpeg|webp|dicom
        [--size WxH | --scale F] [--window=C,W | --preset NAME] [--anonymize]
        [--slices A-B] [--quality Q] [--watermark TEXT] [--cine --format webp|gif|mp4]

One file per slice, named by series and instance number (``series-003_instance-0012``,
never by patient), one folder per study when there are several (``study-01`` ...),
and ``export.json`` saying what was written and which path (gpu, cpu, library) did
each stage.  ``--anonymize`` de-identifies DICOM output (PS3.15 Basic Profile);
images never carry identity.  Exit status 0 when everything was written, 1 when
something was refused or failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workstation.compute.windowing import preset

HELP = "export series as PNG/JPEG/WebP images, a cine, or (de-identified) DICOM"
IMAGE_ONLY = ("size", "scale", "window", "preset", "watermark", "quality", "annotate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DICOM files or folders")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--format", required=True, choices=("png", "jpeg", "webp", "dicom", "gif", "mp4"))
    parser.add_argument("--cine", action="store_true", help="one animation per series (webp, gif, mp4)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size", metavar="WxH", help="fit into W x H pixels (0 leaves a side free)")
    size.add_argument("--scale", type=float, metavar="F", help="scale the square-pixel size by F")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--window", metavar="C,W", help="window centre and width, e.g. --window=40,400")
    window.add_argument("--preset", metavar="NAME", help="named window (lung, mediastinum, bone, brain)")
    parser.add_argument("--slices", metavar="A-B", help="1-based inclusive slice range")
    parser.add_argument("--quality", type=int, default=None, metavar="Q", help="JPEG/WebP quality 1-100 (90)")
    parser.add_argument("--subsampling", default="4:2:0", choices=("4:2:0", "4:4:4"), help="JPEG chroma")
    parser.add_argument("--lossless", action="store_true", help="lossless WebP")
    parser.add_argument("--bit-depth", type=int, default=8, choices=(8, 16), help="16: grey PNG on 0-65535")
    parser.add_argument("--kernel", default="lanczos3", choices=("lanczos3", "catmull-rom", "bilinear"))
    parser.add_argument("--watermark", default=None, metavar="TEXT", help="text burnt into every image")
    parser.add_argument("--annotate", action="store_true", help="burn in orientation, slice and window")
    parser.add_argument("--fps", type=float, default=10.0, help="cine frame rate")
    parser.add_argument("--anonymize", action="store_true", help="de-identify DICOM output")
    parser.add_argument("--dates", default="shift", choices=("shift", "keep", "remove"),
                        help="dates of de-identified DICOM (default: shifted per patient)")
    parser.add_argument("--mapping", type=Path, default=None, metavar="FILE",
                        help="write the re-identification key here (keep it apart from the export)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    w, _, h = text.lower().partition("x")
    try:
        return int(w), int(h)
    except ValueError:
        raise ValueError(f"--size expects WxH, e.g. 512x512, got {text!r}") from None


def _window(args: argparse.Namespace) -> tuple[float, float] | None:
    if args.preset:
        p = preset(args.preset)
        return p.width, p.level
    if args.window:
        centre, _, width = args.window.partition(",")
        try:
            return float(width), float(centre)
        except ValueError:
            raise ValueError(f"--window expects CENTRE,WIDTH, e.g. --window=40,400, got {args.window!r}") from None
    return None


def image_options(args: argparse.Namespace) -> Any:
    """The :class:`~workstation.export.options.ImageOptions` the arguments ask for."""
    from workstation.export.options import ImageOptions

    return ImageOptions(format=args.format, size=_size(args.size), scale=args.scale, kernel=args.kernel,
                        window=_window(args), bit_depth=args.bit_depth,
                        quality=90 if args.quality is None else args.quality, subsampling=args.subsampling,
                        lossless=args.lossless, watermark=args.watermark or "", fps=args.fps, cine=args.cine)


def _check(args: argparse.Namespace) -> str | None:
    if args.format == "dicom":
        given = [f"--{n}" for n in IMAGE_ONLY if getattr(args, n) not in (None, False)]
        if given or args.cine:
            return f"{', '.join(given + (['--cine'] if args.cine else []))} apply to image formats, not DICOM"
    elif args.mapping is not None or args.dates != "shift":
        return "--mapping and --dates apply to de-identified DICOM output"
    if args.mapping is not None and not args.anonymize:
        return "--mapping needs --anonymize"
    if args.format in ("gif", "mp4") and not args.cine:
        return f"--format {args.format} is a cine format: add --cine"
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        return f"no such file or folder: {', '.join(missing)}"
    return None


def main(args: argparse.Namespace) -> int:
    from workstation.compute.backend import select_backend
    from workstation.core.redact import register_sensitive
    from workstation.export.deidentify import DeidOptions
    from workstation.export.series import SeriesExport, export_study
    from workstation.io.dicom import scan

    problem = _check(args)
    options = None
    if problem is None and args.format != "dicom":
        try:
            options = image_options(args)
        except (ValueError, KeyError) as exc:
            problem = str(exc).strip("'\"")
    if problem is not None:
        print(f"workstation-batch export: {problem}", file=sys.stderr)
        return 2
    found = scan(args.paths)
    for p in found.problems:
        print(f"skipped {p}", file=sys.stderr)
    studies = list(found.studies)
    if not studies:
        print("workstation-batch export: no DICOM image series found", file=sys.stderr)
        return 1
    register_sensitive(v for s in studies for v in (s.patient_name, s.patient_id))
    backend = select_backend(args.device)
    print(f"compute device: {backend.describe()}", flush=True)
    request = SeriesExport(options=options, slices=args.slices, annotate=args.annotate,
                           deid=DeidOptions(dates=args.dates) if args.anonymize and options is None else None,
                           mapping_file=args.mapping)
    ok = True
    for k, study in enumerate(studies, start=1):
        out = args.out if len(studies) == 1 else args.out / f"study-{k:02d}"
        try:
            result = export_study(study, out, request, backend)
        except ValueError as exc:  # a slice range outside a series, say
            print(f"workstation-batch export: study {k}: {exc}", file=sys.stderr)
            ok = False
            continue
        ok = ok and not result.refused and not result.failed
        for entry in result.refused:
            print(f"refused {entry['object']}: {entry['reason']}", file=sys.stderr)
        for entry in result.failed:
            print(f"failed {entry['series']}: {entry['reason']}", file=sys.stderr)
        print(f"{out}: {len(result.files)} file(s); paths {result.paths_used()}")
    return 0 if ok else 1
