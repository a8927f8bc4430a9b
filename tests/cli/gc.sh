#!/usr/bin/env bash
# databuild gc (docs/design/history.md, "Retention and garbage collection"):
# with keep_versions 1, the old versions of a partition and their objects
# go, except one a reader holds (flock, as the mount and cat do); the
# current version stays; a build in flight is not disturbed; --dry-run
# changes nothing and reports the same; --json parses.
. "$SOURCE_ROOT/tests/lib.sh"
command -v flock >/dev/null || skip "flock (util-linux) missing"

G=$T/graph
mkdir -p "$G/jobs"
echo one >"$G/value"
mkfifo "$T/go"
# val/{k}: the bytes of $G/value (named in args, so editing it moves the
# build key); slow/{k}: says it started, then waits for a line on the fifo
cat >"$G/jobs/val.sh" <<EOF
#!/bin/sh
set -eu
if [ "\$1" = configure ]; then
	shift
	printf '['
	sep=
	for ref in "\$@"; do
		printf '%s{"outputs":["%s"],"inputs":[],"args":["%s","$G/value"]}' "\$sep" "\$ref" "\$ref"
		sep=,
	done
	printf ']\n'
	exit 0
fi
cat >/dev/null
mkdir -p "\$(dirname "\$DATABUILD_OUTPUT_DIR/\$2")"
case "\$2" in
slow/*) : >"$T/started"; read -r line <"$T/go"; echo "\$line" >"\$DATABUILD_OUTPUT_DIR/\$2" ;;
*) cat "\$3" >"\$DATABUILD_OUTPUT_DIR/\$2" ;;
esac
EOF
chmod +x "$G/jobs/val.sh"
cat >"$G/databuild.json" <<EOF
{"name":"gc_fixture","retention":{"keep_versions":1},"jobs":[
 {"label":"val","outputs":["val/{k}"],"configure":["jobs/val.sh","configure"],
  "exec":["jobs/val.sh","exec"],"version":"1.0.0"},
 {"label":"slow","outputs":["slow/{k}"],"configure":["jobs/val.sh","configure"],
  "exec":["jobs/val.sh","exec"],"version":"1.0.0"}]}
EOF
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
S=$DATABUILD_STORE

# field N KEY: KEY of the Nth version of val/a (1: the oldest)
field() { db history --json val/a | sed -n "$1p" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
versions() { db history --json val/a | wc -l; }
object() { echo "$S/objects/${1:0:2}/${1:2}"; }
lockfile() { local h; h=$(printf %s "$1" | sha256sum | cut -c1-64); echo "$S/locks/${h:0:2}/$h.lock"; }
# freed KIND FIELD: from the gc --json output in $T/out
freed() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['$1']['$2'])" "$T/out"; }
store_files() { (cd "$S" && find objects logs locks staging -type f 2>/dev/null | sort); }

for v in one two three; do
	echo $v >"$G/value"
	expect_exit 0 db build val/a
done
[ "$(versions)" = 3 ] || fail "three builds made $(versions) versions"
[ "$(cat "$S/data/val/a")" = three ] || fail "val/a does not hold the third bytes"
sha1=$(field 1 sha256) sha2=$(field 2 sha256) sha3=$(field 3 sha256)
run1=$(field 1 run_id) run2=$(field 2 run_id) run3=$(field 3 run_id)
for s in "$sha1" "$sha2" "$sha3"; do [ -f "$(object "$s")" ] || fail "object $s missing"; done
if command -v sqlite3 >/dev/null && [ -z "${DATABUILD_CATALOG:-}" ]; then  # the SQLite cell
	[ "$(sqlite3 "$S/catalog.db" 'select count(*) from versions')" = 3 ] ||
		fail "the catalog does not hold 3 versions"
fi
pass "three builds, three versions, three objects"

# a reader holds the oldest object (a shared flock, as the mount and cat take)
exec 9<"$(object "$sha1")"
flock -s 9
# a build in flight: slow/x waits on the fifo, holding its lease
db build slow/x >"$T/slow.out" 2>&1 &
slow_pid=$!
at_exit "kill $slow_pid 2>/dev/null"
poll_until 60 test -e "$T/started"
# lock files are the SQLite cell's leases (PostgreSQL: advisory locks)
flock_leases() { [ -z "${DATABUILD_CATALOG:-}" ]; }
if flock_leases; then
	[ -e "$(lockfile slow/x)" ] || fail "the building partition has no lock file"
fi

store_files >"$T/before"
expect_exit 0 db gc --dry-run --json
python3 -m json.tool "$T/out" >/dev/null || fail "gc --dry-run --json does not parse: $(cat "$T/out")"
[ "$(freed versions count)" = 1 ] || fail "dry run: versions: $(cat "$T/out")"
[ "$(freed objects count)" = 1 ] || fail "dry run: objects: $(cat "$T/out")"
[ "$(freed held versions)" = 1 ] || fail "dry run: held: $(cat "$T/out")"
cp "$T/out" "$T/dry.json"
store_files >"$T/after"
diff -u "$T/before" "$T/after" || fail "gc --dry-run changed the store's files"
[ "$(versions)" = 3 ] || fail "gc --dry-run removed versions"
pass "gc --dry-run reports and changes nothing"

expect_exit 0 db gc --json
python3 -m json.tool "$T/out" >/dev/null || fail "gc --json does not parse: $(cat "$T/out")"
for k in versions objects; do
	[ "$(freed $k count)" = "$(python3 -c "import json; print(json.load(open('$T/dry.json'))['$k']['count'])")" ] ||
		fail "gc freed other $k than its dry run said: $(cat "$T/out") vs $(cat "$T/dry.json")"
done
[ "$(freed versions count)" = 1 ] || fail "gc: versions: $(cat "$T/out")"
[ "$(freed objects count)" = 1 ] || fail "gc: objects: $(cat "$T/out")"
[ "$(freed objects bytes)" -gt 0 ] || fail "gc: object bytes: $(cat "$T/out")"
[ "$(versions)" = 2 ] || fail "after gc: $(versions) versions, want 2"
[ "$(field 1 sha256)" = "$sha1" ] || fail "the held version went"
[ "$(field 2 sha256)" = "$sha3" ] || fail "the current version is not the newest left"
[ -f "$(object "$sha1")" ] || fail "the held object was removed"
[ ! -e "$(object "$sha2")" ] || fail "the unheld old object was not removed"
[ -f "$(object "$sha3")" ] || fail "the current object was removed"
[ ! -e "$S/logs/$run2.log" ] || fail "the log of the removed version's run stays"
[ -e "$S/logs/$run1.log" ] && [ -e "$S/logs/$run3.log" ] || fail "a log of a kept version went"
if flock_leases; then
	[ -e "$(lockfile slow/x)" ] || fail "gc removed the lock file of a partition being built"
	[ ! -e "$(lockfile val/a)" ] || fail "gc left the lock file of idle val/a"
fi
pass "gc removes the unheld old version and its object; the held one and the current stay"

expect_exit 0 db gc
expect_out "versions"
expect_out "kept in use: 1 version"
pass "gc prints a table"

# the build in flight finishes and publishes
echo done >"$T/go"
wait "$slow_pid" || fail "the build in flight failed: $(cat "$T/slow.out")"
[ "$(cat "$S/data/slow/x")" = done ] || fail "slow/x does not hold its bytes"
pass "a build in flight during gc finishes"

# the reader lets go: the next gc takes the old version
exec 9<&-
expect_exit 0 db gc --json
[ "$(freed versions count)" = 1 ] || fail "gc after release: versions: $(cat "$T/out")"
[ "$(freed objects count)" = 1 ] || fail "gc after release: objects: $(cat "$T/out")"
[ "$(versions)" = 1 ] || fail "after release: $(versions) versions, want 1"
[ "$(field 1 current)" = True ] || fail "the version left is not current"
[ ! -e "$(object "$sha1")" ] || fail "the released object stays"
[ "$(cat "$S/data/val/a")" = three ] || fail "val/a lost its bytes"
expect_exit 0 db gc --json
[ "$(freed versions count)" = 0 ] && [ "$(freed objects count)" = 0 ] ||
	fail "a second gc freed more: $(cat "$T/out")"
[ "$(cat "$S/data/val/a")" = three ] || fail "val/a lost its bytes"
pass "released, the old version goes; the current one always stays"

# a lock file gc removed is made again by the next builder
echo four >"$G/value"
expect_exit 0 db build val/a
[ "$(cat "$S/data/val/a")" = four ] || fail "rebuild after gc"
expect_exit 0 db cat val/a
[ "$(cat "$T/out")" = four ] || fail "cat after gc"
pass "builds after gc"

# Kept hashes (core/fingerprint.h): gc removes the record of a file that
# changed, and no other.
touch -d '1 hour ago' "$G/value"
expect_exit 0 db build val/a
rec=$(grep -lx "$G/value" "$S"/cache/hashes/*) || fail "no kept hash of $G/value"
expect_exit 0 db gc --json
[ "$(freed hashes count)" = 0 ] || fail "gc removed kept hashes of unchanged files: $(cat "$T/out")"
[ -e "$rec" ] || fail "gc removed the kept hash of an unchanged file"
echo changed >"$G/value"
expect_exit 0 db gc --dry-run --json
[ "$(freed hashes count)" = 1 ] && [ -e "$rec" ] || fail "gc --dry-run: hashes: $(cat "$T/out")"
expect_exit 0 db gc --json
[ "$(freed hashes count)" = 1 ] && [ "$(freed hashes bytes)" -gt 0 ] ||
	fail "gc: hashes: $(cat "$T/out")"
[ ! -e "$rec" ] || fail "gc left the kept hash of a changed file"
[ -n "$(ls "$S/cache/hashes")" ] || fail "gc removed the kept hashes of unchanged files"
echo four >"$G/value"
pass "gc removes the kept hash of a file that changed, and only that"

expect_exit 2 db gc extra
expect_err "gc: unexpected argument"
expect_exit 2 db gc --nope
expect_exit 0 db gc --help
expect_out "usage: databuild gc [--dry-run] [--json]"
pass "gc usage"

# A lock file removed while a builder waits for its lease (what gc does,
# holding the lease): the builder then holds the file at the path, so a
# second builder cannot get in through a new file. (The race inside one
# flock is tests/cli/test_gc.c's test_lease_recheck.)
if flock_leases; then
	L=$(lockfile slow/y)
	mkdir -p "$(dirname "$L")"
	exec 8>>"$L"
	flock -x 8
	rm -f "$T/started"
	db build slow/y >"$T/slow.out" 2>&1 &
	slow_pid=$!
	has_lock_open() { ls -l "/proc/$slow_pid/fd" 2>/dev/null | grep -qF "$L"; }
	poll_until 60 has_lock_open
	rm "$L"
	exec 8>&-
	poll_until 60 test -e "$T/started"
	[ -e "$L" ] || fail "the builder holds a removed lock file"
	if flock -n "$L" true; then fail "the lock file at the path is not held by the builder"; fi
	echo done >"$T/go"
	wait "$slow_pid" || fail "the build of slow/y failed: $(cat "$T/slow.out")"
	pass "a builder waiting while its lock file is removed holds the file at the path"
fi

# The mount daemon's daily gc (scheduler/scheduler.h SCHEDULER_GC_EVERY_S):
# nothing at start, then a day later by its clock (DATABUILD_NOW=@FILE).
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
	M=$T/mnt
	mkdir -p "$M"
	mount_helpers
	set_now() { echo "$1" >"$T/now.tmp" && mv "$T/now.tmp" "$T/now"; }
	export DATABUILD_NOW=@$T/now
	set_now 2030-01-01T00:00:00Z
	expect_exit 0 db gc
	echo five >"$G/value"
	expect_exit 0 db build val/a
	[ "$(versions)" = 2 ] || fail "before the daemon: $(versions) versions, want 2"
	mount_db  # its scheduler has started: its first gc is due a day later
	[ "$(cat "$M/val/a")" = five ] || fail "val/a through the mount"
	[ "$(versions)" = 2 ] || fail "the daemon collected at start"
	set_now 2030-01-02T00:00:01Z
	poll_until 30 grep -q "gc: freed 1 versions" "$S/daemon.log"
	[ "$(versions)" = 1 ] || fail "after the daily gc: $(versions) versions, want 1"
	[ "$(cat "$M/val/a")" = five ] || fail "val/a through the mount after the daily gc"
	unmount_db
	pass "the mount daemon collects once a day"
else
	echo "skipped: the daily gc of the mount (no FUSE)"
fi
