#!/usr/bin/env bash
# databuild du: current, history and shared per dataset add up to the
# objects on disk, on a small store where two partitions share an object.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G/jobs" "$G/values"
# {dataset}/{k}: the bytes of $G/values/<k>
cat >"$G/jobs/val.sh" <<EOF
#!/bin/sh
set -eu
if [ "\$1" = configure ]; then
	shift
	printf '['
	sep=
	for ref in "\$@"; do
		printf '%s{"outputs":["%s"],"inputs":[],"args":["%s","$G/values/%s"]}' "\$sep" "\$ref" "\$ref" "\${ref##*/}"
		sep=,
	done
	printf ']\n'
	exit 0
fi
cat >/dev/null
mkdir -p "\$(dirname "\$DATABUILD_OUTPUT_DIR/\$2")"
cat "\$3" >"\$DATABUILD_OUTPUT_DIR/\$2"
EOF
chmod +x "$G/jobs/val.sh"
cat >"$G/databuild.json" <<EOF
{"name":"du_fixture","jobs":[
 {"label":"val","outputs":["val/{k}"],"configure":["jobs/val.sh","configure"],
  "exec":["jobs/val.sh","exec"]},
 {"label":"other","outputs":["other/{k}"],"configure":["jobs/val.sh","configure"],
  "exec":["jobs/val.sh","exec"]}]}
EOF
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store
S=$DATABUILD_STORE

# val/a: "one" then "two" (history: one); val/b: "two" (shared with val/a);
# other/c: a bigger file of its own (current)
echo one >"$G/values/a"
expect_exit 0 db build val/a
echo two >"$G/values/a"
expect_exit 0 db build val/a
echo two >"$G/values/b"
expect_exit 0 db build val/b
head -c 20000 /dev/zero | tr '\0' x >"$G/values/c"
expect_exit 0 db build other/c

disk() { echo $(($(stat -c %b "$1") * 512)); }
obj() { local h; h=$(sha256sum <"$1" | cut -c1-64); echo "$S/objects/${h:0:2}/${h:2}"; }
one=$(disk "$(obj <(echo one))")
two=$(disk "$(obj "$G/values/b")")
c=$(disk "$(obj "$G/values/c")")
[ "$(stat -c %h "$(obj "$G/values/b")")" -ge 3 ] || fail "val/a and val/b do not share one inode"
all=0
while read -r f; do all=$((all + $(disk "$f"))); done < <(find "$S/objects" -type f)
logs=0
while read -r f; do logs=$((logs + $(disk "$f"))); done < <(find "$S/logs" -type f -name '*.log')

expect_exit 0 db du --json
python3 - "$T/out" "$one" "$two" "$c" "$all" "$logs" <<'EOF' || fail "du --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
one, two, c, allb, logs = map(int, sys.argv[2:])
rows = {r["dataset"]: r for r in d["datasets"]}
assert sorted(rows) == ["other", "val"], rows
assert rows["val"] == {"dataset": "val", "current": 0, "history": one, "shared": two}, rows
assert rows["other"] == {"dataset": "other", "current": c, "history": 0, "shared": 0}, rows
t = d["total"]
assert t == {"current": c, "history": one, "shared": two}, t
assert d["unreferenced"] == {"bytes": 0, "count": 0}, d
assert t["current"] + t["history"] + t["shared"] + d["unreferenced"]["bytes"] == allb, (t, allb)
assert d["logs"]["bytes"] == logs and d["logs"]["count"] == 4, d["logs"]
assert d["staging"]["bytes"] >= 0
EOF
pass "du --json: current, history and shared add up to the objects on disk"

expect_exit 0 db du
expect_out "CURRENT"
expect_out "DATASET"
[ "$(awk '$4 == "val" {print $1, $2, $3}' "$T/out")" = "0 $one $two" ] || fail "du table val: $(cat "$T/out")"
[ "$(awk '$4 == "other" {print $1, $2, $3}' "$T/out")" = "$c 0 0" ] || fail "du table other: $(cat "$T/out")"
[ "$(awk '$1 == "logs" {print $2}' "$T/out")" = "$logs" ] || fail "du table logs: $(cat "$T/out")"
pass "du prints a table"

# a prefix: only its datasets; a shared object is still shared
expect_exit 0 db du val/ --json
python3 - "$T/out" "$one" "$two" <<'EOF' || fail "du val/ --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
one, two = map(int, sys.argv[2:])
assert [r["dataset"] for r in d["datasets"]] == ["val"], d
assert d["total"] == {"current": 0, "history": one, "shared": two}, d
EOF
expect_exit 0 db du val/b --json
python3 - "$T/out" "$two" <<'EOF' || fail "du val/b --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["datasets"] == [{"dataset": "val", "current": 0, "history": 0, "shared": int(sys.argv[2])}], d
EOF
pass "du PREFIX"

# after a rebuild of val/b with other bytes the object is val/a's alone: current
echo three >"$G/values/b"
expect_exit 0 db build val/b
three=$(disk "$(obj "$G/values/b")")
expect_exit 0 db du val/ --json
python3 - "$T/out" "$one" "$two" "$three" <<'EOF' || fail "du after rebuild: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
one, two, three = map(int, sys.argv[2:])
# two: val/a's current and val/b's history: still two partitions, shared
assert d["total"] == {"current": three, "history": one, "shared": two}, d
EOF
pass "du after a rebuild"

expect_exit 2 db du a b
expect_err "du: too many arguments"
expect_exit 0 db du --help
expect_out "usage: databuild du [PREFIX] [--json]"
pass "du usage"
