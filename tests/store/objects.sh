#!/usr/bin/env bash
# The object store (docs/design/history.md): identical outputs of two
# partitions are one inode under objects/, a rebuild with new bytes leaves
# the old object, and everything stays intact and readable by path.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
export STATE=$T/state DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
mkdir -p "$G/jobs" "$STATE"
cp "$SOURCE_ROOT/tests/store/fixture/job.sh" "$G/jobs/job.sh"
cp "$SOURCE_ROOT/tests/store/fixture/graph.json" "$G/databuild.json"
S=$DATABUILD_STORE
obj() { echo "$S/objects/${1:0:2}/${1:2}"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

echo one >"$STATE/content"
expect_exit 0 db build same/a same/b
[ "$(cat "$S/store.format")" = objects ] || fail "a new store does not say 'objects' in store.format"
[ "$(stat -c %a "$S/objects")" = 755 ] || fail "objects/ is mode $(stat -c %a "$S/objects")"
h1=$(sha "$S/data/same/a")
o1=$(obj "$h1")
[ -f "$o1" ] || fail "no object $o1"
ino=$(stat -c %i "$o1")
[ "$(stat -c %i "$S/data/same/a")" = "$ino" ] && [ "$(stat -c %i "$S/data/same/b")" = "$ino" ] ||
	fail "same/a and same/b are not the object's inode"
[ "$(stat -c %h "$o1")" = 3 ] || fail "the object has $(stat -c %h "$o1") links, not 3"
[ "$(stat -c %a "$o1")" = 444 ] || fail "the object is mode $(stat -c %a "$o1")"
[ "$(find "$S/objects" -type f | wc -l)" = 1 ] || fail "more than one object"
ls -A "$S/data/same" | grep -q '^\.' && fail "a temporary name is left in data/same"
pass "identical bytes of two partitions are one object"

# same/a's ctime moved when same/b was linked: not damage, rehashed
expect_exit 0 db verify
expect_out "verified 2 partitions (8 bytes): 0 damaged"
expect_exit 0 db cat same/a
[ "$(cat "$T/out")" = one ] || fail "cat same/a: $(cat "$T/out")"
expect_exit 0 db ls --status damaged
[ ! -s "$T/out" ] || fail "damaged after a relink: $(cat "$T/out")"
pass "a relinked partition is intact"

echo two >"$STATE/content"
expect_exit 0 db taint same/a
expect_exit 0 db build same/a
h2=$(sha "$S/data/same/a")
[ "$h2" != "$h1" ] || fail "same/a was not rebuilt with new bytes"
[ -f "$o1" ] || fail "the old object is gone after a rebuild"
[ "$(stat -c %i "$S/data/same/a")" = "$(stat -c %i "$(obj "$h2")")" ] ||
	fail "same/a is not its new object"
[ "$(stat -c %h "$o1")" = 2 ] || fail "the old object has $(stat -c %h "$o1") links, not 2"
[ "$(find "$S/objects" -type f | wc -l)" = 2 ] || fail "not two objects"
pass "a rebuild leaves the old object"

expect_exit 0 db verify
expect_out "verified 2 partitions (8 bytes): 0 damaged"
expect_exit 0 db path same/b
p=$(cat "$T/out")
[ "$p" = "$S/data/same/b" ] || fail "path same/b: $p"
[ "$(cat "$p")" = one ] || fail "$p does not hold same/b's bytes"
expect_exit 0 db path same/a
[ "$(cat "$(cat "$T/out")")" = two ] || fail "path same/a does not read its new bytes"
pass "verify is clean and paths are readable"

# a changed object is a change of every name: caught, not rehashed away
chmod u+w "$o1" && printf 'ONE\n' >"$o1" && chmod 0444 "$o1"
expect_exit 1 db verify
expect_out "damaged  same/b"
pass "a changed object is found"

# its rebuild does not reuse the changed object: the bytes are made again
echo one >"$STATE/content"
expect_exit 0 db cat same/b
[ "$(cat "$T/out")" = one ] || fail "cat same/b after its object changed: $(cat "$T/out")"
[ "$(cat "$o1")" = one ] || fail "the changed object was reused: $(cat "$o1")"
[ "$(stat -c %i "$S/data/same/b")" = "$(stat -c %i "$o1")" ] || fail "same/b is not its object"
expect_exit 0 db verify
expect_out "0 damaged"
echo two >"$STATE/content"
pass "a changed object is replaced by the rebuild"

# The mount: a partition whose object gained a link is rehashed off the
# FUSE handler (through the plan) and served, not rebuilt, not damaged.
[ -e /dev/fuse ] && command -v fusermount3 >/dev/null || { pass "no FUSE: the mount is not tested"; exit 0; }
M=$T/mnt
mkdir -p "$M"
mount_helpers
mount_db
[ "$(timeout 30 cat "$M/same/a")" = two ] || fail "the mount served same/a wrongly"
run_of() { db ls --json "$1" | sed -n 's/.*"published_run":"\([^"]*\)".*/\1/p'; }
run=$(run_of same/a)
expect_exit 0 db build same/c
[ "$(stat -c %i "$S/data/same/c")" = "$(stat -c %i "$S/data/same/a")" ] || fail "same/c is not same/a's object"
ident_of() {  # the recorded identity (SQLite cell), else nothing
	[ "${DATABUILD_TEST_CATALOG:-sqlite}" = sqlite ] || return 0
	python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select ident from partitions where ref = ?", (sys.argv[2],)).fetchone()[0])' "$S/catalog.db" "$1"
}
was=$(ident_of same/a)
for i in 1 2; do
	[ "$(timeout 30 cat "$M/same/a")" = two ] || fail "the mount did not serve relinked same/a ($i)"
done
[ -z "$was" ] || [ "$(ident_of same/a)" != "$was" ] || fail "the mount did not record same/a's identity again"
[ "$(run_of same/a)" = "$run" ] || fail "relinked same/a was rebuilt"
expect_exit 0 db ls --status damaged
[ ! -s "$T/out" ] || fail "damaged after a relink under the mount: $(cat "$T/out")"
grep -q "damaged" "$S/daemon.log" && fail "the daemon logged damage: $(grep damaged "$S/daemon.log")"
# after the plan recorded its identity again, an open serves at once
expect_exit 0 db path same/a
unmount_db
pass "the mount rehashes a relinked partition in a worker and serves it"
