#!/usr/bin/env bash
# Remove what install.sh installed: uninstall.sh [--prefix DIR] [--silent]
#
# Reads PREFIX/.install-manifest (default PREFIX: the folder holding this script) and
# removes the links and the menu entry it lists (only while they still point into
# PREFIX) and then PREFIX itself.  Users' settings, logs, caches and results are not
# touched (see docs/install.md for where they are).
set -euo pipefail
PREFIX="$(cd "$(dirname "$0")" && pwd)"
SILENT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --silent) SILENT=1; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { [ "$SILENT" = 1 ] || echo "uninstall: $*"; }
PREFIX="$(readlink -m "$PREFIX")"
MANIFEST="$PREFIX/.install-manifest"
if [ ! -f "$MANIFEST" ] || [ ! -x "$PREFIX/workstation" ] || [ "$(sed -n '1s/^prefix //p' "$MANIFEST")" != "$PREFIX" ]; then
  echo "uninstall.sh: no installation made by install.sh in $PREFIX" >&2
  exit 1
fi
while read -r kind path; do
  case "$kind" in
    link)
      if [ -L "$path" ] && [ "$(readlink "$path")" = "$PREFIX/$(basename "$path")" ]; then
        rm -f "$path" && say "removed $path"
      fi ;;
    file)
      if [ -f "$path" ] && grep -q "^Exec=$PREFIX/workstation " "$path"; then
        rm -f "$path" && say "removed $path"
      fi ;;
  esac
done < "$MANIFEST"
rm -rf "$PREFIX"
say "removed $PREFIX"
