#!/usr/bin/env bash
# Build the packaged application: packaging/build.sh [cpu|cuda]
#
# Creates its own virtual environment under packaging/build/<flavor>/venv, installs the
# application's dependencies plus the flavor's extras (requirements-<flavor>.txt) and
# PyInstaller, freezes src/workstation with workstation.spec into a one-folder
# application, removes library search paths that lead outside it (strip_rpaths.py) and
# packs it, root-owned, as packaging/dist/workstation-<version>-linux-<arch>-<flavor>.tar.gz
# (pack.sh).  Needs python3 >= 3.11 built with a shared libpython and its venv module
# (Debian: python3-venv), patchelf, and the package index.
set -euo pipefail
FLAVOR="${1:-cpu}"
case "$FLAVOR" in
  cpu|cuda) ;;
  *) echo "usage: $0 [cpu|cuda]" >&2; exit 2 ;;
esac
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
BUILD="$HERE/build/$FLAVOR"
DIST="$HERE/dist"
VENV="$BUILD/venv"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/src/workstation/__init__.py")"
NAME="workstation-$VERSION-linux-$(uname -m)-$FLAVOR"
START=$(date +%s)

echo "build: $NAME"
command -v patchelf >/dev/null 2>&1 || { echo "build: patchelf is needed (Debian: apt-get install patchelf)" >&2; exit 1; }
mkdir -p "$BUILD" "$DIST"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || { echo "build: cannot create a virtual environment (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
"$VENV/bin/python" - <<'PY'
import sys, sysconfig
if sys.version_info < (3, 11) or not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit("build: need Python >= 3.11 built with --enable-shared (set PYTHON=...)")
PY
stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$HERE/requirements-$FLAVOR.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -c 'import tomllib, sys; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
    "$ROOT/pyproject.toml" > "$BUILD/requirements-app.txt"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r "$BUILD/requirements-app.txt" -r "$HERE/requirements-$FLAVOR.txt"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi

rm -rf "$BUILD/dist"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo +modified)"
WORKSTATION_FLAVOR="$FLAVOR" WORKSTATION_ROOT="$ROOT" WORKSTATION_COMMIT="$COMMIT" "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$BUILD/dist" --workpath "$BUILD/work" "$HERE/workstation.spec"

APP="$BUILD/dist/$NAME"
mv "$BUILD/dist/workstation" "$APP"
PYTHONPATH="$ROOT/src" "$VENV/bin/python" "$HERE/strip_rpaths.py" "$APP"
{
  echo "name: $NAME"
  echo "version: $VERSION"
  echo "flavor: $FLAVOR"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME") $(uname -m), glibc $(ldd --version | head -1 | awk '{print $NF}')"
  echo "commit: $COMMIT"
  echo "python: $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
  echo "packages:"
  "$VENV/bin/python" -m pip freeze --all | sed 's/^/  /'
} > "$APP/BUILD-INFO.txt"

bash "$HERE/pack.sh" "$APP" "$DIST/$NAME.tar.gz"
rm -rf "${DIST:?}/$NAME"
mv "$APP" "$DIST/$NAME"
echo "build: folder  $DIST/$NAME ($(du -sh "$DIST/$NAME" | cut -f1))"
echo "build: archive $DIST/$NAME.tar.gz ($(du -sh "$DIST/$NAME.tar.gz" | cut -f1))"
echo "build: done in $(( $(date +%s) - START )) s"
