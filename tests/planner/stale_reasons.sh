#!/usr/bin/env bash
# Stale reasons say exactly what changed: the executable, a file named in
# the config's args (its content counts, like an executable's), an env
# variable by name, an argument, an input with its old and new hash. A file
# under the job's "key_ignore" does not count.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G/jobs"
cat >"$G/jobs/j.sh" <<'SH'
#!/bin/sh
# configure: x/D reads nothing, args [rules.txt, cache.txt, D], env MODE;
# y/D reads x/D
set -eu
if [ "$1" = configure ]; then
	shift
	mode=$(cat "$STATE/mode")
	printf '['; sep=
	for ref in "$@"; do
		d=${ref##*=}
		case $ref in
		x/*) printf '%s{"outputs":["%s"],"args":["rules.txt","cache.txt","%s"],"env":{"MODE":"%s"}}' "$sep" "$ref" "$d" "$mode" ;;
		y/*) printf '%s{"outputs":["%s"],"inputs":[{"dep_type":"materialize","ref":"x/d=%s"}],"args":["y","%s"]}' "$sep" "$ref" "$d" "$d" ;;
		esac
		sep=,
	done
	printf ']\n'
	exit 0
fi
shift
if [ "$1" = y ]; then
	mkdir -p "$DATABUILD_OUTPUT_DIR/y"
	cat "$DATABUILD_INPUT_DIR/x/d=$2" >"$DATABUILD_OUTPUT_DIR/y/d=$2"
else
	mkdir -p "$DATABUILD_OUTPUT_DIR/x"
	{ cat rules.txt; echo "$MODE"; } >"$DATABUILD_OUTPUT_DIR/x/d=$3"
fi
SH
chmod +x "$G/jobs/j.sh"
cat >"$G/databuild.json" <<'JSON'
{"name": "reasons", "jobs": [
 {"label": "x", "outputs": ["x/d={d}"], "configure": ["jobs/j.sh", "configure"],
  "exec": ["jobs/j.sh", "exec"], "key_ignore": ["cache.txt"]},
 {"label": "y", "outputs": ["y/d={d}"], "configure": ["jobs/j.sh", "configure"],
  "exec": ["jobs/j.sh", "exec"]}]}
JSON
STATE=$T/state
mkdir -p "$STATE"
echo a >"$STATE/mode"
echo "rule one" >"$G/rules.txt"
echo "cached" >"$G/cache.txt"
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store STATE
reason() {  # REF: the plan's reasons, one per line
	db plan --format text "$1" >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "plan $1"; }
}

expect_exit 0 db build y/d=1
reason y/d=1
expect_out "0 jobs to run"

echo "cache changes" >>"$G/cache.txt"
reason y/d=1
expect_out "0 jobs to run"
pass "a file under key_ignore does not count"

echo "rule two" >>"$G/rules.txt"
reason y/d=1
expect_out "x: stale: file 'rules.txt' changed"
expect_out "y: upstream"
expect_exit 0 db build y/d=1
pass "a file named in args counts by content, named when it changes"

echo b >"$STATE/mode"
reason x/d=1
expect_out "x: stale: env 'MODE' changed"
expect_exit 0 db build y/d=1
db show --json x/d=1 >"$T/show" || fail "show"
grep -q '"key_files"' "$T/show" || fail "the manifest does not list the files of its key"
pass "an env variable is named"

# an input rebuilt with other bytes: named with its old and new hash
old=$(sha256sum <"$DATABUILD_STORE/data/x/d=1" | cut -c1-12)
echo "rule three" >>"$G/rules.txt"
expect_exit 0 db build x/d=1
new=$(sha256sum <"$DATABUILD_STORE/data/x/d=1" | cut -c1-12)
reason y/d=1
expect_out "y: stale: input 'x/d=1' changed (sha256 $old… → $new…)"
expect_exit 0 db build y/d=1

printf '# edited\n' >>"$G/jobs/j.sh"
reason x/d=1
expect_out "x: stale: executable 'jobs/j.sh' changed"
pass "an input's hashes and an edited executable are named"
