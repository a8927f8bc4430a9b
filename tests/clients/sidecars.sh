#!/usr/bin/env bash
# -o sidecars=hidden: whole-directory readers (cat DIR/*, a glob in
# Python) get exactly the partitions' bytes; the sidecars are still read
# by name, and listed under .databuild/manifests/, which mirrors the
# datasets. Without the option (the default) readdir lists them.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"

expect_exit 2 db mount "$M" -o sidecars=maybe
expect_err "sidecars=maybe"
pass "an unknown sidecars= value is refused"

mount_db -o sidecars=hidden
for d in 2024-01-01 2024-01-02 2024-01-03; do
	cat "$M/sizes/day=$d" >/dev/null || fail "cannot build sizes/day=$d"
	expect_csv "$d" >>"$T/all"
done
! cat "$M/broken/key=x" 2>/dev/null || fail "broken/key=x should fail"

[ "$(ls "$M/sizes" | tr '\n' ' ')" = "day=2024-01-01 day=2024-01-02 day=2024-01-03 " ] ||
	fail "ls sizes: $(ls "$M/sizes" | tr '\n' ' ')"
[ "$(ls "$M/broken" | tr '\n' ' ')" = "key=x " ] || fail "ls broken: $(ls "$M/broken" | tr '\n' ' ')"
cat "$M"/sizes/* >"$T/cat" || fail "cat sizes/* failed"
cmp "$T/all" "$T/cat" || fail "cat sizes/* returned other bytes than the partitions'"
need_python csv python3
"$PY" - "$M/sizes" "$ROWS" <<'PY' || fail "a Python glob over sizes/ saw other files"
import csv, glob, sys
files = sorted(glob.glob(sys.argv[1] + "/*"))
assert [f.rsplit("/", 1)[1] for f in files] == ["day=2024-01-0%d" % i for i in (1, 2, 3)], files
rows = [r for f in files for r in csv.DictReader(open(f))]
assert len(rows) == 3 * int(sys.argv[2]), len(rows)
PY
[ -z "$(find "$M/sizes" "$M/broken" -name '*.manifest.json' -o -name '*.error')" ] ||
	fail "find lists sidecars beside the partitions"
pass "sidecars=hidden: ls, cat DIR/*, a Python glob and find see only partitions"

S=$M/sizes/day=2024-01-01.manifest.json
"$PY" -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["job"] == "csv", m' "$S" ||
	fail "the manifest is not readable by name"
grep -q "the export of x is corrupt" "$M/broken/key=x.error" || fail "the error sidecar is not readable by name"
pass "sidecars=hidden: sidecars are read by name"

MF=$M/.databuild/manifests
ls -a "$M/.databuild" | grep -qx manifests || fail ".databuild does not list manifests"
[ "$(ls "$MF" | tr '\n' ' ')" = "big broken daily dbs sizes vectors " ] || fail "ls manifests: $(ls "$MF" | tr '\n' ' ')"
[ "$(ls "$MF/sizes" | tr '\n' ' ')" = "day=2024-01-01.manifest.json day=2024-01-02.manifest.json day=2024-01-03.manifest.json " ] ||
	fail "ls manifests/sizes: $(ls "$MF/sizes" | tr '\n' ' ')"
[ "$(ls "$MF/broken")" = "key=x.error" ] || fail "ls manifests/broken: $(ls "$MF/broken")"
[ -z "$(ls "$MF/vectors")" ] || fail "manifests/vectors lists $(ls "$MF/vectors") before any build"
cmp "$S" "$MF/sizes/day=2024-01-01.manifest.json" || fail "the mirror's manifest differs"
[ "$(stat -c %i "$S")" = "$(stat -c %i "$MF/sizes/day=2024-01-01.manifest.json")" ] ||
	fail "the mirror's manifest is another inode"
cmp "$M/broken/key=x.error" "$MF/broken/key=x.error" || fail "the mirror's error sidecar differs"
[ "$(find "$MF" -type f | wc -l)" = 4 ] || fail "find in the mirror: $(find "$MF" -type f)"
[ ! -e "$MF/sizes/day=2024-01-01" ] || fail "the mirror shows a partition"
[ ! -e "$MF/sizes/day=2024-01-09.manifest.json" ] || fail "the mirror shows the manifest of a missing partition"
[ ! -e "$MF/nothing" ] || fail "the mirror shows a directory that does not exist"
pass ".databuild/manifests mirrors the datasets with their sidecars only"
unmount_db

mount_db
ls "$M/sizes" >"$T/ls"
grep -qx "day=2024-01-01.manifest.json" "$T/ls" && grep -qx "day=2024-01-01" "$T/ls" ||
	fail "by default ls lists the sidecars: $(cat "$T/ls")"
grep -qx "key=x.error" <(ls "$M/broken") || fail "by default ls lists the error sidecar"
[ -e "$M/.databuild/manifests/sizes/day=2024-01-01.manifest.json" ] || fail "no mirror by default"
! ls -a "$M/.databuild" | grep -qx manifests || fail "by default .databuild lists manifests"
[ "$(find "$M" -name 'day=2024-01-01.manifest.json' | wc -l)" = 1 ] || fail "find sees a manifest twice"
pass "default (sidecars=listed): readdir lists the sidecars; the mirror is there by name only"
