"""Remove library search paths that lead outside a frozen application folder.

    python packaging/strip_rpaths.py APP_FOLDER

PyInstaller copies the build machine's libpython and extension modules as they are;
those built by the local Python carry its library folder (``/home/builder/.pyenv/...``)
as ``DT_RPATH`` or ``DT_RUNPATH``.  Each entry that does not resolve inside the folder
(absolute, relative to the current folder, or ``$ORIGIN/..`` climbing out) is dropped
with ``patchelf``, keeping the tag's kind (RPATH searches for the libraries a library
loads too, RUNPATH does not); a file left without entries loses the tag.  Afterwards
every ELF file is read again; exit status 1 if any search path still leads outside.
Needs ``patchelf`` (Debian package ``patchelf``) and ``workstation.core.elf`` on the path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from workstation.core.elf import outside, resolves_inside, search_paths


def strip(root: Path, patchelf: str = "patchelf") -> tuple[int, int]:
    """Rewrite the files of ``root`` with outside entries; returns (files changed, entries removed)."""
    _, found = outside(root)
    changed, removed = 0, 0
    for file in sorted({f.file for f in found if f.kind != "unreadable"}):
        mode = file.stat().st_mode
        file.chmod(mode | 0o200)  # wheels ship some libraries read-only
        for kind, value in search_paths(file):
            entries = value.split(":")
            kept = [e for e in entries if resolves_inside(e, file, root)]
            removed += len(entries) - len(kept)
            if not kept:
                command = [patchelf, "--remove-rpath", str(file)]
            else:
                force = ["--force-rpath"] if kind == "RPATH" else []
                command = [patchelf, *force, "--set-rpath", ":".join(kept), str(file)]
            subprocess.run(command, check=True, capture_output=True)
        file.chmod(mode)
        changed += 1
    return changed, removed


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        print("strip_rpaths: patchelf not found (Debian: apt-get install patchelf)", file=sys.stderr)
        return 2
    root = Path(argv[0]).resolve()
    changed, removed = strip(root, patchelf)
    count, left = outside(root)
    print(f"strip_rpaths: {removed} search-path entries leading outside removed from {changed} of {count} ELF files")
    for item in left[:20]:
        print(f"strip_rpaths: still outside: {item.file.relative_to(root)} {item.kind} {item.entry!r}", file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
