"""The image export pipeline: window -> overlay -> resize -> burn-in -> encode -> file.

Frames of one size go through the resize chain in batches (one upload and one kernel
pair per batch on a GPU); text is burnt in at the output size; each image goes
through the encode chain and is written atomically.  What was written, and which path
(``gpu``, ``cpu``, ``library``) did each stage, is gathered in an
:class:`ExportResult` whose :meth:`~ExportResult.to_json` is the run's
``export.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workstation.compute.backend import Backend
from workstation.compute.resize import fit_shape
from workstation.compute.windowing import default_window
from workstation.core.progress import ProgressFn, report
from workstation.export.burnin import burn_in
from workstation.export.chain import Notices
from workstation.export.encode import SUFFIXES, encode
from workstation.export.frames import Frame
from workstation.export.options import ImageOptions
from workstation.export.resizing import resize_frames
from workstation.io.export_files import write_bytes, write_json

#: Frames resized together (one upload and one kernel pair per batch on a GPU).
BATCH = 64


@dataclass
class ExportResult:
    """Files written by one export and which paths made them."""

    out_dir: Path
    kind: str
    options: dict[str, Any]
    device: str
    files: list[dict[str, Any]] = field(default_factory=list)
    notices: Notices = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def paths_used(self) -> dict[str, dict[str, int]]:
        """``{stage: {path: count}}`` over the files written."""
        used: dict[str, dict[str, int]] = {}
        for entry in self.files:
            for stage, path in entry.get("paths", {}).items():
                used.setdefault(stage, {}).setdefault(path, 0)
                used[stage][path] += 1
        return used

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "device": self.device, "options": self.options, "paths": self.paths_used(),
                "fallbacks": self.notices, "refused": self.refused, "failed": self.failed, "files": self.files}

    def write_manifest(self) -> Path:
        """Write ``export.json`` into the output folder."""
        return write_json(self.out_dir / "export.json", self.to_json())


def _window_of(frame: Frame, options: ImageOptions, modality: str) -> tuple[float, float]:
    if options.window is not None:
        return options.window
    if frame.window is not None:
        return frame.window
    return default_window(frame.pixels[None], modality)


def _batches(frames: Sequence[Frame]) -> Iterator[list[Frame]]:
    """Runs of consecutive frames that can be resized together (same size and kind)."""
    run: list[Frame] = []
    for frame in frames:
        key = (frame.pixels.shape, frame.pixels.dtype, frame.overlay is None, frame.pixel_aspect)
        if run and (len(run) == BATCH or key != (run[0].pixels.shape, run[0].pixels.dtype,
                                                  run[0].overlay is None, run[0].pixel_aspect)):
            yield run
            run = []
        run.append(frame)
    if run:
        yield run


def render(frames: Sequence[Frame], options: ImageOptions, backend: Backend, *, modality: str = "",
           notices: Notices | None = None, progress: ProgressFn | None = None,
           ) -> Iterator[tuple[Frame, NDArray[Any], str]]:
    """Yield ``(frame, image, resize path)`` with each frame windowed, resized and burnt in."""
    done = 0
    for run in _batches(frames):
        first = run[0]
        h, w = first.pixels.shape[:2]
        shape = fit_shape(h, w, size=options.size, scale=options.scale, pixel_aspect=first.pixel_aspect)
        window = None
        if not first.is_colour:
            widths = {_window_of(f, options, modality) for f in run}
            if len(widths) > 1:  # frames with their own windows: one batch per window
                for f in run:
                    yield from render([f], options, backend, modality=modality, notices=notices)
                    done += 1
                    report(progress, done / max(len(frames), 1), f"exported {done} of {len(frames)}")
                continue
            width, level = widths.pop()
            window = (width, level, np.uint16 if options.bit_depth == 16 else np.uint8)
        values = np.stack([f.pixels for f in run])
        overlay = None if first.overlay is None else np.stack([f.overlay for f in run])  # type: ignore[misc]
        images, path = resize_frames(values, shape, options.kernel, backend, window=window, overlay=overlay,
                                     notices=notices)
        for frame, image in zip(run, images):
            image = burn_in(image, annotations=frame.annotations, colour_bar=frame.colour_bar,
                            watermark=options.watermark) if options.bit_depth == 8 else image
            yield frame, image, path
            done += 1
            report(progress, done / max(len(frames), 1), f"exported {done} of {len(frames)}")


def export_images(frames: Sequence[Frame], options: ImageOptions, out_dir: Path, backend: Backend, *,
                  modality: str = "", progress: ProgressFn | None = None,
                  result: ExportResult | None = None) -> ExportResult:
    """Write one image file per frame into ``out_dir``; returns (or adds to) the result."""
    if options.cine:
        raise ValueError("a cine is written by export_cine")
    if result is None:
        result = ExportResult(out_dir, "images", options.to_json(), backend.label)
    settings = options.encode_settings()
    for frame, image, resize_path in render(frames, options, backend, modality=modality, notices=result.notices,
                                            progress=progress):
        data, encode_path = encode(image, settings, backend, notices=result.notices)
        path = write_bytes(out_dir / f"{frame.name}{SUFFIXES[options.format]}", data)
        result.files.append({"file": path.name, "width": int(image.shape[1]), "height": int(image.shape[0]),
                             "bytes": len(data), "paths": {"resize": resize_path, "encode": encode_path},
                             **frame.source})
    return result
