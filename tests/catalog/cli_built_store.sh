#!/usr/bin/env bash
# The catalog commands on a store filled by `databuild build`: two jobs,
# down/d=X reads up/d=X.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G"
cat >"$G/job.sh" <<'JOB'
#!/usr/bin/env bash
set -eu
mode=$1; shift
case $mode in
configure)
  sep=; printf '['
  for r in "$@"; do
    case $r in
    down/*) printf '%s{"outputs":["%s"],"inputs":[{"dep_type":"materialize","ref":"up/%s"}],"args":["%s"],"env":{"MODE":"down"}}' \
      "$sep" "$r" "${r#down/}" "$r" ;;
    *) printf '%s{"outputs":["%s"],"args":["%s"]}' "$sep" "$r" "$r" ;;
    esac
    sep=,
  done
  printf ']\n' ;;
exec)
  r=$1
  mkdir -p "$DATABUILD_OUTPUT_DIR/$(dirname "$r")"
  echo "built $r in run $DATABUILD_RUN_ID" >"$DATABUILD_OUTPUT_DIR/$r"
  echo "log line of $r" ;;
esac
JOB
chmod +x "$G/job.sh"
cat >"$G/databuild.json" <<'GRAPH'
{"name": "catalog_cli",
 "jobs": [
  {"label": "up", "outputs": ["up/d={d}"], "configure": ["./job.sh", "configure"],
   "exec": ["./job.sh", "exec"], "version": "1.0.0"},
  {"label": "down", "outputs": ["down/d={d}"], "configure": ["./job.sh", "configure"],
   "exec": ["./job.sh", "exec"], "version": "2.1.0"}]}
GRAPH
S=$G/.databuild
dbg() { "$DATABUILD" --graph "$G/databuild.json" "$@"; }

expect_exit 0 dbg build down/d=1
expect_exit 0 dbg ls
[ "$(awk '{print $1, $4}' "$T/out")" = "$(printf 'live down/d=1\nlive up/d=1')" ] ||
  fail "ls after build: $(cat "$T/out")"
pass "ls after databuild build"

expect_exit 0 dbg path up/d=1
up=$(cat "$T/out")
[ "$up" = "$S/data/up/d=1" ] || fail "path: $up"
grep -q '^built up/d=1 in run ' "$up" || fail "path: unexpected data: $(cat "$up")"
up_hash=$(sha256sum "$up" | cut -d' ' -f1)
pass "path after databuild build"

expect_exit 0 dbg show down/d=1
expect_out "  status      live"
expect_out "  job         down 2.1.0"
expect_out "  args        down/d=1"
expect_out "  env         MODE=down"
expect_out "  inputs      up/d=1 (materialize) sha256 $up_hash, run "
log=$(sed -n 's/^  log         //p' "$T/out")
[ -n "$log" ] && grep -q "log line of down/d=1" "$log" || fail "show: log '$log' lacks the job's output"
expect_exit 0 dbg show --json up/d=1
expect_out '"manifest":{"run_id":"'
expect_out "\"sha256\":\"$up_hash\""
pass "show after databuild build"

expect_exit 0 dbg events
expect_out '"type":"build_requested"'
expect_out '"type":"partition_published","ref":"down/d=1"'
expect_out '"type":"build_finished"'
pass "events after databuild build"

expect_exit 0 dbg taint --downstream up/d=1
printf 'tainted  up/d=1\nstale    down/d=1\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "taint after build"
expect_exit 1 dbg path down/d=1
expect_err "'down/d=1' is not live (status: stale)"
# the next request rebuilds both
expect_exit 0 dbg build down/d=1
expect_exit 0 dbg ls --status live
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "rebuild after taint: $(cat "$T/out")"
pass "taint, then rebuild"
