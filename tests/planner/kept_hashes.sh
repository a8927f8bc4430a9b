#!/usr/bin/env bash
# Hashes kept between commands (<store>/cache/hashes, core/fingerprint.h):
# a command finds the hash an earlier one took of an unchanged executable
# instead of reading it again, and never trusts a record once the file
# has changed. A missing or unusable cache costs a rehash, nothing else.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G/jobs"
cat >"$G/jobs/j.sh" <<'SH'
#!/bin/sh
# version a
set -eu
if [ "$1" = configure ]; then
	shift
	printf '[{"outputs":["%s"],"args":["%s"]}]\n' "$1" "$1"
	exit 0
fi
mkdir -p "$DATABUILD_OUTPUT_DIR/x"
echo built >"$DATABUILD_OUTPUT_DIR/$2"
SH
chmod +x "$G/jobs/j.sh"
touch -d '1 hour ago' "$G/jobs/j.sh"   # settled: its hash may be kept
cat >"$G/databuild.json" <<'JSON'
{"name": "kept", "jobs": [
 {"label": "x", "outputs": ["x/d={d}"], "configure": ["jobs/j.sh", "configure"],
  "exec": ["jobs/j.sh", "exec"]}]}
JSON
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
K=$DATABUILD_STORE/cache/hashes
plan() {  # REF: the plan's reasons into $T/out
	db plan --format text "$1" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "plan $1"; }
}
record() {  # the record of jobs/j.sh
	local r
	r=$(grep -l '/jobs/j\.sh$' "$K"/* 2>/dev/null) || fail "no record of jobs/j.sh in $K"
	[ "$(printf '%s\n' "$r" | wc -l)" = 1 ] || fail "more than one record of jobs/j.sh: $r"
	echo "$r"
}
kept_hash() { sed -n '1s/^databuild-hash-v1 [0-9]* [0-9]* [0-9]* [0-9]* [0-9]* \([0-9a-f]*\)$/\1/p' "$(record)"; }
file_hash() { sha256sum <"$G/jobs/j.sh" | cut -d' ' -f1; }

expect_exit 0 db build x/d=1
[ "$(kept_hash)" = "$(file_hash)" ] || fail "the record does not hold the script's hash"
[ "$(sed -n 2p "$(record)")" = "$(uname -n)" ] || fail "the record does not name this host"
plan x/d=1
expect_out "0 jobs to run"
pass "a build keeps the executable's hash, with its host and path"

# The next command takes the hash from the record: one that says another
# hash (the fingerprint unchanged) makes the executable look changed.
cp "$(record)" "$T/record.good"
sed -i "1s/$(file_hash)/$(printf '%064d' 0)/" "$(record)"
plan x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
cp "$T/record.good" "$(record)"
plan x/d=1
expect_out "0 jobs to run"
pass "a command takes the hash from the record while the file is unchanged"

# The same size, other bytes, an old mtime: the fingerprint moved (ctime,
# and mtime to an older time), so the record is not used.
sed -i 's/# version a/# version b/' "$G/jobs/j.sh"
touch -d '2 hours ago' "$G/jobs/j.sh"
plan x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
expect_exit 0 db build x/d=1
[ "$(kept_hash)" = "$(file_hash)" ] || fail "the record was not rewritten for the edited script"
plan x/d=1
expect_out "0 jobs to run"
pass "an edited executable is rehashed and its record rewritten"

# Edited and used at once: whether its hash is kept depends on how long
# after the edit it is taken (tests/core/test_fingerprint.c pins that);
# the answers do not.
sed -i 's/# version b/# version c/' "$G/jobs/j.sh"
plan x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
expect_exit 0 db build x/d=1
plan x/d=1
expect_out "0 jobs to run"
sed -i 's/# version c/# version e/' "$G/jobs/j.sh"
plan x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
sed -i 's/# version e/# version c/' "$G/jobs/j.sh"
plan x/d=1
expect_out "0 jobs to run"
pass "a file edited just now is seen at once, and edited back too"

# No cache, or one that cannot be written: the same answers.
rm -rf "$DATABUILD_STORE/cache"
plan x/d=1
expect_out "0 jobs to run"
echo "not a directory" >"$DATABUILD_STORE/cache"
touch -d '3 hours ago' "$G/jobs/j.sh"
plan x/d=1
expect_out "0 jobs to run"
sed -i 's/# version c/# version d/' "$G/jobs/j.sh"
touch -d '3 hours ago' "$G/jobs/j.sh"
plan x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
[ ! -s "$T/err" ] || { cat "$T/err"; fail "an unusable cache printed something"; }
pass "a cache that is missing or cannot be made changes nothing"
