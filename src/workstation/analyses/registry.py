"""The analyses this build knows: command-line name -> module holding ``ANALYSIS``.

To add an analysis, add its folder under ``workstation/analyses/`` with an
``__init__.py`` that defines ``ANALYSIS = Analysis(...)``, and one line here.  The main
window builds its docks and menu, and ``workstation-batch`` its sub-commands, from this
table.
"""

from __future__ import annotations

import importlib
from typing import Any

from workstation.analyses.base import Analysis

ANALYSES: dict[str, str] = {
    "calcium": "workstation.analyses.calcium",
    "perfusion": "workstation.analyses.perfusion",
    "mammo-cad": "workstation.analyses.mammo_cad",
    "segmentation": "workstation.analyses.segmentation",
    "rt-dose": "workstation.analyses.rt_dose",
    "coronary-cta": "workstation.analyses.coronary_cta",
    "cardiac-function": "workstation.analyses.cardiac_function",
}


def names() -> list[str]:
    """Registered analysis names in menu order."""
    return list(ANALYSES)


def get(name: str) -> Analysis[Any, Any, Any]:
    """The registered analysis called ``name`` (``KeyError`` lists the known ones)."""
    try:
        module_name = ANALYSES[name]
    except KeyError:
        raise KeyError(f"unknown analysis {name!r}; known: {', '.join(ANALYSES) or 'none'}") from None
    module = importlib.import_module(module_name)
    analysis = getattr(module, "ANALYSIS", None)
    if not isinstance(analysis, Analysis):
        raise TypeError(f"{module_name} does not define ANALYSIS = Analysis(...)")
    return analysis
