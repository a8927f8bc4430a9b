#!/usr/bin/env bash
# Versions, rollback, the run cache and rm (docs/design/history.md): a job
# whose output is the content of a file named in its args, so that editing
# that file moves the build key and putting it back returns to an earlier
# one.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
RUNLOG=$T/runs.log
mkdir -p "$G/jobs"
: >"$RUNLOG"
echo one >"$G/value"
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
echo "\$2" >>"$RUNLOG"
mkdir -p "\$(dirname "\$DATABUILD_OUTPUT_DIR/\$2")"
cat "\$3" >"\$DATABUILD_OUTPUT_DIR/\$2"
EOF
chmod +x "$G/jobs/val.sh"
cat >"$G/databuild.json" <<EOF
{"name":"history_fixture","jobs":[
 {"label":"val","outputs":["val/{k}"],"configure":["jobs/val.sh","configure"],
  "exec":["jobs/val.sh","exec"],"version":"1.0.0"}]}
EOF
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
runs() { grep -c "^$1\$" "$RUNLOG" || true; }
versions() { db history "$1" --json | wc -l; }

expect_exit 0 db build val/a
[ "$(runs val/a)" = 1 ] || fail "val/a ran $(runs val/a) times"
echo two >"$G/value"
expect_exit 0 db build val/a
[ "$(runs val/a)" = 2 ] || fail "val/a did not run again after its file changed"
[ "$(cat "$DATABUILD_STORE/data/val/a")" = two ] || fail "val/a does not hold the second bytes"
expect_exit 0 db history val/a
[ "$(grep -c 'Z ' "$T/out")" = 2 ] || fail "history does not list two versions: $(cat "$T/out")"
expect_out "VERSION"
[ "$(sed -n 3p "$T/out" | cut -c29)" = '*' ] || fail "the second version is not marked current: $(cat "$T/out")"
expect_exit 0 db history --json val/a
python3 - "$T/out" <<'EOF' || fail "history --json"
import json, sys
vs = [json.loads(l) for l in open(sys.argv[1])]
assert len(vs) == 2, vs
assert [v["current"] for v in vs] == [False, True], vs
assert vs[0]["name"] < vs[1]["name"], vs
assert all(v["name"].endswith("Z") and len(v["name"]) == 27 for v in vs), vs
assert vs[0]["sha256"] != vs[1]["sha256"], vs
assert vs[0]["size"] == 4 and vs[1]["size"] == 4, vs
EOF
first=$(db history --json val/a | head -n1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')
pass "two publishes are two versions, oldest first, the second current"

expect_exit 0 db rollback val/a
expect_out "rolled back val/a to $first"
[ "$(cat "$DATABUILD_STORE/data/val/a")" = one ] || fail "rollback did not bring back the first bytes"
expect_exit 0 db --store "$DATABUILD_STORE" events --json --last 5
expect_out '"type":"partition_rolled_back","ref":"val/a"'
[ "$(versions val/a)" = 3 ] || fail "a rollback is not a version of its own"
expect_exit 0 db show val/a
expect_out "live"
expect_exit 0 db rollback val/a
[ "$(cat "$DATABUILD_STORE/data/val/a")" = two ] || fail "a second rollback does not undo the first"
expect_exit 0 db rollback val/a "$first"
[ "$(cat "$DATABUILD_STORE/data/val/a")" = one ] || fail "rollback to a named version"
pass "rollback restores the first version, an event and a version each"

# The run cache: the file as it was for the second version: restored, no run.
expect_exit 0 db build val/a
[ "$(runs val/a)" = 2 ] || fail "the run cache did not restore val/a (it ran)"
expect_out "restored"
[ "$(cat "$DATABUILD_STORE/data/val/a")" = two ] || fail "the restore brought the wrong bytes"
expect_exit 0 db events --json --last 10
expect_out '"type":"partition_restored","ref":"val/a"'
expect_out '"type":"job_restored"'
expect_exit 0 db build --no-cache --force val/a
[ "$(runs val/a)" = 3 ] || fail "--no-cache --force did not run the job"
echo one >"$G/value"
expect_exit 0 db build --no-cache val/a
[ "$(runs val/a)" = 4 ] || fail "--no-cache restored anyway"
echo two >"$G/value"
expect_exit 0 db cat val/a
[ "$(cat "$T/out")" = two ] || fail "cat after a restore: $(cat "$T/out")"
[ "$(runs val/a)" = 4 ] || fail "cat did not restore from the run cache"
pass "a key that returns to an earlier state is restored from the run cache, no run"

# An object changed in place is never restored: the job runs instead.
echo one >"$G/value"
obj=$(db history --json val/a | python3 -c '
import json, sys
for l in sys.stdin:
    v = json.loads(l)
    if v["sha256"] != "" and not v["current"]:
        print(v["sha256"]); break')
[ -n "$obj" ] || fail "no old version to damage"
chmod u+w "$DATABUILD_STORE/objects/${obj:0:2}/${obj:2}"
printf 'ONE\n' >"$DATABUILD_STORE/objects/${obj:0:2}/${obj:2}"
expect_exit 0 db build val/a
[ "$(runs val/a)" = 5 ] || fail "a changed object was restored instead of running the job"
[ "$(cat "$DATABUILD_STORE/data/val/a")" = one ] || fail "wrong bytes after a changed object"
pass "a changed object is not restored"

# rm: a junk partition goes; its versions stay; a rebuild restores it.
expect_exit 0 db build val/zzz
expect_exit 0 db rm --dry-run 'val/z*'
expect_out "would remove val/zzz"
[ -e "$DATABUILD_STORE/data/val/zzz" ] || fail "--dry-run removed the data"
expect_exit 0 db rm 'val/z*'
expect_out "removed val/zzz"
[ ! -e "$DATABUILD_STORE/data/val/zzz" ] || fail "rm left the data file"
expect_exit 1 db show val/zzz
expect_err "status: missing"
expect_exit 0 db history val/zzz
[ "$(grep -c 'Z ' "$T/out")" = 1 ] || fail "rm dropped the versions: $(cat "$T/out")"
expect_exit 0 db events --json --last 3
expect_out '"type":"partition_removed","ref":"val/zzz"'
expect_exit 2 db rm val/nope
expect_err "no partition 'val/nope' in the catalog"
expect_exit 0 db rm 'val/nothing*'
[ ! -s "$T/out" ] || fail "a glob that matches nothing removed something"
pass "rm of a junk partition; its versions stay"

# A partition being built is refused.
cat >"$G/jobs/block.sh" <<EOF
#!/bin/sh
if [ "\$1" = configure ]; then shift; printf '[{"outputs":["%s"],"inputs":[],"args":["%s"]}]\n' "\$1" "\$1"; exit 0; fi
cat >/dev/null
: >"$T/block.started"
while [ ! -e "$T/block.go" ]; do sleep 0.05; done
mkdir -p "\$DATABUILD_OUTPUT_DIR/blk"; echo b >"\$DATABUILD_OUTPUT_DIR/\$2"
EOF
chmod +x "$G/jobs/block.sh"
python3 - "$G/databuild.json" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))
g["jobs"].append({"label": "blk", "outputs": ["blk/{k}"], "configure": ["jobs/block.sh", "configure"],
                  "exec": ["jobs/block.sh", "exec"]})
json.dump(g, open(sys.argv[1], "w"))
EOF
: >"$T/block.go"
expect_exit 0 db build blk/x
rm -f "$T/block.go" "$T/block.started"
db build --force blk/x >/dev/null 2>&1 &
builder=$!
at_exit "touch '$T/block.go'; kill $builder 2>/dev/null"
poll_until 30 test -e "$T/block.started"
expect_exit 2 db rm blk/x
expect_err "'blk/x' is being built"
expect_exit 2 db rollback blk/x
: >"$T/block.go"
wait "$builder" || fail "the build of blk/x failed"
[ -e "$DATABUILD_STORE/data/blk/x" ] || fail "the refused rm removed blk/x"
pass "rm and rollback refuse a partition being built"

expect_exit 2 db rollback val/a 2000-01-01T00:00:00.000000Z
expect_err "'val/a' has no version '2000-01-01T00:00:00.000000Z'"
expect_exit 1 db history val/never
expect_err "'val/never' has no versions"
expect_exit 2 db history
expect_exit 2 db rm
expect_err "rm: missing REF"
expect_exit 0 db history --help
expect_out "usage: databuild history REF"
pass "history, rollback and rm errors"
