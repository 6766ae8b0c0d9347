"""The ELF search-path reader against patchelf and readelf, on the libraries of this environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core import elf

ROOT = Path("/opt/app")


def _libraries(limit: int = 80) -> list[Path]:
    roots = {Path(p) for p in sys.path if p and Path(p).is_dir() and ("site-packages" in p or "lib-dynload" in p)}
    found: list[Path] = []
    for root in sorted(roots):
        for path in sorted(root.rglob("*.so*")):
            if not path.is_symlink() and path.is_file() and elf.is_elf(path):
                found.append(path)
    return found[:: max(1, len(found) // limit)]


def test_reads_what_patchelf_and_readelf_read() -> None:
    patchelf, readelf = shutil.which("patchelf"), shutil.which("readelf")
    if patchelf is None or readelf is None:
        pytest.skip("patchelf (scripts/setup.sh installs it) or readelf (binutils) missing")
    libraries = _libraries()
    assert len(libraries) >= 20
    with_paths = 0
    for path in libraries:
        mine = elf.search_paths(path)
        theirs = subprocess.run([patchelf, "--print-rpath", str(path)], capture_output=True, text=True).stdout.strip()
        assert ":".join(value for _, value in mine) == theirs, path
        dynamic = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True).stdout
        kinds = re.findall(r"\((RPATH|RUNPATH)\)", dynamic)
        assert [kind for kind, _ in mine] == kinds, path
        with_paths += bool(mine)
    assert with_paths > 0  # the comparison covered files that have a search path


def test_not_an_elf_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "a.so"
    text.write_text("not a library")
    assert not elf.is_elf(text)
    with pytest.raises(ValueError):
        elf.search_paths(text)
    truncated = tmp_path / "b.so"
    truncated.write_bytes(elf.MAGIC + b"\x02\x01\x01" + b"\0" * 20)
    with pytest.raises(ValueError):
        elf.search_paths(truncated)


@pytest.mark.parametrize(
    "entry, inside",
    [
        ("$ORIGIN", True),
        ("$ORIGIN/../lib", True),
        ("${ORIGIN}/../../numpy.libs", True),
        ("$ORIGIN/../../..", False),  # climbs out of /opt/app
        ("$ORIGIN/../../../app-evil", False),  # a sibling whose name starts like the bundle
        ("/opt/app/_internal", False),  # absolute: a fixed place, wherever the bundle is
        ("/home/builder/.pyenv/versions/3.11.7/lib", False),
        ("", False),  # the current folder
        ("lib", False),  # relative to the current folder
        ("$ORIGINAL/x", False),
        ("$ORIGIN/$LIB", False),
    ],
)
def test_which_entries_stay_inside(entry: str, inside: bool) -> None:
    assert elf.resolves_inside(entry, ROOT / "_internal" / "pkg" / "mod.so", ROOT) is inside
