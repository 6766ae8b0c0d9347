#!/usr/bin/env bash
# Smoke test of a packaged workstation: packaging/smoke_test.sh ARCHIVE.tar.gz | APP_FOLDER
#
# Unpacks (or copies) the application into an empty folder and runs it as a new user
# would, with HOME, XDG_{CONFIG,DATA,CACHE,STATE}_HOME, XDG_RUNTIME_DIR and TMPDIR all
# empty private folders and an empty working folder:
#   1. the GUI, headless (QT_QPA_PLATFORM=offscreen), on the demo study with --quit-after,
#      twice (the second time in the MPR + 3D layout, whose 3D view must degrade);
#   2. workstation --self-check;
#   3. calcium through the batch entry point of the same binary on the demo chest CT the
#      GUI wrote into the cache folder: exit 0, calcium.json with agatston_total 226.38;
#      then organ segmentation (bundled ONNX model): five structures and labels.nii.gz;
#   4. workstation-batch list (the symlinked name);
#   5. batch on a folder of non-DICOM files: must fail with a clear message;
#   6. nothing written outside the user's config, data, cache and state folders and the
#      --out folder: the app folder, the working folder, HOME, TMPDIR and XDG_RUNTIME_DIR
#      are compared before and after; with strace installed every file the runs open for
#      writing, create, rename or remove is checked against those folders (this covers
#      /tmp and the whole disk, and is immune to other programs writing meanwhile);
#      without strace /tmp, /var/tmp and /dev/shm are compared before and after instead.
# Needs only bash, tar and coreutils (no Python).  Exit status 0 when everything passed.
# SMOKE_QUIT_AFTER (default 300) limits the GUI start; SMOKE_KEEP=1 keeps the folder;
# SMOKE_IGNORE (an extended regular expression) skips paths that other programs on a
# shared machine write meanwhile, e.g. SMOKE_IGNORE='^/tmp/pytest-of-'.
set -uo pipefail
if [ $# -ne 1 ] || [ ! -e "$1" ]; then
  echo "usage: $0 ARCHIVE.tar.gz|APP_FOLDER" >&2
  exit 2
fi
SOURCE="$(readlink -f "$1")"
LIMIT="${SMOKE_QUIT_AFTER:-300}"
EXPECTED_AGATSTON=226.38
BASE="$(mktemp -d /tmp/workstation-smoke.XXXXXX)"
FAILED=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

mkdir -p "$BASE"/{app,home,config,data,cache,state,tmp,cwd,out,junk,logs}
mkdir -m 700 "$BASE/runtime"
if [ -d "$SOURCE" ]; then
  cp -a "$SOURCE" "$BASE/app/"
else
  tar -xzf "$SOURCE" -C "$BASE/app" || { echo "FAIL cannot unpack $SOURCE"; exit 1; }
fi
APP="$(find "$BASE/app" -mindepth 2 -maxdepth 2 -name workstation -type f -printf '%h\n' | head -1)"
[ -x "$APP/workstation" ] || { echo "FAIL no workstation executable in $SOURCE"; exit 1; }
head -c 4096 /dev/urandom > "$BASE/junk/IM0001.dcm"
printf 'not a DICOM file\n' > "$BASE/junk/notes.txt"

TRACE=()
if command -v strace >/dev/null 2>&1 && [ "${SMOKE_STRACE:-1}" = 1 ]; then
  TRACE=(strace -f -qq -y -s 4096 --seccomp-bpf -e status=successful
    -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,linkat,symlink,symlinkat,truncate)
fi

run() {  # run NAME CMD...: the application in the clean user environment, from the empty cwd
  local name="$1" prefix=(); shift
  if [ ${#TRACE[@]} -gt 0 ] && [ "${NOTRACE:-0}" != 1 ]; then
    prefix=("${TRACE[@]}" -o "$BASE/logs/$name.trace")
  fi
  (cd "$BASE/cwd" && "${prefix[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$BASE/home" USER="${USER:-user}" \
    XDG_CONFIG_HOME="$BASE/config" XDG_DATA_HOME="$BASE/data" XDG_CACHE_HOME="$BASE/cache" \
    XDG_STATE_HOME="$BASE/state" XDG_RUNTIME_DIR="$BASE/runtime" TMPDIR="$BASE/tmp" \
    QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" ${DISPLAY:+DISPLAY=$DISPLAY} "$@") \
    > "$BASE/logs/$name.out" 2> "$BASE/logs/$name.err"
}

listing() {  # listing DIR [find options]: folders by name, other files with size and time
  find "$@" \( -type d -printf '%p dir\n' \) -o -printf '%p %s %T@\n' 2>/dev/null
}

# Allowed outside the user's folders, with the reason:
#   $TMPDIR/.ses  ONNX Runtime's Linux wheel writes this 51-byte session-ID file of its
#                 bundled telemetry library when it is imported; fixed name, rewritten
#                 each run, no patient data.
ALLOWED="^$BASE/tmp/\\.ses "

snapshot() {  # the files of every folder the application must not write to
  {
    for dir in "$APP" "$BASE/cwd" "$BASE/home" "$BASE/tmp" "$BASE/runtime"; do
      listing "$dir"
    done
    if [ ${#TRACE[@]} -eq 0 ]; then
      for dir in /tmp /var/tmp /dev/shm; do
        listing "$dir" -xdev -path "$BASE" -prune -o
      done
    fi
  } | grep -Ev "${SMOKE_IGNORE:-^$}" | grep -Ev "$ALLOWED" | sort
}

echo "smoke test of $SOURCE in $BASE"
snapshot > "$BASE/logs/before.txt"

# 1. GUI, headless, demo study, timed start
if run gui "$APP/workstation" --quit-after "$LIMIT"; then
  pass "GUI start: $(grep -h '^startup:' "$BASE/logs/gui.out" | sed 's/^startup: //' | paste -sd ';' -)"
else
  fail "GUI start (exit $?): $(tail -5 "$BASE/logs/gui.err")"
fi
if NOTRACE=1 run gui2 "$APP/workstation" --quit-after "$LIMIT" --layout mpr-2x2; then
  pass "GUI second start (demo cached, MPR + 3D layout): $(grep -h '^startup:' "$BASE/logs/gui2.out" | sed 's/^startup: //' | paste -sd ';' -)"
else
  fail "GUI second start (exit $?): $(tail -5 "$BASE/logs/gui2.err")"
fi
if [ "${QT_QPA_PLATFORM:-offscreen}" = offscreen ]; then
  if grep -q "3D view unavailable" "$BASE/logs/gui2.err"; then
    pass "3D view replaced by a message: $(grep -h -m1 -o '3D view unavailable.*' "$BASE/logs/gui2.err")"
  else
    fail "no '3D view unavailable' message with QT_QPA_PLATFORM=offscreen"
  fi
fi

# 2. self-check
if run selfcheck "$APP/workstation" --self-check; then
  pass "self-check: $(grep -c '^ok ' "$BASE/logs/selfcheck.out") checks ok"
else
  fail "self-check: $(grep '^FAIL' "$BASE/logs/selfcheck.out" | head -3)"
fi
grep -h "compute device" "$BASE/logs/selfcheck.out" | sed 's/^/     /'

# 3. batch calcium on the demo chest CT written by the GUI
DEMO="$BASE/cache/workstation/demo/chest_ct"
if [ ! -f "$DEMO/.complete" ]; then
  fail "the GUI did not write the demo chest CT to $DEMO"
elif run batch "$APP/workstation" batch run calcium "$DEMO" --out "$BASE/out"; then
  json="$(find "$BASE/out" -name calcium.json | head -1)"
  score="$(sed -n 's/^ *"agatston_total": *\([0-9.eE+-]*\),*$/\1/p' "$json" 2>/dev/null | head -1)"
  device="$(sed -n 's/^ *"device": *"\([^"]*\)".*/\1/p' "$json" 2>/dev/null | head -1)"
  if [ -n "$score" ] && awk -v s="$score" -v e="$EXPECTED_AGATSTON" 'BEGIN { d = s - e; exit !(d < 0.01 && d > -0.01) }' \
     && [ -n "$device" ]; then
    pass "batch calcium: agatston_total $score (expected $EXPECTED_AGATSTON), device $device;" \
      "$(grep -h '^compute device' "$BASE/logs/batch.out")"
  else
    fail "batch calcium: agatston_total '${score}' device '${device}' in ${json:-no calcium.json}"
  fi
else
  fail "batch calcium (exit $?): $(tail -5 "$BASE/logs/batch.err")"
fi

# 3b. organ segmentation (ONNX model from the bundle) on the same study
if [ -f "$DEMO/.complete" ] && run batchseg "$APP/workstation" batch run segmentation "$DEMO" --out "$BASE/out"; then
  json="$(find "$BASE/out" -name segmentation.json | head -1)"
  labels="$(find "$BASE/out" -name labels.nii.gz | head -1)"
  n="$(grep -c '"volume_ml"' "$json" 2>/dev/null)"
  if [ "${n:-0}" -ge 5 ] && [ -s "$labels" ]; then
    pass "batch segmentation: $n structures in segmentation.json, labels.nii.gz $(stat -c %s "$labels") bytes"
  else
    fail "batch segmentation: ${n:-0} structures in ${json:-no segmentation.json}, labels '${labels}'"
  fi
else
  fail "batch segmentation (exit $?): $(tail -5 "$BASE/logs/batchseg.err" 2>/dev/null)"
fi

# 4. the workstation-batch name of the same binary
if run batchlist "$APP/workstation-batch" list && grep -q '^calcium' "$BASE/logs/batchlist.out"; then
  pass "workstation-batch list: $(grep -c '^[a-z]' "$BASE/logs/batchlist.out") analyses"
else
  fail "workstation-batch list: $(tail -3 "$BASE/logs/batchlist.err")"
fi

# 5. negative: a folder without DICOM
run junk "$APP/workstation" batch run calcium "$BASE/junk" --out "$BASE/out-junk"
code=$?
if [ "$code" -ne 0 ] && grep -q "no DICOM studies found" "$BASE/logs/junk.err"; then
  pass "batch on non-DICOM files: exit $code, '$(grep -h 'no DICOM' "$BASE/logs/junk.err")'"
else
  fail "batch on non-DICOM files: exit $code: $(tail -3 "$BASE/logs/junk.err")"
fi

# 6. logs, no crash reports, nothing written elsewhere
logs="$BASE/state/workstation/logs"
if [ -s "$logs/workstation.log" ] && [ -s "$logs/batch.log" ]; then
  pass "logs: $(cd "$logs" && ls | paste -sd ' ' -) in \$XDG_STATE_HOME/workstation/logs"
else
  fail "logs missing in $logs"
fi
crashes="$(find "$BASE/state" "$BASE/data" -name 'crash-*' -o -name 'fatal-*' | head -3)"
[ -z "$crashes" ] && pass "no crash reports" || fail "crash reports written: $crashes"
snapshot > "$BASE/logs/after.txt"
changed="$(diff "$BASE/logs/before.txt" "$BASE/logs/after.txt" | grep '^[<>]' | awk '{print $2}' | sort -u)"
if [ -z "$changed" ]; then
  pass "nothing written to the app folder, cwd, HOME, TMPDIR (but ONNX Runtime's .ses), XDG_RUNTIME_DIR" \
    "$([ ${#TRACE[@]} -eq 0 ] && echo ', /tmp, /var/tmp, /dev/shm')"
else
  fail "written outside the user's folders:"; echo "$changed" | head -20 | sed 's/^/     /'
fi
if [ ${#TRACE[@]} -gt 0 ]; then
  # Every path a traced run wrote to (opened for writing, created, renamed, removed).
  written="$(cat "$BASE"/logs/*.trace | awk -v cwd="$BASE/cwd" '
    {
      if (!match($0, /^[0-9]+ +[a-z0-9]+\(/)) next
      call = substr($0, RSTART, RLENGTH - 1); sub(/^[0-9]+ +/, "", call)
      if (call ~ /^(open|openat)$/ && $0 !~ /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/) next
      rest = $0; sub(/\) += .*$/, "", rest); n = 0; dir = ""
      while (match(rest, /[0-9A-Z_]+<[^>]*>|"([^"\\]|\\.)*"/)) {
        tok = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
        if (tok ~ /^"/) {
          p = substr(tok, 2, length(tok) - 2)
          if (p !~ /^\//) p = (dir != "" ? dir : cwd) "/" p
          q[++n] = p; dir = ""
        } else { dir = tok; sub(/^[0-9A-Z_]+</, "", dir); sub(/>$/, "", dir) }
      }
      for (i = (call ~ /^symlink/ ? n : 1); i <= n; i++) print q[i]
    }' | sort -u)"
  outside="$(echo "$written" | grep -v "^$BASE/\(config\|data\|cache\|state\|out\|out-junk\)/" \
    | grep -Ev "^/dev/(null|tty|pts/)|^/proc/|^$BASE/tmp/\.ses$|^$" || true)"
  if [ -z "$outside" ]; then
    pass "traced writes: all $(echo "$written" | grep -c .) paths are in the user's folders or --out (and \$TMPDIR/.ses)"
  else
    fail "traced writes outside the user's folders:"; echo "$outside" | head -20 | sed 's/^/     /'
  fi
else
  echo "     (strace not installed: /tmp, /var/tmp and /dev/shm compared by listing instead)"
fi
echo "     user folders now hold: $(cd "$BASE" && find config data cache state -type f | sed 's|/[^/]*$||' | sort | uniq -c | awk '{print $2" ("$1")"}' | paste -sd ' ' -)"

if [ "$FAILED" -eq 0 ]; then
  echo "smoke test passed"
  [ "${SMOKE_KEEP:-0}" = 1 ] || rm -rf "$BASE"
  exit 0
fi
echo "smoke test FAILED; everything is kept in $BASE"
exit 1
