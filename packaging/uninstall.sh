#!/usr/bin/env bash
# Remove what install.sh installed:
#
#   uninstall.sh [--prefix DIR] [--purge-user-data | --only-user-data] [--silent]
#
# Reads PREFIX/.install-manifest (default PREFIX: the folder holding this script) and
# removes the links it lists (only while they still point into PREFIX), the menu entry,
# icons and file type (only while unchanged since installed), the folders it created
# for them (when empty) and PREFIX itself.  Users' settings, logs, caches and results
# are kept unless --purge-user-data is given: then the settings, data, cache (demo
# studies, compiled GPU kernels, Qt's shader cache) and log folders of the user running
# it are removed too.  --only-user-data removes those and nothing else (for each user;
# no installation needed).  Folders named by WORKSTATION_LOG_DIR or WORKSTATION_DEMO_DIR
# are named, never removed.  See docs/install.md for every folder.
set -euo pipefail
PREFIX="$(cd "$(dirname "$0")" && pwd)"
SILENT=0 PURGE=0 INSTALLATION=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --purge-user-data) PURGE=1; shift ;;
    --only-user-data) PURGE=1 INSTALLATION=0; shift ;;
    --silent) SILENT=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
say() { [ "$SILENT" = 1 ] || echo "uninstall: $*"; }

xdg() {  # xdg VARIABLE DEFAULT: the XDG base folder (relative values are ignored, as the app does)
  local value="${!1:-}"
  case "$value" in /*) printf '%s' "$value" ;; *) printf '%s/%s' "$HOME" "$2" ;; esac
}

purge_user_data() {  # the folders workstation.core.paths.user_folders() names, for this user
  if [ -z "${HOME:-}" ] || [ "$HOME" = / ]; then
    echo "uninstall.sh: HOME is not set; not removing user data" >&2
    return 1
  fi
  local dir
  for dir in "$(xdg XDG_CONFIG_HOME .config)/Workstation" "$(xdg XDG_DATA_HOME .local/share)/workstation" \
             "$(xdg XDG_CACHE_HOME .cache)/workstation" "$(xdg XDG_CACHE_HOME .cache)/Workstation" \
             "$(xdg XDG_STATE_HOME .local/state)/workstation"; do
    if [ -e "$dir" ] || [ -L "$dir" ]; then
      rm -rf -- "$dir" && say "removed $dir"
    fi
  done
  for var in WORKSTATION_LOG_DIR WORKSTATION_DEMO_DIR; do
    if [ -n "${!var:-}" ]; then
      say "kept ${!var} (set by $var; remove it by hand if it holds nothing else)"
    fi
  done
}

if [ "$INSTALLATION" = 0 ]; then
  purge_user_data
  exit
fi

PREFIX="$(readlink -m "$PREFIX")"
MANIFEST="$PREFIX/.install-manifest"
if [ ! -f "$MANIFEST" ] || [ ! -x "$PREFIX/workstation" ] || [ "$(sed -n '1s/^prefix //p' "$MANIFEST")" != "$PREFIX" ]; then
  echo "uninstall.sh: no installation made by install.sh in $PREFIX" >&2
  exit 1
fi
DIRS=() MIME_DIRS=() DESKTOP_DIRS=()
while read -r kind rest; do
  case "$kind" in
    link)
      if [ -L "$rest" ] && [ "$(readlink "$rest")" = "$PREFIX/$(basename "$rest")" ]; then
        rm -f "$rest" && say "removed $rest"
      fi ;;
    file)
      sum="${rest%% *}" path="${rest#* }"
      if [ -f "$path" ] && [ "$(sha256sum "$path" | cut -d' ' -f1)" = "$sum" ]; then
        rm -f "$path" && say "removed $path"
        case "$path" in
          */mime/packages/*) MIME_DIRS+=("$(dirname "$(dirname "$path")")") ;;
          *.desktop) DESKTOP_DIRS+=("$(dirname "$path")") ;;
        esac
      elif [ -e "$path" ]; then
        say "kept $path (changed since it was installed)"
      fi ;;
    dir) DIRS=("$rest" "${DIRS[@]}") ;;
  esac
done < "$MANIFEST"
created() { local d; for d in "${DIRS[@]}"; do [ "$d" != "$1" ] || return 0; done; return 1; }
# The MIME and menu caches: rebuilt without our files, or removed with a folder install.sh
# created once nothing else is left in it.
for dir in "${MIME_DIRS[@]}"; do
  if created "$dir" && [ -z "$(ls -A "$dir/packages" 2>/dev/null)" ]; then
    rm -rf "$dir"
  elif command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$dir" >/dev/null 2>&1 || true
  fi
done
for dir in "${DESKTOP_DIRS[@]}"; do
  if created "$dir" && [ -z "$(find "$dir" -name '*.desktop' -print -quit)" ]; then
    rm -f "$dir/mimeinfo.cache"
  elif command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$dir" || true
  fi
done
rm -rf "$PREFIX"
say "removed $PREFIX"
for dir in "${DIRS[@]}"; do  # the folders install.sh created, deepest first, while empty
  rmdir "$dir" 2>/dev/null || true
done
if [ "$PURGE" = 1 ]; then
  purge_user_data
fi
