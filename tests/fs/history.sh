#!/usr/bin/env bash
# .databuild/history: a partition rebuilt with other bytes has two
# versions, listed by time in publish order with a manifest beside each;
# each reads its own bytes (diff against the live file works), ls -l shows
# sizes and modes, everything is read-only, a bogus name is ENOENT, a
# removed partition keeps its history, nothing there builds, and gc
# keeps a version while it is open (a shared flock on its object).
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"

# errno_of PATH: the errno name of stat(PATH), or "ok".
errno_of() {
	python3 -c 'import errno, os, sys
try:
    os.stat(sys.argv[1]); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}
# write_errno PATH: the errno name of opening PATH for appending, or "ok".
write_errno() {
	python3 -c 'import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}
NAME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'

# keep one version per partition: gc removes older ones nobody reads
python3 - "$G/databuild.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
g["retention"] = {"keep_versions": 1}
json.dump(g, open(sys.argv[1], "w"))
PY
touch -d '1 minute ago' "$G/databuild.json" "$G/jobs/job.sh"
mount_db
R=raw/date=2024-01-01
H=$M/.databuild/history/$R

cat "$M/$R" >"$T/v1" || fail "first build of $R"
grep -q ',item3,' "$T/v1" || fail "unexpected first bytes"
# The job now writes other bytes: the next read rebuilds (keys freshness).
sed -i 's/,item\$i,/,ITEM$i,/' "$G/jobs/job.sh"
cat "$M/$R" >"$T/v2" || fail "rebuild of $R"
grep -q ',ITEM3,' "$T/v2" || { cat "$T/v2"; fail "the rebuild did not write the new bytes"; }
[ "$(runs raw 2024-01-01)" = 2 ] || { cat "$RUNLOG"; fail "raw should have run twice"; }
run1=$(grep '^raw 2024-01-01 ' "$RUNLOG" | sed -n 1p | cut -d' ' -f3)
run2=$(grep '^raw 2024-01-01 ' "$RUNLOG" | sed -n 2p | cut -d' ' -f3)
pass "two builds of $R with different bytes (runs $run1, $run2)"

ls "$M/.databuild/history" >"$T/top" || fail "ls of .databuild/history"
grep -qx raw "$T/top" || { cat "$T/top"; fail ".databuild/history does not list raw"; }
ls "$M/.databuild/history/raw" >"$T/ds" || fail "ls of .databuild/history/raw"
grep -qx 'date=2024-01-01' "$T/ds" || { cat "$T/ds"; fail "history/raw does not list $R"; }
ls "$H" >"$T/ls" || fail "ls of $H"
[ "$(wc -l <"$T/ls")" = 4 ] || { cat "$T/ls"; fail "expected two versions and two manifests"; }
V1=$(sed -n 1p "$T/ls")
V2=$(sed -n 3p "$T/ls")
[[ $V1 =~ $NAME_RE ]] && [[ $V2 =~ $NAME_RE ]] || { cat "$T/ls"; fail "version names"; }
[ "$(sed -n 2p "$T/ls")" = "$V1.manifest.json" ] && [ "$(sed -n 4p "$T/ls")" = "$V2.manifest.json" ] ||
	{ cat "$T/ls"; fail "a manifest beside each version"; }
pass "ls lists the datasets, the ref, two versions by time and their manifests"

cmp "$T/v1" "$H/$V1" || fail "the first version does not read the first bytes"
cmp "$T/v2" "$H/$V2" || fail "the second version does not read the current bytes"
diff <(cat "$H/$V2") "$M/$R" || fail "diff of the current version against the live file"
if diff <(cat "$H/$V1") "$M/$R" >"$T/diff"; then fail "diff of the first version found no change"; fi
grep -q '^> .*ITEM3' "$T/diff" && grep -q '^< .*item3' "$T/diff" || { cat "$T/diff"; fail "diff output"; }
pass "each version reads its own bytes; diff against the live partition works"

ls -l "$H" >"$T/ll" || fail "ls -l of $H"
[ "$(stat -c %s "$H/$V1")" = "$(wc -c <"$T/v1")" ] || fail "size of the first version"
[ "$(stat -c %s "$H/$V2")" = "$(wc -c <"$T/v2")" ] || fail "size of the second version"
[ "$(stat -c %a "$H/$V1")" = 444 ] && [ "$(stat -c %F "$H/$V1")" = "regular file" ] ||
	fail "a version is not a regular file of mode 0444"
[ "$(stat -c %Y "$H/$V1")" -le "$(stat -c %Y "$H/$V2")" ] || fail "mtimes out of publish order"
[ "$(stat -c %Y "$H/$V2")" -gt 0 ] || fail "mtime of a version"
[ "$(stat -c %s "$H/$V1.manifest.json")" = "$(cat "$H/$V1.manifest.json" | wc -c)" ] ||
	fail "the manifest's stat size differs from its bytes"
pass "ls -l: sizes, mode 0444, mtimes in publish order"

manifest_run() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["run_id"])' "$1"
}
cat "$H/$V1.manifest.json" | python3 -m json.tool >/dev/null || fail "the first manifest is not JSON"
[ "$(manifest_run "$H/$V1.manifest.json")" = "$run1" ] || fail "the first manifest names another run"
[ "$(manifest_run "$H/$V2.manifest.json")" = "$run2" ] || fail "the second manifest names another run"
cmp "$H/$V2.manifest.json" "$M/$R.manifest.json" || fail "the current version's manifest differs from $R.manifest.json"
pass "the manifest beside each version names its run"

[ "$(write_errno "$H/$V1")" = EROFS ] || fail "a version opened for writing: $(write_errno "$H/$V1")"
if echo x >>"$H/$V1" 2>/dev/null; then fail "appending to a version succeeded"; fi
if touch "$H/new" 2>/dev/null; then fail "creating a file in history succeeded"; fi
if rm -f "$H/$V1" 2>/dev/null; then :; fi
[ -e "$H/$V1" ] || fail "a version was removed"
if mkdir "$H/dir" 2>/dev/null; then fail "mkdir in history succeeded"; fi
cmp "$T/v1" "$H/$V1" || fail "the first version changed"
pass "history is read-only"

[ "$(errno_of "$H/2000-01-01T00:00:00.000000Z")" = ENOENT ] || fail "a bogus version name"
[ "$(errno_of "$H/2000-01-01T00:00:00.000000Z.manifest.json")" = ENOENT ] || fail "a bogus manifest name"
[ "$(errno_of "$H/$run1")" = ENOENT ] || fail "a run id is not a version name"
[ "$(errno_of "$H/${V1%Z}")" = ENOENT ] || fail "a malformed version name"
[ "$(errno_of "$M/.databuild/history/raw/date=2099-01-01")" = ENOENT ] || fail "a partition never built"
[ "$(errno_of "$M/.databuild/history/nosuch")" = ENOENT ] || fail "an unknown dataset"
[ "$(runs raw 2099-01-01)" = 0 ] || fail "a lookup in history built something"
pass "bogus names are ENOENT and build nothing"

# A removed partition loses its row but keeps its versions: looked up by name.
db rm "$R" >"$T/rm.out" 2>&1 || { cat "$T/rm.out"; fail "databuild rm"; }
has_history() { [ "$(ls "$H" 2>/dev/null | wc -l)" = 4 ]; }
poll_until 10 has_history
cmp "$T/v1" "$H/$V1" || fail "the first version of a removed partition"
cmp "$T/v2" "$H/$V2" || fail "the second version of a removed partition"
[ "$(errno_of "$M/.databuild/history/raw")" = ok ] || fail "the dataset of a removed partition"
[ "$(runs raw 2024-01-01)" = 2 ] || fail "reading history built something"
pass "a removed partition keeps its history"

# gc skips a version while a reader holds it open, and removes it after.
exec 3<"$H/$V1"
db gc >"$T/gc1" 2>&1 || { cat "$T/gc1"; fail "databuild gc"; }
sha1=$(sha256sum "$T/v1" | cut -d' ' -f1)
[ -f "$DATABUILD_STORE/objects/${sha1:0:2}/${sha1:2}" ] || { cat "$T/gc1"; fail "gc removed an object held open"; }
[ "$(errno_of "$H/$V1")" = ok ] || { cat "$T/gc1"; fail "gc removed a version held open"; }
cmp "$T/v1" /dev/fd/3 || fail "the held version no longer reads its bytes"
exec 3<&-
db gc >"$T/gc2" 2>&1 || { cat "$T/gc2"; fail "databuild gc (2)"; }
v1_gone() { [ "$(errno_of "$H/$V1")" = ENOENT ]; }
poll_until 10 v1_gone
[ ! -e "$DATABUILD_STORE/objects/${sha1:0:2}/${sha1:2}" ] || { cat "$T/gc2"; fail "gc kept an object nobody holds"; }
cmp "$T/v2" "$H/$V2" || fail "the newest version after gc"
[ "$(ls "$H")" = "$(printf '%s\n%s\n' "$V2" "$V2.manifest.json")" ] || { ls "$H"; fail "listing after gc"; }
pass "gc keeps a version while it is open, removes it once closed"

unmount_db
