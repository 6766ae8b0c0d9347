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
#   6. hostile set-ups: a Workstation.conf with wrong-type values (the app starts, says
#      which keys it reset); no display (exit 2 and a message, before Qt aborts); a
#      read-only HOME (the GUI and --self-check name the folder and the variable that
#      fixes it, no traceback); the cpu flavor calls itself "CPU build";
#   7. nothing written outside the user's config, data, cache and state folders and the
#      --out folder: the app folder, the working folder, HOME, TMPDIR and XDG_RUNTIME_DIR
#      are compared before and after; with strace installed every file the runs open for
#      writing, create, rename or remove is checked against those folders (this covers
#      /tmp and the whole disk, and is immune to other programs writing meanwhile);
#      without strace /tmp, /var/tmp and /dev/shm are compared before and after instead;
#   8. the bundle: the archive's entries are root-owned and not writable by group or
#      others; no ELF file searches for libraries outside the folder (RPATH/RUNPATH, read
#      with patchelf or readelf where installed, besides the self-check's own reader);
#   9. installation: install.sh into a prefix with a space in its name, owned by the
#      installing user with 755/644 modes; the menu entry passes desktop-file-validate,
#      launches the program on a DICOM file through `gio launch`, and .dcm files map to
#      application/dicom and to it; uninstall.sh --purge-user-data leaves no trace of the
#      installation and removes the user's folders.
# Needs only bash, tar and coreutils (no Python); strace, setpriv (for a read-only HOME
# when run as root), patchelf or readelf, desktop-file-validate and gio add checks where
# installed (a missing one is reported as SKIP).  Exit status 0 when everything passed.
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
skip() { echo "SKIP $*"; }
has() { command -v "$1" >/dev/null 2>&1; }

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

USER_ENV=(PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$BASE/home" USER="${USER:-user}"
  XDG_CONFIG_HOME="$BASE/config" XDG_DATA_HOME="$BASE/data" XDG_CACHE_HOME="$BASE/cache"
  XDG_STATE_HOME="$BASE/state" XDG_RUNTIME_DIR="$BASE/runtime" TMPDIR="$BASE/tmp")
DISPLAY_ENV=(QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" ${DISPLAY:+DISPLAY=$DISPLAY})
run() {  # run NAME CMD...: the application in the clean user environment, from the empty cwd
  local name="$1" prefix=() display=("${DISPLAY_ENV[@]}"); shift
  if [ ${#TRACE[@]} -gt 0 ] && [ "${NOTRACE:-0}" != 1 ]; then
    prefix=("${TRACE[@]}" -o "$BASE/logs/$name.trace")
  fi
  [ "${NO_DISPLAY:-0}" = 1 ] && display=()
  (cd "$BASE/cwd" && "${prefix[@]}" env -i "${USER_ENV[@]}" "${display[@]}" "$@") \
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
FLAVOR="$(sed -n 's/^flavor: //p' "$APP/BUILD-INFO.txt" 2>/dev/null)"

# 0. the archive: root-owned entries, nothing writable by group or others
if [ -f "$SOURCE" ]; then
  entries="$(tar --numeric-owner -tvzf "$SOURCE")"
  foreign="$(echo "$entries" | awk '$2 != "0/0"' | head -3)"
  writable="$(echo "$entries" | awk 'substr($1, 1, 1) != "l" && (substr($1, 6, 1) == "w" || substr($1, 9, 1) == "w")' | head -3)"
  if [ -z "$foreign$writable" ]; then
    pass "archive: all $(echo "$entries" | wc -l) entries owned by 0/0, none writable by group or others"
  else
    fail "archive entries not root-owned or writable by others:"; echo "$foreign$writable" | sed 's/^/     /'
  fi
fi

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

# 6a. settings of the wrong type: the app starts, logs each reset key once, cleans the file
conf="$BASE/config/Workstation/Workstation.conf"
mkdir -p "$(dirname "$conf")"
printf '[window]\ngeometry=12345\nstate=12345\n\n[compute]\ndevice=banana\n\n[view]\nlayout=7\n' > "$conf"
if run badconf "$APP/workstation" --quit-after "$LIMIT"; then
  reset="$(grep -ho 'setting [a-z/]* in' "$BASE/logs/badconf.err" | awk '{print $2}' | sort -u | paste -sd ' ' -)"
  if [ "$reset" = "compute/device view/layout window/geometry window/state" ] && ! grep -q 'banana\|=12345' "$conf"; then
    pass "wrong-type settings: started, reset $reset (logged once each), file cleaned"
  else
    fail "wrong-type settings: reset '${reset}'; file now: $(grep -c 'banana\|=12345' "$conf") bad lines"
  fi
else
  fail "wrong-type settings stop the app (exit $?): $(tail -3 "$BASE/logs/badconf.err")"
fi

# 6b. no display: a clear message and exit 2, not Qt's abort
NO_DISPLAY=1 NOTRACE=1 run nodisplay "$APP/workstation"
code=$?
if [ "$code" -eq 2 ] && grep -q "no display found: run with a desktop session, or use \`workstation batch\`" \
     "$BASE/logs/nodisplay.err"; then
  pass "no display: exit 2, '$(head -1 "$BASE/logs/nodisplay.err")'"
else
  fail "no display: exit $code: $(tail -3 "$BASE/logs/nodisplay.err")"
fi

# 6c. read-only HOME (no XDG variables): messages name the folder and the variable
RO=()
if [ "$(id -u)" = 0 ]; then  # root writes anywhere: drop that privilege for these runs
  has setpriv && RO=(setpriv --bounding-set=-dac_override,-dac_read_search) || RO=(missing)
fi
if [ "${RO[*]}" = missing ]; then
  skip "read-only HOME: running as root without setpriv"
else
  mkdir -m 555 "$BASE/rohome"
  ro_run() {
    local name="$1"; shift
    (cd "$BASE/cwd" && "${RO[@]}" env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$BASE/rohome" USER="${USER:-user}" \
      TMPDIR="$BASE/tmp" QT_QPA_PLATFORM=offscreen "$@") > "$BASE/logs/$name.out" 2> "$BASE/logs/$name.err"
  }
  ro_run rogui "$APP/workstation" --quit-after "$LIMIT"
  code=$?
  said="$(grep -h '^startup: the study cannot load' "$BASE/logs/rogui.err")"
  if [ "$code" -le 1 ] && echo "$said" | grep -q 'demo folder .* set WORKSTATION_DEMO_DIR or XDG_CACHE_HOME' \
     && grep -q 'log folder .* set WORKSTATION_LOG_DIR or XDG_STATE_HOME' "$BASE/logs/rogui.err" \
     && ! grep -q Traceback "$BASE/logs/rogui.err"; then
    pass "read-only HOME, GUI: exit $code, no traceback; '${said#startup: }'"
  else
    fail "read-only HOME, GUI: exit $code: $(grep -v propagateSizeHints "$BASE/logs/rogui.err" | tail -4)"
  fi
  ro_run roself "$APP/workstation" --self-check
  code=$?
  line="$(grep -h '^FAIL user folders' "$BASE/logs/roself.out")"
  if [ "$code" -eq 1 ] && echo "$line" | grep -q 'XDG_CONFIG_HOME' && echo "$line" | grep -q 'XDG_CACHE_HOME' \
     && echo "$line" | grep -q 'WORKSTATION_LOG_DIR or XDG_STATE_HOME' && ! grep -q Traceback "$BASE/logs/roself.err"; then
    pass "read-only HOME, self-check: exit 1, '$(echo "$line" | cut -c1-150)...'"
  else
    fail "read-only HOME, self-check: exit $code: ${line:-$(tail -3 "$BASE/logs/roself.out")}"
  fi
fi

# 6d. the cpu flavor says "CPU build", not "no working GPU", whatever GPU the machine has
if [ "$FLAVOR" = cpu ]; then
  said="$(grep -h 'compute device' "$BASE/logs/selfcheck.out" "$BASE/logs/batch.out" 2>/dev/null)"
  if [ "$(echo "$said" | grep -c 'CPU build')" -ge 2 ] && ! echo "$said" | grep -q 'no working GPU'; then
    pass "cpu flavor: self-check and batch say 'CPU build'"
  else
    fail "cpu flavor: compute device lines: $said"
  fi
fi

# 7. logs, no crash reports, nothing written elsewhere
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
  outside="$(echo "$written" | grep -v "^$BASE/\(config\|data\|cache\|state\|out\|out-junk\)\(/\|$\)" \
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

# 8. library search paths: no ELF file of the bundle looks for libraries outside it
if grep -q '^ok   library search paths' "$BASE/logs/selfcheck.out"; then
  pass "self-check: $(grep -h '^ok   library search paths' "$BASE/logs/selfcheck.out" | sed 's/^ok   //; s| inside .*| inside the bundle|')"
else
  fail "self-check: $(grep -h 'library search paths' "$BASE/logs/selfcheck.out" || echo 'no library search paths line')"
fi
rpath_of() {  # the RPATH/RUNPATH of an ELF file, by a second reader
  if has patchelf; then patchelf --print-rpath "$1" 2>/dev/null
  else readelf -d "$1" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p' | paste -sd: -
  fi
}
if has patchelf || has readelf; then
  elves=0 outside=()
  while IFS= read -r -d '' file; do
    [ "$(head -c 4 "$file" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || continue
    elves=$((elves + 1))
    IFS=: read -r -a entries <<< "$(rpath_of "$file")"
    for entry in "${entries[@]}"; do  # only $ORIGIN-relative entries that stay inside pass
      case "$entry" in
        '$ORIGIN'|'$ORIGIN/'*) rest="${entry:7}" ;;
        '${ORIGIN}'|'${ORIGIN}/'*) rest="${entry:9}" ;;
        *) outside+=("${file#"$APP"/}: '$entry'"); continue ;;
      esac
      resolved="$(readlink -m "$(dirname "$file")/$rest")"
      case "$resolved" in
        "$APP"|"$APP"/*) [[ "$rest" != *'$'* ]] && continue ;;
      esac
      outside+=("${file#"$APP"/}: '$entry'")
    done
  done < <(find "$APP" -type f -print0)
  if [ ${#outside[@]} -eq 0 ]; then
    pass "search paths ($(has patchelf && echo patchelf || echo readelf)): none of $elves ELF files looks outside the bundle"
  else
    fail "${#outside[@]} search-path entries lead outside the bundle:"; printf '     %s\n' "${outside[@]:0:10}"
  fi
else
  skip "search paths by a second reader: neither patchelf nor readelf installed"
fi

# 9. installation into a prefix with a space, menu entry, file type, uninstall and purge
IPREFIX="$BASE/my apps/ws"
mkdir -p "$BASE/itmp"
if [ -f "$SOURCE" ]; then from=(--archive "$SOURCE"); else from=(); fi
if TMPDIR="$BASE/itmp" bash "$APP/install.sh" "${from[@]}" --prefix "$IPREFIX" --bin-dir "$BASE/ibin" \
     --data-dir "$BASE/ishare" --silent > "$BASE/logs/install.out" 2>&1; then
  others="$(find "$IPREFIX" ! -user "$(id -u)" -print -quit)"
  loose="$(find "$IPREFIX" ! -type l \( -perm /022 -o -perm /6000 \) -print -quit)"
  odd="$(find "$IPREFIX" -type f ! -perm 644 ! -perm 755 -print -quit)"
  if [ -z "$others$loose$odd" ]; then
    pass "install: $(find "$IPREFIX" | wc -l) paths in '$IPREFIX', all owned by $(id -un), modes 755/644"
  else
    fail "install: ownership or modes wrong: ${others:-}${loose:+ writable by others: $loose}${odd:+ mode: $odd}"
  fi
else
  fail "install.sh: $(tail -3 "$BASE/logs/install.out")"
fi
entry="$BASE/ishare/applications/workstation.desktop"
if has desktop-file-validate; then
  if out="$(desktop-file-validate "$APP/share/applications/workstation.desktop" "$entry" 2>&1)" && [ -z "$out" ]; then
    pass "desktop-file-validate: the entry template and the installed entry ($(grep '^Exec=' "$entry"))"
  else
    fail "desktop-file-validate: $out"
  fi
else
  skip "desktop-file-validate not installed (Debian: desktop-file-utils)"
fi
dcm="$(find "$DEMO" -name '*.dcm' | head -1)"
if has gio && [ -f "$entry" ] && [ -n "$dcm" ]; then
  cp "$dcm" "$BASE/cwd/opened file.dcm"
  log="$BASE/state/workstation/logs/workstation.log"
  before="$(grep -c ' starting; ' "$log")"
  (cd "$BASE/cwd" && env -i "${USER_ENV[@]}" "${DISPLAY_ENV[@]}" gio launch "$entry" "$BASE/cwd/opened file.dcm") \
    > "$BASE/logs/launch.out" 2>&1
  pid=""
  for _ in $(seq 1 300); do
    pid="$(grep ' starting; ' "$log" | sed -n "$((before + 1))p" | awk '{print $3}')"
    [ -n "$pid" ] && break
    sleep 0.2
  done
  cmdline="$([ -n "$pid" ] && tr '\0' '|' < "/proc/$pid/cmdline" 2>/dev/null)"
  if [ -n "$pid" ] && [ "$cmdline" = "$IPREFIX/workstation|$BASE/cwd/opened file.dcm|" ]; then
    pass "gio launch of the menu entry started '$IPREFIX/workstation' on 'opened file.dcm' (pid $pid)"
  else
    fail "gio launch: pid '${pid}', command line '${cmdline}': $(tail -3 "$BASE/logs/launch.out")"
  fi
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$BASE/state/workstation/logs/fatal-$pid.txt"  # ended by the test, not a crash
  fi
  type="$(env XDG_DATA_HOME="$BASE/ishare" XDG_DATA_DIRS=/nonexistent gio info -a standard::content-type \
    "$BASE/cwd/opened file.dcm" 2>/dev/null | sed -n 's/.*content-type: //p')"
  handler="$(env XDG_DATA_HOME="$BASE/ishare" XDG_DATA_DIRS=/nonexistent gio mime application/dicom 2>/dev/null | head -1)"
  if [ "$type" = application/dicom ] && echo "$handler" | grep -q 'workstation.desktop'; then
    pass "file type: .dcm is $type by the installed MIME type alone; $handler"
  else
    fail "file type: .dcm is '${type}', handler '${handler}'"
  fi
else
  skip "gio launch and file type: gio not installed or nothing installed"
fi
if [ -x "$IPREFIX/uninstall.sh" ]; then
  (env -i "${USER_ENV[@]}" bash "$IPREFIX/uninstall.sh" --purge-user-data) > "$BASE/logs/uninstall.out" 2>&1
  code=$?
  left="$(find "$BASE/ibin" "$BASE/ishare" "$IPREFIX" 2>/dev/null | head -3)"
  kept="$(cd "$BASE" && find config data cache state -mindepth 1 -maxdepth 1 | paste -sd ' ' -)"
  ours="$(echo " $kept " | grep -oE ' (config/Workstation|data/workstation|cache/workstation|cache/Workstation|state/workstation) ')"
  if [ "$code" -eq 0 ] && [ -z "$left" ] && [ -z "$ours" ]; then
    pass "uninstall.sh --purge-user-data: prefix, links, entry, icons and file type gone; user folders left: ${kept:-none}"
  else
    fail "uninstall.sh --purge-user-data: exit $code; left: ${left} ${ours}"
  fi
fi

if [ "$FAILED" -eq 0 ]; then
  echo "smoke test passed"
  [ "${SMOKE_KEEP:-0}" = 1 ] || rm -rf "$BASE"
  exit 0
fi
echo "smoke test FAILED; everything is kept in $BASE"
exit 1
