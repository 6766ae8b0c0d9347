"""Library search paths (``DT_RPATH``, ``DT_RUNPATH``) of ELF files, and which leave a folder.

A packaged application must find its libraries only inside itself: a search path that
names the build machine's folders (``/home/builder/.pyenv/...``) or the current folder
lets whoever can write there later replace a library that every user loads.  This
reads the dynamic section of 32- and 64-bit ELF files of either byte order without
loading them (no ``readelf`` needed), so the build, the self-check of an installation
and the tests share one reader.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

MAGIC = b"\x7fELF"
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 5, 15, 29
TAGS = {DT_RPATH: "RPATH", DT_RUNPATH: "RUNPATH"}
MAX_STRING = 65536
_ORIGIN = re.compile(r"^\$(ORIGIN|\{ORIGIN\})(?=/|$)")


@dataclass(frozen=True)
class SearchPath:
    """One ``DT_RPATH`` or ``DT_RUNPATH`` entry of a file, as written (``$ORIGIN/../lib``)."""

    file: Path
    kind: str
    entry: str


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated ELF file")
    return data


def search_paths(path: Path) -> list[tuple[str, str]]:
    """``[(kind, value), ...]`` of the file's RPATH/RUNPATH tags (empty when it has none)."""
    with open(path, "rb") as f:
        ident = _read(f, 0, 16)
        if ident[:4] != MAGIC or ident[4] not in (1, 2) or ident[5] not in (1, 2):
            raise ValueError(f"{path} is not an ELF file")
        wide, order = ident[4] == 2, "<" if ident[5] == 1 else ">"
        if wide:
            phoff, = struct.unpack(order + "Q", _read(f, 0x20, 8))
            phentsize, phnum = struct.unpack(order + "HH", _read(f, 0x36, 4))
            ph_format, dyn_format = order + "IIQQQQQQ", order + "qQ"
        else:
            phoff, = struct.unpack(order + "I", _read(f, 0x1C, 4))
            phentsize, phnum = struct.unpack(order + "HH", _read(f, 0x2A, 4))
            ph_format, dyn_format = order + "IIIIIIII", order + "iI"
        loads, dynamic = [], None
        for i in range(phnum):
            fields = struct.unpack(ph_format, _read(f, phoff + i * phentsize, struct.calcsize(ph_format)))
            if wide:
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
            else:
                p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            return []
        size = struct.calcsize(dyn_format)
        entries = []
        for i in range(dynamic[1] // size):
            tag, value = struct.unpack(dyn_format, _read(f, dynamic[0] + i * size, size))
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        wanted = [(t, v) for t, v in entries if t in TAGS]
        if not wanted:
            return []
        base = _file_offset(loads, strtab)
        return [(TAGS[t], _string(f, base + v)) for t, v in wanted]


def _file_offset(loads: list[tuple[int, int, int]], vaddr: Optional[int]) -> int:
    for start, offset, size in loads:
        if vaddr is not None and start <= vaddr < start + size:
            return vaddr - start + offset
    raise ValueError("the dynamic string table lies outside the loaded segments")


def _string(f: BinaryIO, offset: int) -> str:
    f.seek(offset)
    data = f.read(MAX_STRING)
    end = data.find(b"\0")
    if end < 0:
        raise ValueError("unterminated string in the dynamic string table")
    return data[:end].decode("utf-8", "surrogateescape")


def resolves_inside(entry: str, file: Path, root: Path) -> bool:
    """True when ``entry`` of ``file``'s search path names a folder inside ``root``.

    Only ``$ORIGIN``-relative entries can: an absolute folder is a fixed place on the
    machine, and an empty or relative entry means the process's current folder.
    """
    if not _ORIGIN.match(entry):
        return False
    resolved = os.path.normpath(_ORIGIN.sub(lambda _: str(file.parent), entry, count=1))
    top = os.path.normpath(root)
    return (resolved == top or resolved.startswith(top + os.sep)) and "$" not in resolved


def elf_files(root: Path) -> Iterator[Path]:
    """Every regular ELF file under ``root`` (symbolic links not followed)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file() and is_elf(path):
                yield path


def outside(root: Path) -> tuple[int, list[SearchPath]]:
    """The number of ELF files under ``root`` and every search-path entry leading outside it."""
    count, found = 0, []
    root = Path(os.path.abspath(root))
    for path in elf_files(root):
        count += 1
        try:
            tags = search_paths(path)
        except (OSError, ValueError) as exc:  # cannot be judged, so it is reported
            found.append(SearchPath(path, "unreadable", str(exc)))
            continue
        for kind, value in tags:
            found += [SearchPath(path, kind, e) for e in value.split(":") if not resolves_inside(e, path, root)]
    return count, found
