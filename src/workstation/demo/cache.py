"""Where the bundled demo studies are written, and writing each of them once."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from workstation.core.paths import demo_root

MARKER = ".complete"


def demo_dir(name: str) -> Path:
    """``$WORKSTATION_DEMO_DIR/<name>``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/workstation/demo/<name>."""
    return demo_root() / name


def ensure_written(name: str, write: Callable[[Path], object], folder: Optional[str | Path] = None) -> Path:
    """Run ``write(folder)`` unless a completed copy is already there; return the folder.

    A hidden marker file is written last, so an interrupted write is redone next time;
    files of an interrupted write are removed first.
    """
    target = Path(folder) if folder is not None else demo_dir(name)
    marker = target / MARKER
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.dcm"):
        old.unlink()
    write(target)
    marker.write_text("ok\n")
    return target
