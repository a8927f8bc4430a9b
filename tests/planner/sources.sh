#!/usr/bin/env bash
# External sources: a source job's partitions are files outside the store,
# imported (copied, hashed, published read-only) when a downstream job
# needs them; the file itself is only ever read. Its identity (size,
# mtime, inode) is in the import's build key: a changed file makes the
# import and its downstream stale, with a reason naming the file; the same
# bytes under a new mtime are re-imported and the downstream is cut off.
# A missing file is an error naming it.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
DROPS=$T/drops
mkdir -p "$G/jobs" "$DROPS"
cat >"$G/jobs/count.sh" <<'SH'
#!/bin/sh
# configure: one config per ref, reading src/packages/date=D
# exec: counts the lines of its input
set -eu
if [ "$1" = configure ]; then
	shift
	printf '['; sep=
	for ref in "$@"; do
		d=${ref##*=}
		printf '%s{"outputs":["%s"],"inputs":[{"dep_type":"materialize","ref":"src/packages/date=%s"}],"args":["%s"]}' "$sep" "$ref" "$d" "$d"
		sep=,
	done
	printf ']\n'
	exit 0
fi
d=$2
echo "count $d" >>"$RUNLOG"
mkdir -p "$DATABUILD_OUTPUT_DIR/counts"
wc -l <"$DATABUILD_INPUT_DIR/src/packages/date=$d" | tr -d ' ' >"$DATABUILD_OUTPUT_DIR/counts/date=$d"
SH
chmod +x "$G/jobs/count.sh"
cat >"$G/databuild.json" <<JSON
{"name": "sources",
 "jobs": [
  {"label": "packages", "source": "$DROPS/{date}.csv", "outputs": ["src/packages/date={date}"]},
  {"label": "count", "outputs": ["counts/date={date}"],
   "configure": ["jobs/count.sh", "configure"], "exec": ["jobs/count.sh", "exec"]}
 ]}
JSON
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store RUNLOG=$T/runs.log
: >"$RUNLOG"
printf 'a\nb\nc\n' >"$DROPS/2024-01-01.csv"
chmod 0444 "$DROPS/2024-01-01.csv"
before=$(stat -c '%s %Y %i' "$DROPS/2024-01-01.csv")

expect_exit 0 db cat counts/date=2024-01-01
[ "$(cat "$T/out")" = 3 ] || fail "count: '$(cat "$T/out")'"
expect_exit 0 db cat src/packages/date=2024-01-01
[ "$(cat "$T/out")" = "$(printf 'a\nb\nc')" ] || fail "the imported source: '$(cat "$T/out")'"
expect_exit 0 db show --json src/packages/date=2024-01-01
expect_out '"job":"packages"'
[ "$(stat -c '%s %Y %i' "$DROPS/2024-01-01.csv")" = "$before" ] || fail "the source file was changed"
pass "a source file is imported read-only and feeds its downstream"

expect_exit 0 db build counts/date=2024-01-01
[ "$(grep -c '^count' "$RUNLOG")" = 1 ] || fail "an unchanged source rebuilt its downstream"

# changed bytes: stale, with the file named; the downstream rebuilt
chmod 0644 "$DROPS/2024-01-01.csv"
printf 'a\nb\nc\nd\n' >"$DROPS/2024-01-01.csv"
expect_exit 0 db plan counts/date=2024-01-01
expect_out "stale: source file '$DROPS/2024-01-01.csv' changed"
expect_exit 0 db build counts/date=2024-01-01
expect_exit 0 db cat counts/date=2024-01-01
[ "$(cat "$T/out")" = 4 ] || fail "after the change: '$(cat "$T/out")'"
[ "$(grep -c '^count' "$RUNLOG")" = 2 ] || fail "the downstream was not rebuilt once"
pass "a changed source file makes its downstream stale, naming the file"

# the same bytes, touched: re-imported, and the downstream is cut off
touch -d '2030-01-01' "$DROPS/2024-01-01.csv"
expect_exit 0 db build counts/date=2024-01-01
[ "$(grep -c '^count' "$RUNLOG")" = 2 ] || fail "a touched source rebuilt its downstream"
pass "the same bytes under a new mtime do not rebuild the downstream"

expect_exit 2 db build counts/date=2024-01-09
expect_err "the file of 'src/packages/date=2024-01-09', '$DROPS/2024-01-09.csv', does not exist"
pass "a missing source file is named"

# A source's partitions are the files that exist: status counts the ones
# not imported yet as missing.
printf 'x\n' >"$DROPS/2024-01-05.csv"
expect_exit 0 db status --json src/packages
python3 - "$T/out" <<'PY' || fail "status of the source: $(cat "$T/out")"
import json, sys
d = {x["dataset"]: x for x in json.load(open(sys.argv[1]))["datasets"]}["src/packages"]
assert (d["total"], d["live"], d["missing"]) == (2, 1, 1), d
PY
expect_exit 0 db status --partitions src/packages
expect_out "missing  src/packages/date=2024-01-05"
pass "status counts a source's files that are not imported yet as missing"

# Through the mount: a source's dataset lists its files, imported or not.
if [ -e /dev/fuse ]; then
	M=$T/mnt
	mkdir -p "$M"
	mount_helpers
	mount_db
	ls "$M/src/packages" >"$T/ls" || fail "ls of the source's dataset"
	grep -qx "date=2024-01-01" "$T/ls" && grep -qx "date=2024-01-05" "$T/ls" ||
		fail "the source's files are not listed: $(cat "$T/ls")"
	[ "$(getfattr --only-values -n user.databuild.status "$M/src/packages/date=2024-01-05")" = missing ] ||
		fail "status of a file not imported yet"
	[ "$(cat "$M/src/packages/date=2024-01-05")" = x ] || fail "reading the file through the mount"
	[ "$(getfattr --only-values -n user.databuild.status "$M/src/packages/date=2024-01-05")" = live ] ||
		fail "status after the read"
	unmount_db
	pass "the mount lists a source's files, imported or not"
fi
