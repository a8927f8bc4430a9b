#!/usr/bin/env bash
# A store made by the release before objects/ (fixture/prev_store.tar.gz,
# made by fixture/make_prev_store.sh) is migrated when the catalog is first
# opened: its data is linked into objects/, identities are recorded again,
# store.format says "objects", and nothing else changes.
. "$SOURCE_ROOT/tests/lib.sh"

# the fixture carries its SQLite catalog
[ "${DATABUILD_TEST_CATALOG:-sqlite}" = sqlite ] || skip "the fixture's catalog is SQLite"
G=$T/graph
export STATE=$T/state DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
mkdir -p "$G/jobs" "$STATE"
cp "$SOURCE_ROOT/tests/store/fixture/job.sh" "$G/jobs/job.sh"
cp "$SOURCE_ROOT/tests/store/fixture/graph.json" "$G/databuild.json"
echo two >"$STATE/content"
S=$DATABUILD_STORE
tar -xzf "$SOURCE_ROOT/tests/store/fixture/prev_store.tar.gz" -C "$T"
[ -d "$S/data" ] && [ ! -e "$S/objects" ] && [ ! -e "$S/store.format" ] ||
	fail "the fixture is not a store from before objects/"
sums() { (cd "$S/data" && find . -type f | sort | xargs sha256sum); }
sums >"$T/before"
idents() { python3 -c 'import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute("select ref, ident from partitions order by ref"):
    print(*r)' "$S/catalog.db"; }
idents >"$T/idents.before"

expect_exit 0 db verify
expect_out "verified 3 partitions (26 bytes): 0 damaged"
[ "$(cat "$S/store.format")" = objects ] || fail "store.format: $(cat "$S/store.format" 2>&1)"
[ "$(stat -c %a "$S/objects")" = 755 ] || fail "objects/ is mode $(stat -c %a "$S/objects")"
for ref in same/a other/c; do
	h=$(sha256sum "$S/data/$ref" | cut -d' ' -f1)
	o=$S/objects/${h:0:2}/${h:2}
	[ -f "$o" ] || fail "$ref: no object $o"
	[ "$(stat -c %i "$o")" = "$(stat -c %i "$S/data/$ref")" ] || fail "$ref is not its object"
done
# same/b has the bytes of same/a: its object exists already, and it is left as it was
h=$(sha256sum "$S/data/same/b" | cut -d' ' -f1)
[ -f "$S/objects/${h:0:2}/${h:2}" ] || fail "same/b: no object"
[ "$(find "$S/objects" -type f | wc -l)" = 2 ] || fail "not two objects"
sums | cmp -s - "$T/before" || fail "bytes changed by the migration"
pass "the store is migrated"

idents >"$T/idents.after"
! cmp -s "$T/idents.before" "$T/idents.after" || fail "no identity was recorded again"
while read -r ref ident; do
	now=$(stat -c '%d:%i:%s' "$S/data/$ref")
	case $ident in "$now":*) ;; *) fail "$ref: recorded identity $ident, the file is $now" ;; esac
	[ "${ident##*:}" = "$(python3 -c 'import os, sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$S/data/$ref")" ] ||
		fail "$ref: identity $ident was taken before the link"
done <"$T/idents.after"
pass "identities are recorded again"

# a second open does nothing; the data reads as before
cp "$T/idents.after" "$T/idents.again"
expect_exit 0 db cat --freshness presence same/a
[ "$(cat "$T/out")" = one ] || fail "cat same/a: $(cat "$T/out")"
expect_exit 0 db cat --freshness presence other/c
[ "$(cat "$T/out")" = "other other/c two" ] || fail "cat other/c: $(cat "$T/out")"
idents | cmp -s - "$T/idents.again" || fail "identities moved at the second open"
expect_exit 0 db verify
expect_out "0 damaged"
pass "bytes are intact and served"

# an interrupted migration resumes: objects present already are fine
rm -rf "$T/store"
tar -xzf "$SOURCE_ROOT/tests/store/fixture/prev_store.tar.gz" -C "$T"
h=$(sha256sum "$S/data/same/a" | cut -d' ' -f1)
mkdir -p -m 0755 "$S/objects/${h:0:2}"
ln "$S/data/same/a" "$S/objects/${h:0:2}/${h:2}"
# and a damaged file is left alone
chmod u+w "$S/data/other/c" && echo broken >"$S/data/other/c" && chmod 0444 "$S/data/other/c"
expect_exit 1 db verify
expect_out "damaged  other/c"
[ "$(cat "$S/store.format")" = objects ] || fail "the resumed migration did not finish"
[ "$(find "$S/objects" -type f | wc -l)" = 1 ] || fail "a damaged file was linked into objects/"
pass "a migration resumes and leaves damaged data alone"

# the mount migrates too (its daemon opens catalogs of its own)
[ -e /dev/fuse ] && command -v fusermount3 >/dev/null || { pass "no FUSE: the mount is not tested"; exit 0; }
rm -rf "$T/store"
tar -xzf "$SOURCE_ROOT/tests/store/fixture/prev_store.tar.gz" -C "$T"
M=$T/mnt
mkdir -p "$M"
mount_helpers
mount_db -o freshness=presence
[ "$(cat "$S/store.format")" = objects ] || fail "the mount did not migrate the store"
[ "$(find "$S/objects" -type f | wc -l)" = 2 ] || fail "the mount's migration: not two objects"
[ "$(timeout 30 cat "$M/same/a")" = one ] || fail "the mount served same/a wrongly"
unmount_db
pass "the mount migrates the store"
