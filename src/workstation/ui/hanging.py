"""Saving what is on screen as a hanging protocol of the user's own."""

from __future__ import annotations

from workstation.analyses.panel_api import ViewerContext
from workstation.ui.hanging_protocols import HangingProtocol
from workstation.ui.mpr import ViewerArea


def protocol_from_screen(name: str, area: ViewerArea, context: ViewerContext) -> HangingProtocol:
    """A protocol hanging what the viewer area shows now, for studies like the open one.

    It matches the open series' modality (and body part and reading kind when known),
    and wins over the built-in protocols for such studies.
    """
    rows, columns = area.grid_size
    facts = area.facts
    modality = context.series.modality.upper() if context.series is not None else ""
    return HangingProtocol(
        name=name, rows=rows, columns=columns, viewports=tuple(area.specs),
        modalities=(modality,) if modality else (),
        body_parts=(facts.body_part,) if facts is not None and facts.body_part else (),
        kinds=(facts.kind,) if facts is not None else (),
        needs_prior=any(vp.kind == "prior" for vp in area.specs), priority=100, user=True,
    )
