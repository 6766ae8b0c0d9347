"""What the export dialog can export, read off the viewers as plain :class:`Frame` data.

Each function returns frames for :mod:`workstation.export` (no Qt below this point):
the current 2D view as shown (window, overlays, colour bar and corner text as on
screen, never the patient's name), the three MPR planes at the crosshair, a slice
range of the acquired plane, or the 3D view's last render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from workstation.analyses.panel_api import ViewerContext
from workstation.export.burnin import Annotations, ColourBar
from workstation.export.frames import Frame, frame_name, volume_frames
from workstation.ui.colormaps import colormap_lut
from workstation.ui.mpr import ViewerArea
from workstation.ui.overlay_render import render_overlays
from workstation.ui.viewer2d import SliceViewer


def _series_number(context: ViewerContext) -> int | None:
    return context.series.number if context.series is not None else None


def view_frame(view: SliceViewer, context: ViewerContext, *, annotations: bool, overlays: bool) -> Frame:
    """The slice ``view`` shows, with what it draws over it when asked."""
    volume, plane = view.volume, view.plane
    if volume is None or plane is None:
        raise ValueError("nothing is loaded in the view")
    width, level = view.state.width, view.state.level
    notes = None
    if annotations:
        notes = Annotations(edges=plane.edge_labels(volume), bottom_left=f"W {width:.0f}  L {level:.0f}",
                            top_left=f"{plane.name(volume).capitalize()}  {view.index + 1}/{view.n_slices}")
    overlay = view.rendered_overlay() if overlays else None
    bar = None
    scalar = view.shown_scalar_overlay() if overlays else None
    if scalar is not None:
        label = " ".join(p for p in (scalar.title, scalar.unit and f"({scalar.unit})") if p)
        bar = ColourBar(lut=colormap_lut(scalar.colormap), vmin=scalar.vmin, vmax=scalar.vmax, label=label)
    rh, cw = plane.pixel_mm(volume.spacing)
    name = plane.name(volume)
    return Frame(pixels=np.ascontiguousarray(view.slice_values()), pixel_aspect=rh / cw, window=(width, level),
                 name=frame_name(_series_number(context), name, view.index + 1),
                 overlay=None if overlay is None else np.ascontiguousarray(overlay), annotations=notes,
                 colour_bar=bar, source={"series_number": _series_number(context), "plane": name,
                                         "slice": view.index + 1})


def mpr_frames(area: ViewerArea, context: ViewerContext, *, annotations: bool, overlays: bool) -> list[Frame]:
    """Axial, coronal and sagittal planes through the crosshair."""
    return [view_frame(v, context, annotations=annotations, overlays=overlays) for v in area.views]


def range_frames(area: ViewerArea, context: ViewerContext, indices: Sequence[int], *, annotations: bool,
                 overlays: bool, instance_numbers: Sequence[int | None] | None = None) -> list[Frame]:
    """Slices ``indices`` (0-based) of the acquired plane in the current window."""
    volume = context.volume
    if volume is None:
        raise ValueError("nothing is loaded")
    window = (area.state.width, area.state.level)
    frames = volume_frames(volume, indices, series_number=_series_number(context), instance_numbers=instance_numbers,
                           window=window, annotate=annotations)
    if not overlays:
        return frames
    plane = area.axial.plane
    assert plane is not None
    shown = [o for k, o in context.overlays.items() if k not in area.state.hidden_overlays]
    out = []
    for index, frame in zip(indices, frames):
        rgba = render_overlays(shown, partial(plane.extract, index=index), plane.shape(volume.shape))
        out.append(replace(frame, overlay=rgba) if rgba is not None else frame)
    return out


def snapshot_frame(area: ViewerArea, context: ViewerContext) -> Frame:
    """The 3D view's current render (RGBA) as a colour frame."""
    viewer: Any = area.viewer3d
    if not hasattr(viewer, "render_image"):
        raise ValueError("the 3D view is not available on this display")
    rgba = np.asarray(viewer.render_image())
    return Frame(pixels=np.ascontiguousarray(rgba[..., :3]), name=frame_name(_series_number(context), "3d", 1),
                 source={"series_number": _series_number(context), "plane": "3d"})
