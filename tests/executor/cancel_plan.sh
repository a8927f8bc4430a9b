#!/usr/bin/env bash
# SIGINT while planning: a build whose first configure wave has finished is
# cancelled before the next wave starts. Exit 130, the next wave's
# configure never runs, no job runs, the build is recorded as cancelled.
# (A configure that hangs is only stopped by its timeout: the planner can
# stop between configure calls, not inside one.)
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
STATE=$T/state
export STATE
mkdir -p "$G" "$STATE"
cat >"$G/configure.sh" <<'SH'
#!/bin/sh
# configure KIND REF...: one config per ref; top/D reads low/D.
kind=$1
shift
echo "$kind $*" >>"$STATE/configure.log"
# the user presses ^C while the planner waits on this configure
[ "$kind" = top ] && [ -n "${INTERRUPT:-}" ] && kill -INT "$PPID"
printf '['
sep=
for ref in "$@"; do
	d=${ref##*/}
	ins=
	[ "$kind" = top ] && ins="{\"dep_type\":\"materialize\",\"ref\":\"low/$d\"}"
	printf '%s{"outputs":["%s"],"inputs":[%s],"args":["%s","%s"]}' "$sep" "$ref" "$ins" "$kind" "$d"
	sep=,
done
printf ']\n'
SH
cat >"$G/exec.sh" <<'SH'
#!/bin/sh
echo "$1 $2" >>"$STATE/exec.log"
mkdir -p "$DATABUILD_OUTPUT_DIR/$1"
echo "$1 $2" >"$DATABUILD_OUTPUT_DIR/$1/$2"
SH
chmod +x "$G/configure.sh" "$G/exec.sh"
job() { printf '{"label":"%s","outputs":["%s/{d}"],"configure":["./configure.sh","%s"],"exec":["./exec.sh"],"version":"1.0.0"}' "$1" "$1" "$1"; }
printf '{"name":"cancel_plan","jobs":[%s,%s]}\n' "$(job top)" "$(job low)" >"$G/databuild.json"
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store

code=0
INTERRUPT=1 "$DATABUILD" build --events "$T/events.jsonl" top/1 >"$T/out" 2>"$T/err" || code=$?
[ "$code" = 130 ] || { cat "$T/out" "$T/err"; fail "expected exit 130, got $code"; }
grep -qx "top top/1" "$STATE/configure.log" || fail "the first wave did not configure top/1"
! grep -q "^low" "$STATE/configure.log" || fail "the next wave was configured after SIGINT"
[ ! -e "$STATE/exec.log" ] || fail "a job ran after SIGINT"
expect_err "interrupted"
grep -q '"type":"build_finished".*"status":"cancelled"' "$T/events.jsonl" ||
	{ cat "$T/events.jsonl"; fail "the build is not recorded as cancelled"; }
pass "SIGINT between configure waves: exit 130, next wave not configured, nothing ran"

# without the interrupt the same build plans both waves and runs both jobs
: >"$STATE/configure.log"
expect_exit 0 db build top/1
grep -q "^low low/1" "$STATE/configure.log" || fail "low was not configured"
[ "$(cat "$STATE/exec.log" | wc -l)" = 2 ] || fail "expected 2 job runs"
pass "the same build without SIGINT runs both waves"
