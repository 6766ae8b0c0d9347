#!/usr/bin/env bash
# Install the packaged workstation (silent-capable; nothing is downloaded):
#
#   install.sh [--archive FILE.tar.gz] [--prefix DIR] [--bin-dir DIR] [--desktop-dir DIR]
#              [--no-desktop] [--silent]
#
# Copies the application folder (the one holding this script, or the one inside
# --archive) to PREFIX, links PREFIX/workstation and PREFIX/workstation-batch into
# BIN_DIR and adds a menu entry (.desktop file) to DESKTOP_DIR.  Everything it creates
# is listed in PREFIX/.install-manifest, which PREFIX/uninstall.sh reads to remove
# exactly that.  An earlier installation in PREFIX is uninstalled first.
# Defaults as root: /opt/workstation, /usr/local/bin, /usr/share/applications;
# otherwise ~/.local/opt/workstation, ~/.local/bin, ~/.local/share/applications.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then
  PREFIX=/opt/workstation BIN_DIR=/usr/local/bin DESKTOP_DIR=/usr/share/applications
else
  PREFIX="$HOME/.local/opt/workstation" BIN_DIR="$HOME/.local/bin" DESKTOP_DIR="$HOME/.local/share/applications"
fi
ARCHIVE="" SILENT=0 DESKTOP=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --desktop-dir) DESKTOP_DIR="$2"; shift 2 ;;
    --archive) ARCHIVE="$2"; shift 2 ;;
    --no-desktop) DESKTOP=0; shift ;;
    --silent) SILENT=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { [ "$SILENT" = 1 ] || echo "install: $*"; }
PREFIX="$(readlink -m "$PREFIX")"
case "$PREFIX" in
  /|/usr|/usr/local|/opt|/bin|/etc|"$HOME") echo "install.sh: refusing prefix $PREFIX" >&2; exit 2 ;;
esac

WORK=""
cleanup() { [ -z "$WORK" ] || rm -rf "$WORK"; }
trap cleanup EXIT
if [ -n "$ARCHIVE" ]; then
  WORK="$(mktemp -d)"
  tar -xzf "$ARCHIVE" -C "$WORK"
  SOURCE="$(find "$WORK" -mindepth 2 -maxdepth 2 -name workstation -type f -printf '%h\n' | head -1)"
else
  SOURCE="$(cd "$(dirname "$0")" && pwd)"
fi
if [ -z "$SOURCE" ] || [ ! -x "$SOURCE/workstation" ] || [ ! -d "$SOURCE/_internal" ]; then
  echo "install.sh: no packaged application found (run it from the unpacked folder or give --archive)" >&2
  exit 1
fi
if [ "$SOURCE" = "$PREFIX" ]; then
  echo "install.sh: the application is already in $PREFIX" >&2
  exit 1
fi

if [ -f "$PREFIX/.install-manifest" ]; then
  say "removing the earlier installation in $PREFIX"
  bash "$PREFIX/uninstall.sh" --prefix "$PREFIX" --silent
elif [ -e "$PREFIX" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
  echo "install.sh: $PREFIX exists and is not an installation of this application" >&2
  exit 1
fi

say "copying $SOURCE to $PREFIX"
mkdir -p "$PREFIX"
cp -a "$SOURCE/." "$PREFIX/"
MANIFEST="$PREFIX/.install-manifest"
echo "prefix $PREFIX" > "$MANIFEST"
mkdir -p "$BIN_DIR"
for name in workstation workstation-batch; do
  if [ -e "$BIN_DIR/$name" ] || [ -L "$BIN_DIR/$name" ]; then
    say "keeping the existing $BIN_DIR/$name (not ours)"
    continue
  fi
  ln -s "$PREFIX/$name" "$BIN_DIR/$name"
  echo "link $BIN_DIR/$name" >> "$MANIFEST"
  say "linked $BIN_DIR/$name"
done
if [ "$DESKTOP" = 1 ]; then
  mkdir -p "$DESKTOP_DIR"
  desktop="$DESKTOP_DIR/workstation.desktop"
  sed "s|^Exec=workstation |Exec=$PREFIX/workstation |" "$SOURCE/workstation.desktop" > "$desktop"
  echo "file $desktop" >> "$MANIFEST"
  say "menu entry $desktop"
fi
say "installed $(sed -n 's/^name: //p' "$PREFIX/BUILD-INFO.txt" 2>/dev/null) in $PREFIX"
say "check it with: $PREFIX/workstation --self-check"
