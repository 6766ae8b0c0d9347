#!/usr/bin/env bash
# Install the packaged workstation (silent-capable; nothing is downloaded):
#
#   install.sh [--archive FILE.tar.gz] [--prefix DIR] [--bin-dir DIR] [--data-dir DIR]
#              [--desktop-dir DIR] [--no-desktop] [--silent]
#
# Copies the application folder (the one holding this script, or the one inside
# --archive) to PREFIX, owned by the installing user (root when run as root) with mode
# 755 for folders and executables and 644 for other files, whatever the archive or the
# unpacked folder says; links PREFIX/workstation and PREFIX/workstation-batch into
# BIN_DIR; and adds the menu entry (DATA_DIR/applications, or --desktop-dir), its icon
# (DATA_DIR/icons/hicolor) and the DICOM file type application/dicom (DATA_DIR/mime).
# Everything it creates is listed in PREFIX/.install-manifest, which PREFIX/uninstall.sh
# reads to remove exactly that.  An earlier installation in PREFIX is uninstalled first.
# Defaults as root: /opt/workstation, /usr/local/bin, /usr/share; otherwise
# ~/.local/opt/workstation, ~/.local/bin, ~/.local/share.
set -euo pipefail
umask 022
if [ "$(id -u)" = 0 ]; then
  PREFIX=/opt/workstation BIN_DIR=/usr/local/bin DATA_DIR=/usr/share
else
  PREFIX="$HOME/.local/opt/workstation" BIN_DIR="$HOME/.local/bin" DATA_DIR="$HOME/.local/share"
fi
ARCHIVE="" SILENT=0 DESKTOP=1 DESKTOP_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --desktop-dir) DESKTOP_DIR="$2"; shift 2 ;;
    --archive) ARCHIVE="$2"; shift 2 ;;
    --no-desktop) DESKTOP=0; shift ;;
    --silent) SILENT=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
say() { [ "$SILENT" = 1 ] || echo "install: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }
PREFIX="$(readlink -m "$PREFIX")" BIN_DIR="$(readlink -m "$BIN_DIR")" DATA_DIR="$(readlink -m "$DATA_DIR")"
DESKTOP_DIR="$(readlink -m "${DESKTOP_DIR:-$DATA_DIR/applications}")"
case "$PREFIX" in
  /|/usr|/usr/local|/opt|/bin|/etc|"$HOME") echo "install.sh: refusing prefix $PREFIX" >&2; exit 2 ;;
esac
for dir in "$PREFIX" "$BIN_DIR" "$DATA_DIR" "$DESKTOP_DIR"; do
  case "$dir" in *[[:cntrl:]]*) echo "install.sh: refusing a folder name with control characters" >&2; exit 2 ;; esac
done
case "$PREFIX" in  # GLib looks for the program before it decodes %% in the menu entry's Exec line
  *%*) echo "install.sh: refusing a prefix with '%' (desktops could not start it from the menu)" >&2; exit 2 ;;
esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [ -n "$ARCHIVE" ]; then
  # Ownership and permission bits of the archive are not kept, whoever packed it.
  mkdir "$WORK/unpacked"
  tar --no-same-owner --no-same-permissions -xzf "$ARCHIVE" -C "$WORK/unpacked"
  SOURCE="$(find "$WORK/unpacked" -mindepth 2 -maxdepth 2 -name workstation -type f -printf '%h\n' | head -1)"
else
  SOURCE="$(cd "$(dirname "$0")" && pwd)"
fi
if [ -z "$SOURCE" ] || [ ! -x "$SOURCE/workstation" ] || [ ! -d "$SOURCE/_internal" ] \
   || [ ! -f "$SOURCE/share/applications/workstation.desktop" ]; then
  die "no packaged application found (run it from the unpacked folder or give --archive)"
fi
if [ "$SOURCE" = "$PREFIX" ]; then
  die "the application is already in $PREFIX"
fi
# Only folders, regular files and links that stay inside the application are copied.
odd="$(find "$SOURCE" ! -type d ! -type f ! -type l -print -quit)"
[ -z "$odd" ] || die "unexpected special file in the application: $odd"
while IFS= read -r -d '' link; do
  case "$(readlink -m "$link")" in
    "$SOURCE"/*) ;;
    *) die "link $link points outside the application ($(readlink "$link"))" ;;
  esac
done < <(find "$SOURCE" -type l -print0)

if [ -f "$PREFIX/.install-manifest" ]; then
  say "removing the earlier installation in $PREFIX"
  bash "$PREFIX/uninstall.sh" --prefix "$PREFIX" --silent
elif [ -e "$PREFIX" ] && [ -n "$(ls -A "$PREFIX" 2>/dev/null)" ]; then
  die "$PREFIX exists and is not an installation of this application"
fi

MANIFEST="$PREFIX/.install-manifest"
CREATED=()
make_dir() {  # make_dir DIR: create DIR and its missing parents, remembering which were created
  local dir="$1" missing=()
  while [ ! -d "$dir" ]; do missing=("$dir" "${missing[@]}"); dir="$(dirname "$dir")"; done
  for dir in "${missing[@]}"; do
    mkdir "$dir" && CREATED+=("$dir")
  done
}
put() {  # put SOURCE_FILE TARGET: install a 644 file outside the prefix and list it with its checksum
  make_dir "$(dirname "$2")"
  install -m 644 "$1" "$2"
  echo "file $(sha256sum "$2" | cut -d' ' -f1) $2" >> "$MANIFEST"
}
string_value() {  # a Desktop Entry string value: backslash escaped
  printf '%s' "${1//\\/\\\\}"
}
exec_argument() {  # one argument of an Exec key, quoted as the Desktop Entry specification asks
  local s="$1"
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//\`/\\\`}"; s="${s//\$/\\\$}"  # quoting rule
  s="${s//\\/\\\\}"                                                          # string escape, applied last
  printf '"%s"' "$s"
}

say "copying $SOURCE to $PREFIX"
make_dir "$PREFIX"
cp -R "$SOURCE/." "$PREFIX/"
if [ "$(id -u)" = 0 ]; then
  chown -R -h 0:0 "$PREFIX"
fi
find "$PREFIX" -type d -exec chmod 00755 {} +
find "$PREFIX" -type f -perm -u+x -exec chmod 00755 {} +
find "$PREFIX" -type f ! -perm -u+x -exec chmod 00644 {} +
echo "prefix $PREFIX" > "$MANIFEST"

make_dir "$BIN_DIR"
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
  SHARE="$SOURCE/share"
  entry="$WORK/workstation.desktop"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "Exec=workstation"*) printf 'Exec=%s%s\n' "$(exec_argument "$PREFIX/workstation")" "${line#Exec=workstation}" ;;
      "TryExec=workstation") printf 'TryExec=%s\n' "$(string_value "$PREFIX/workstation")" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$SHARE/applications/workstation.desktop" > "$entry"
  put "$entry" "$DESKTOP_DIR/workstation.desktop"
  say "menu entry $DESKTOP_DIR/workstation.desktop"
  while IFS= read -r file; do
    put "$SHARE/$file" "$DATA_DIR/$file"
  done < <(cd "$SHARE" && find icons mime -type f | sort)
  say "icon in $DATA_DIR/icons/hicolor, file type application/dicom in $DATA_DIR/mime"
  if command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$DATA_DIR/mime" >/dev/null 2>&1 || say "update-mime-database failed; .dcm files may not map to application/dicom yet"
  fi
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$DESKTOP_DIR" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA_DIR/icons/hicolor/icon-theme.cache" ]; then
    gtk-update-icon-cache -q -t -f "$DATA_DIR/icons/hicolor" || true
  fi
fi
for dir in "${CREATED[@]}"; do
  case "$dir" in "$PREFIX"|"$PREFIX"/*) ;; *) echo "dir $dir" >> "$MANIFEST" ;; esac
done
chmod 644 "$MANIFEST"
say "installed $(sed -n 's/^name: //p' "$PREFIX/BUILD-INFO.txt" 2>/dev/null) in $PREFIX"
say "check it with: $PREFIX/workstation --self-check"
