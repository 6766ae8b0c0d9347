"""pack.sh, install.sh and uninstall.sh on a small stand-in for the frozen application.

No build needed, so these run in the default suite.  The stand-in has the bundle's
layout (``workstation`` executable, ``_internal/``, ``BUILD-INFO.txt``); its
``workstation`` records its command line, so a menu entry launched through ``gio
launch`` shows what the desktop would run.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
FOREIGN_ID = 4321  # an account that is neither root nor the tester
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="installing as root needs root")


def fake_bundle(parent: Path, name: str = "workstation-0.0.0-linux-x86_64-cpu") -> Path:
    """A folder laid out like the frozen application, with careless modes."""
    app = parent / name
    (app / "_internal" / "lib").mkdir(parents=True)
    exe = app / "workstation"
    exe.write_text('#!/bin/sh\nprintf "%s\\n" "$0" "$@" > "${ARGS_FILE:-/dev/null}"\n')
    exe.chmod(0o777)
    data = app / "_internal" / "lib" / "data.txt"
    data.write_text("data\n")
    data.chmod(0o666)
    (app / "_internal" / "lib").chmod(0o777)
    (app / "BUILD-INFO.txt").write_text("name: fake\nflavor: cpu\n")
    return app


def sh(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def pack(app: Path, archive: Path) -> Path:
    sh("bash", PACKAGING / "pack.sh", app, archive)
    return archive


def install(tmp: Path, *source: str | Path, prefix: Path | None = None) -> Path:
    prefix = prefix or tmp / "my apps" / "ws"
    sh("bash", *source, "--prefix", prefix, "--bin-dir", tmp / "bin", "--data-dir", tmp / "share", "--silent",
       env={"TMPDIR": str(tmp)})
    return prefix


def tree(path: Path) -> list[Path]:
    return [path, *sorted(path.rglob("*"))]


def assert_installed_safely(prefix: Path, owner: int) -> None:
    """Owned by ``owner`` (and group root for root), folders and executables 755, other files 644."""
    for path in tree(prefix):
        info = path.lstat()
        assert info.st_uid == owner and (owner != 0 or info.st_gid == 0), f"{path}: {info.st_uid}:{info.st_gid}"
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        executable = path.is_dir() or bool(mode & stat.S_IXUSR)
        assert mode == (0o755 if executable else 0o644), f"{path}: {oct(mode)}"


def test_pack_writes_a_root_owned_archive_whoever_owns_the_folder(tmp_path: Path) -> None:
    app = fake_bundle(tmp_path)
    if IS_ROOT:  # the folder as a non-root build account would leave it
        sh("chown", "-R", f"{FOREIGN_ID}:{FOREIGN_ID}", app)
    archive = pack(app, tmp_path / "out" / "app.tar.gz")
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert {m.name.split("/", 1)[-1] for m in members} >= {
        "workstation", "workstation-batch", "install.sh", "uninstall.sh", "smoke_test.sh",
        "share/applications/workstation.desktop", "share/mime/packages/workstation-dicom.xml",
        "share/icons/hicolor/scalable/apps/workstation.svg", "share/icons/hicolor/48x48/apps/workstation.png",
    }
    for m in members:
        assert (m.uid, m.gid) == (0, 0), m.name
        if not m.issym():
            assert not m.mode & (stat.S_IWGRP | stat.S_IWOTH), f"{m.name}: {oct(m.mode)}"


@needs_root
def test_archive_packed_by_another_user_installs_root_owned(tmp_path: Path) -> None:
    app = fake_bundle(tmp_path)
    pack(app, tmp_path / "ours.tar.gz")  # completes the folder (installer, menu entry, icons)
    (app / "_internal" / "lib" / "helper").write_text("#!/bin/sh\n")
    (app / "_internal" / "lib" / "helper").chmod(0o4777)  # set-uid and world-writable in the archive
    archive = tmp_path / "foreign.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # as tar run by that user would write it
        def foreign(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = FOREIGN_ID
            info.uname = info.gname = ""
            return info

        tar.add(app, arcname=app.name, filter=foreign)
    prefix = install(tmp_path, PACKAGING / "install.sh", "--archive", archive)
    assert_installed_safely(prefix, 0)
    assert (prefix / "_internal" / "lib" / "helper").stat().st_mode & 0o7777 == 0o755
    assert (tmp_path / "bin" / "workstation").resolve() == prefix / "workstation"


@needs_root
def test_unpacked_folder_of_another_user_installs_root_owned(tmp_path: Path) -> None:
    app = fake_bundle(tmp_path)
    sh("bash", PACKAGING / "pack.sh", app, tmp_path / "x.tar.gz")  # adds the installer scripts
    sh("chown", "-R", f"{FOREIGN_ID}:{FOREIGN_ID}", app)
    prefix = install(tmp_path, app / "install.sh")
    assert_installed_safely(prefix, 0)


def test_install_as_this_user_normalises_modes(tmp_path: Path) -> None:
    app = fake_bundle(tmp_path)
    prefix = install(tmp_path, PACKAGING / "install.sh", "--archive", pack(app, tmp_path / "a.tar.gz"))
    assert_installed_safely(prefix, os.geteuid())


def test_install_refuses_links_leaving_the_application(tmp_path: Path) -> None:
    app = fake_bundle(tmp_path)
    (app / "_internal" / "evil").symlink_to("/etc/passwd")
    archive = pack(app, tmp_path / "a.tar.gz")
    result = sh("bash", PACKAGING / "install.sh", "--archive", archive, "--prefix", tmp_path / "p",
                "--bin-dir", tmp_path / "bin", "--data-dir", tmp_path / "share", check=False)
    assert result.returncode == 1 and "points outside the application" in result.stderr
    assert not (tmp_path / "p").exists()


def test_desktop_entry_template_is_valid() -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate missing (scripts/setup.sh installs desktop-file-utils)")
    result = sh(validate, PACKAGING / "workstation.desktop")
    assert result.stdout + result.stderr == ""


def test_menu_entry_in_a_prefix_with_spaces_validates_and_launches(tmp_path: Path) -> None:
    gio, validate = shutil.which("gio"), shutil.which("desktop-file-validate")
    if gio is None or validate is None:
        pytest.skip("gio (libglib2.0-bin) or desktop-file-validate missing")
    weird = tmp_path / "my apps" / "ws \"1\" 'q' $HOME `x` ; & | < > ( ) # * ? \\ end"
    archive = pack(fake_bundle(tmp_path), tmp_path / "a.tar.gz")
    prefix = install(tmp_path, PACKAGING / "install.sh", "--archive", archive, prefix=weird)
    entry = tmp_path / "share" / "applications" / "workstation.desktop"
    result = sh(validate, entry)
    assert result.stdout + result.stderr == ""
    text = entry.read_text()
    assert "Icon=workstation\n" in text and "MimeType=application/dicom;\n" in text
    args = tmp_path / "args.txt"
    study = tmp_path / "a study" / "IM 1.dcm"
    study.parent.mkdir()
    study.write_bytes(b"\0" * 128 + b"DICM")
    sh(gio, "launch", entry, study, env={"ARGS_FILE": str(args)})
    deadline = time.monotonic() + 20
    while not args.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert args.read_text().splitlines() == [str(prefix / "workstation"), str(study)]


def test_a_prefix_with_a_percent_sign_is_refused(tmp_path: Path) -> None:
    archive = pack(fake_bundle(tmp_path), tmp_path / "a.tar.gz")
    result = sh("bash", PACKAGING / "install.sh", "--archive", archive, "--prefix", tmp_path / "100% ws", check=False)
    assert result.returncode == 2 and "refusing a prefix with '%'" in result.stderr


def test_dcm_files_map_to_application_dicom_and_to_the_entry(tmp_path: Path) -> None:
    gio = shutil.which("gio")
    if gio is None or shutil.which("update-mime-database") is None:
        pytest.skip("gio or update-mime-database (shared-mime-info) missing")
    install(tmp_path, PACKAGING / "install.sh", "--archive", pack(fake_bundle(tmp_path), tmp_path / "a.tar.gz"))
    sample = tmp_path / "random.dcm"
    sample.write_bytes(os.urandom(300))  # by name only: no DICM marker
    env = {"XDG_DATA_HOME": str(tmp_path / "share"), "XDG_DATA_DIRS": str(tmp_path / "none")}  # ours alone
    info = sh(gio, "info", "-a", "standard::content-type", sample, env=env).stdout
    assert "standard::content-type: application/dicom" in info
    handler = sh(gio, "mime", "application/dicom", env=env).stdout
    assert "Default application for “application/dicom”: workstation.desktop" in handler
    for size in ("16x16", "48x48", "256x256"):
        assert (tmp_path / "share" / "icons" / "hicolor" / size / "apps" / "workstation.png").is_file()


def test_uninstall_removes_exactly_what_install_added(tmp_path: Path) -> None:
    archive = pack(fake_bundle(tmp_path), tmp_path / "a.tar.gz")
    host = tmp_path / "host"
    share = host / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / "other.desktop").write_text("[Desktop Entry]\nType=Application\nName=O\nExec=o\n")
    before = set(tree(host))
    prefix = install(host, PACKAGING / "install.sh", "--archive", archive)
    assert len(set(tree(host)) - before) > 20
    icon = share / "icons" / "hicolor" / "48x48" / "apps" / "workstation.png"
    icon.write_bytes(b"changed by the user")
    result = sh("bash", prefix / "uninstall.sh")
    assert f"kept {icon} (changed since it was installed)" in result.stdout
    icon.unlink()
    for folder in reversed(icon.parents[:4]):  # what kept the changed icon's folders alive
        shutil.rmtree(folder) if folder != share and folder.exists() else None
    after = set(tree(host))
    assert before - after == set()
    assert after - before <= {share / "applications" / "mimeinfo.cache"}, sorted(after - before)


def test_purge_user_data_removes_every_folder_the_application_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.core import paths

    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CACHE_HOME": "relative/ignored",
           "XDG_DATA_HOME": "", "XDG_STATE_HOME": str(tmp_path / "state")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WORKSTATION_LOG_DIR")  # the tests' own log folder (tests/conftest.py)
    monkeypatch.delenv("WORKSTATION_DEMO_DIR", raising=False)
    folders = paths.user_folders()
    qt_shader = paths.qt_cache_dir() / "Workstation" / "qtshadercache-x86_64-little_endian-lp64"
    for folder in [*folders, qt_shader]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "file").write_text("x")
    neighbours = [home / ".cache" / "other-program", tmp_path / "cfg" / "Other", tmp_path / "state" / "other"]
    for folder in neighbours:
        folder.mkdir(parents=True)
    result = sh("bash", PACKAGING / "uninstall.sh", "--only-user-data", env=env)
    assert [f for f in [*folders, qt_shader] if f.exists()] == [], result.stdout
    assert all(f.is_dir() for f in neighbours)
    custom = tmp_path / "it-logs"
    custom.mkdir()
    result = sh("bash", PACKAGING / "uninstall.sh", "--only-user-data", env={**env, "WORKSTATION_LOG_DIR": str(custom)})
    assert custom.is_dir() and f"kept {custom} (set by WORKSTATION_LOG_DIR" in result.stdout


def test_icons_are_rendered_from_the_svg() -> None:
    import sys

    result = subprocess.run([sys.executable, str(PACKAGING / "render_icons.py"), "--check"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr
