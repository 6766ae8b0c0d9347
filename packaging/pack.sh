#!/usr/bin/env bash
# Complete a frozen application folder and pack it: packaging/pack.sh APP_FOLDER ARCHIVE.tar.gz
#
# Adds the installer scripts, the workstation-batch name, the menu entry template, the
# icon (hicolor sizes and scalable) and the application/dicom file type under share/,
# then writes the folder as a gzip tar archive whose entries are owned by root (0:0,
# numeric) with no group or other write permission, whoever runs the build, so that an
# unpacked copy is never owned by the build account.  build.sh calls it; so do the tests.
set -euo pipefail
if [ $# -ne 2 ] || [ ! -x "$1/workstation" ]; then
  echo "usage: $0 APP_FOLDER ARCHIVE.tar.gz (APP_FOLDER/workstation must exist)" >&2
  exit 2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
APP="$(cd "$1" && pwd)"
ARCHIVE="$(readlink -m "$2")"
ICONS="$ROOT/resources/icons"
SHARE="$APP/share"

ln -sfn workstation "$APP/workstation-batch"
install -m 755 "$HERE/install.sh" "$HERE/uninstall.sh" "$HERE/smoke_test.sh" "$APP/"
install -D -m 644 "$HERE/workstation.desktop" "$SHARE/applications/workstation.desktop"
install -D -m 644 "$HERE/workstation-dicom.xml" "$SHARE/mime/packages/workstation-dicom.xml"
install -D -m 644 "$ICONS/workstation.svg" "$SHARE/icons/hicolor/scalable/apps/workstation.svg"
for png in "$ICONS"/workstation-*.png; do
  size="${png##*-}" size="${size%.png}"
  install -D -m 644 "$png" "$SHARE/icons/hicolor/${size}x${size}/apps/workstation.png"
done

mkdir -p "$(dirname "$ARCHIVE")"
rm -f "$ARCHIVE"
tar_args=(--owner=0 --group=0 --numeric-owner --mode=go-w --sort=name -C "$(dirname "$APP")")
if command -v pigz >/dev/null 2>&1; then  # parallel gzip, same format
  tar "${tar_args[@]}" -cf - "$(basename "$APP")" | pigz -6 > "$ARCHIVE"
else
  tar "${tar_args[@]}" -czf "$ARCHIVE" "$(basename "$APP")"
fi
