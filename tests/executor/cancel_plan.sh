#!/usr/bin/env bash
# SIGINT while planning: a build whose first configure wave has finished is
# cancelled before the next wave starts. Exit 130, the next wave's
# configure never runs, no job runs, the build is recorded as cancelled.
# A configure that hangs is killed at once by SIGINT, and one that outlives
# its job's configure_timeout_s fails naming the job and the refs.
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
# a configure that never answers (until the test directory is gone)
if [ "$kind" = hang ] || [ "$kind" = slow ]; then
	echo $$ >"$STATE/hang.pid"
	while [ -d "$STATE" ]; do sleep 0.05; done
fi
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
slow=$(job slow | sed 's/}$/,"configure_timeout_s":1}/')
printf '{"name":"cancel_plan","jobs":[%s,%s,%s,%s]}\n' "$(job top)" "$(job low)" "$(job hang)" "$slow" \
	>"$G/databuild.json"
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

# SIGINT while a configure hangs: it is killed at once, exit 130 (before,
# the build waited for the configure's timeout)
"$DATABUILD" build hang/forever >"$T/out" 2>"$T/err" &
bpid=$!
poll_until 20 test -s "$STATE/hang.pid"
cpid=$(cat "$STATE/hang.pid")
kill -INT "$bpid"
code=0
wait "$bpid" || code=$?
[ "$code" = 130 ] || { cat "$T/out" "$T/err"; fail "expected exit 130 after SIGINT during a hanging configure, got $code"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
poll_until 10 gone "$cpid"
pass "SIGINT kills a hanging configure: exit 130, the configure is gone"

# the job's own configure_timeout_s (1 s here; the default is 120 s)
rm -f "$STATE/hang.pid"
SECONDS=0
expect_exit 2 db build slow/1
expect_err "job 'slow': configure for 'slow/1' timed out after 1 s"
[ "$SECONDS" -lt 60 ] || fail "configure_timeout_s was not applied (took ${SECONDS}s)"
pass "a job's configure_timeout_s ends its configure, naming the job and the refs"
