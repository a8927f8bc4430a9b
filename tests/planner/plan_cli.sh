#!/usr/bin/env bash
# `databuild plan`: formats, options, exit codes and messages, pruning and
# staleness after a real `databuild build`.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/planner/common.sh"

G=$T/graph
mkgraph "$G" "a=a/{d} b=b/{d} c=c/{d} d=d/{d}@1.2.0 s=s/{d} q=q/{d} x=cyc/a/date={d} y=cyc/b/date={d}"
entry "$G" "a/1" ""
entry "$G" "b/1" "m:a/1"
entry "$G" "c/1" "m:a/1"
entry "$G" "d/1" "m:b/1;m:c/1"
entry "$G" "s/1" ""
entry "$G" "q/1" "q:s/1;m:a/1"
entry "$G" "cyc/a/date=1" "m:cyc/b/date=1"
entry "$G" "cyc/b/date=1" "m:cyc/a/date=1"
cd "$G"

# json when stdout is not a terminal; planning never creates the store
expect_exit 0 db plan d/1
expect_out '"outputs":["d/1"]'
expect_out '"job":"a"'
expect_out '"edges":[{"from":0,"to":1},{"from":0,"to":2},{"from":1,"to":3},{"from":2,"to":3}]'
[ ! -e "$G/.databuild" ] || fail "plan created the store"
[ "$(grep -c '^a a/1$' "$G/calls.log")" -eq 1 ] || fail "configure of a not called exactly once"
pass "json by default, diamond planned, no store created"

expect_exit 0 db plan --format text d/1
expect_out "4 jobs to run for 1 requested partition (0 up to date, 0 live inputs pruned)"
expect_out "  [3] d: missing (after 1, 2)"
expect_exit 0 db plan --format=mermaid d/1
expect_out 'flowchart LR'
expect_out '  n1 --> n3'
expect_exit 0 db plan --format dot d/1
expect_out '  n0 -> n1;'
pass "text, mermaid, dot"

if command -v script >/dev/null; then
  script -qec "$(printf '%q ' "$DATABUILD" plan d/1)" /dev/null >"$T/tty" </dev/null ||
    fail "plan on a terminal failed: $(cat "$T/tty")"
  grep -q "4 jobs to run" "$T/tty" || fail "no text summary on a terminal: $(cat "$T/tty")"
  pass "text by default on a terminal"
fi

expect_exit 0 db -v plan d/1 --freshness presence
expect_err "planned 4 jobs in"
expect_err "configure calls"
pass "-v prints statistics"

# errors: exit 2 with the precise message
expect_exit 2 db plan cyc/a/date=1
expect_err "dependency cycle: cyc/a/date=1 → cyc/b/date=1 → cyc/a/date=1"
expect_exit 2 db plan nojob/1
expect_err "no job produces 'nojob/1'"
expect_exit 2 db plan 'a//1'
expect_err "invalid ref 'a//1'"
expect_exit 2 db plan q/1
expect_err "job 'q' needs 's/1' (query), which is not live"
expect_exit 2 db plan --format yaml a/1
expect_err "unknown format 'yaml'"
expect_exit 2 db plan --freshness mtime a/1
expect_err "unknown freshness 'mtime'"
expect_exit 2 db plan --format bash a/1
expect_err "format 'bash' needs --data-dir DIR"
expect_exit 2 db plan --data-dir "$T/x" a/1
expect_err "option '--data-dir' is for formats bash and ninja"
expect_exit 2 db plan
expect_err "no REF given"
expect_exit 2 db plan --format
expect_err "option '--format' needs a value"
expect_exit 0 db plan --help
expect_out "usage: databuild plan"
pass "errors"

# after a real build: pruned, then stale, then early cutoff
expect_exit 0 db build d/1 s/1
expect_exit 0 db plan --format text d/1
expect_out "0 jobs to run for 1 requested partition (1 up to date, 0 live inputs pruned)"
: >"$G/calls.log"
expect_exit 0 db plan --format text --freshness presence d/1
expect_out "0 jobs to run"
[ ! -s "$G/calls.log" ] || fail "presence mode configured live partitions"
expect_exit 0 db plan --format text q/1
expect_out "  [0] q: missing"
expect_out "  s/1 (s)"
expect_out "  a/1 (a)"
pass "pruning after a build (keys and presence), query input live"

printf '# changed\n' >>"$G/jobs/b"
expect_exit 0 db plan --format text d/1
expect_out "  [0] b: stale: executable 'jobs/b' changed"
expect_out "  [1] d: upstream (after 0)"
expect_exit 0 db plan --format text --freshness presence d/1
expect_out "0 jobs to run"
pass "staleness after changing an exec script"

# the executor cuts d off: b's bytes do not depend on its exec script
expect_exit 0 db build d/1
expect_exit 0 db plan --format text d/1
expect_out "0 jobs to run"
pass "early cutoff after rebuilding b"

sed -i 's/"version": "1.2.0"/"version": "1.3.0"/' "$G/databuild.json"
expect_exit 0 db plan --format text d/1
expect_out "0 jobs to run"
sed -i 's/"version": "1.3.0"/"version": "2.0.0"/' "$G/databuild.json"
expect_exit 0 db plan --format text d/1
expect_out "  [0] d: stale: job 'd' major version changed (1.2.0 → 2.0.0)"
pass "minor bump keeps, major bump invalidates"

expect_exit 0 db plan --format text --force a/1
expect_out "  [0] a: forced"
pass "--force"
