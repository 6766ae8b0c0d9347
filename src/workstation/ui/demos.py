"""The demo studies of File > Open demo: written once into the cache folder (in a job), then opened.

Each is synthetic with known answers: a chest CT with coronary calcium, a CT perfusion
phantom (a dynamic series), a four-view screening mammogram, a radiotherapy plan (CT,
structures, plan, dose), a coronary CT angiogram and a short-axis cardiac cine MR.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Demo:
    key: str
    title: str
    shortcut: str
    write: str  # "module:function" writing the demo (folder=None: the cache)
    reports_progress: bool = False  # the writer takes a progress callback (long demos)


DEMOS = (
    Demo("chest_ct", "&Chest CT (coronary calcium)", "Ctrl+D", "workstation.demo.chest_ct:ensure_demo"),
    Demo("perfusion", "&Perfusion CT (dynamic series)", "Ctrl+Alt+P",
         "workstation.demo.perfusion:ensure_demo_perfusion"),
    Demo("mammography", "&Mammography (four views)", "Ctrl+Alt+M", "workstation.demo.mammo:ensure_demo_mammo"),
    Demo("rt_plan", "&RT plan (CT, structures, dose)", "Ctrl+Shift+D",
         "workstation.analyses.rt_dose.demo_plan:ensure_demo_plan"),
    Demo("coronary_cta", "C&oronary CT angiogram", "Ctrl+Alt+D", "workstation.demo.coronary_cta:ensure_demo",
         reports_progress=True),
    Demo("cardiac_cine", "Cardiac c&ine MR (short axis)", "Ctrl+Alt+Shift+D",
         "workstation.demo.cardiac_dicom:ensure_demo_cine"),
)


def writer(demo: Demo) -> Callable[..., Path]:
    import importlib

    module, _, name = demo.write.partition(":")
    fn: Callable[..., Path] = getattr(importlib.import_module(module), name)
    return fn


def demo_job(demo: Demo) -> Callable[[Any, Any], Path]:
    """The job function writing ``demo`` (first time only) and returning its folder."""

    def work(backend: Any, progress: Any) -> Path:
        from workstation.core.paths import explain_unwritable

        progress(0.0, f"writing the demo {demo.key.replace('_', ' ')} (first time only)")
        with explain_unwritable("demo"):  # names the folder and the variable that moves it
            if demo.reports_progress:
                return writer(demo)(None, progress)
            return writer(demo)(None)

    return work
