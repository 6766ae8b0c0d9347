"""The demo studies of File > Open demo: written once into the cache folder (in a job), then opened.

Each is synthetic with known answers: a chest CT with coronary calcium, a CT perfusion
phantom (a dynamic series) and a four-view screening mammogram.
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


DEMOS = (
    Demo("chest_ct", "&Chest CT (coronary calcium)", "Ctrl+D", "workstation.demo.chest_ct:ensure_demo"),
    Demo("perfusion", "&Perfusion CT (dynamic series)", "Ctrl+Alt+P",
         "workstation.demo.perfusion:ensure_demo_perfusion"),
    Demo("mammography", "&Mammography (four views)", "Ctrl+Alt+M", "workstation.demo.mammo:ensure_demo_mammo"),
)


def writer(demo: Demo) -> Callable[[Any], Path]:
    import importlib

    module, _, name = demo.write.partition(":")
    fn: Callable[[Any], Path] = getattr(importlib.import_module(module), name)
    return fn


def demo_job(demo: Demo) -> Callable[[Any, Any], Path]:
    """The job function writing ``demo`` (first time only) and returning its folder."""

    def work(backend: Any, progress: Any) -> Path:
        from workstation.core.paths import explain_unwritable

        progress(0.0, f"writing the demo {demo.key.replace('_', ' ')} (first time only)")
        with explain_unwritable("demo"):  # names the folder and the variable that moves it
            return writer(demo)(None)

    return work
