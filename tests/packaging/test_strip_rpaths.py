"""packaging/strip_rpaths.py on copies of a real extension module with planted search paths."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core import elf

ROOT = Path(__file__).resolve().parents[2]
BUILD_HOME = "/home/builder/.pyenv/versions/3.11.7/lib"


def _small_library() -> Path:
    """A small extension module of the standard library (a shared library on Linux builds)."""
    for name in ("_bisect", "_csv", "_json", "array", "math", "_struct"):
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None and origin.suffix == ".so" and elf.is_elf(origin):
            return origin
    pytest.skip("this Python has its standard-library modules built in")


def _readelf(path: Path) -> list[tuple[str, str]]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\((RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[(.*)\]", out)


def _loads(path: Path) -> bool:
    """Whether a fresh process can load ``path`` as a shared library."""
    code = f"import ctypes; ctypes.CDLL({str(path)!r})"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode == 0


def test_outside_entries_are_removed_and_the_kind_kept(tmp_path: Path) -> None:
    patchelf = shutil.which("patchelf")
    if patchelf is None or shutil.which("readelf") is None:
        pytest.skip("patchelf (scripts/setup.sh installs it) or readelf missing")
    source = _small_library()
    app = tmp_path / "app"
    lib = app / "_internal" / "pkg"
    (app / "_internal" / "pkg.libs").mkdir(parents=True)
    lib.mkdir(parents=True)
    plan = {  # file: (kind, planted search path, what must be left)
        "mixed_rpath.so": ("RPATH", f"{BUILD_HOME}:$ORIGIN/../pkg.libs:$ORIGIN/../../..:lib", "$ORIGIN/../pkg.libs"),
        "mixed_runpath.so": ("RUNPATH", f"$ORIGIN:{BUILD_HOME}", "$ORIGIN"),
        "outside_only.so": ("RUNPATH", BUILD_HOME, None),
        "inside_only.so": ("RPATH", "$ORIGIN/../pkg.libs", "$ORIGIN/../pkg.libs"),
    }
    for name, (kind, planted, _) in plan.items():
        target = lib / name
        shutil.copy2(source, target)
        target.chmod(0o755)
        force = ["--force-rpath"] if kind == "RPATH" else []
        subprocess.run([patchelf, *force, "--set-rpath", planted, str(target)], check=True)
        target.chmod(0o555)  # read-only, as some wheels ship them
        assert _readelf(target) == [(kind, planted)] and _loads(target)
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "strip_rpaths.py"), str(app)],
                            capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 search-path entries leading outside removed from 3 of 4 ELF files" in result.stdout
    for name, (kind, _, left) in plan.items():
        target = lib / name
        assert _readelf(target) == ([(kind, left)] if left else []), name
        assert target.stat().st_mode & 0o777 == 0o555
        assert _loads(target), name  # still a loadable library
    assert elf.outside(app) == (4, [])
