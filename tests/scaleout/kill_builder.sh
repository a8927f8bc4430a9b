#!/usr/bin/env bash
# A builder killed with SIGKILL while it runs a job releases its lease: a
# builder waiting on that partition takes over, runs the job and publishes;
# the killed run's staging never becomes data.
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"

tok=k$$x$RANDOM
# builder A runs hold/$tok and blocks in the job
setsid "$DATABUILD" build "hold/$tok" >"$T/a.out" 2>&1 &
a=$!
at_exit "kill -9 -$a 2>/dev/null"
poll_until 60 test -s "$STATE/hold-$tok.pid"
# builder B wants the same partition: it waits on A's lease, runs nothing
"$DATABUILD" build "hold/$tok" >"$T/b.out" 2>&1 &
b=$!
at_exit "kill -9 $b 2>/dev/null"
b_waits() { grep -q "^waiting hold: another build is producing hold/$tok" "$T/b.out"; }
poll_until 60 b_waits
[ "$(runs hold "$tok")" = 1 ] || fail "B ran the job while A held the lease"
# kill A and its job (the job may run elsewhere: the lease is what must go)
first=$(cat "$STATE/hold-$tok.pid")
kill -9 -- "-$a" 2>/dev/null || kill -9 "$a"
{ wait "$a"; } 2>/dev/null || true
kill -9 "$first" 2>/dev/null || true
[ ! -e "$(data "hold/$tok")" ] || fail "the killed run published"
# B takes over: its own run blocks too until released
second_run() { [ "$(runs hold "$tok")" = 2 ]; }
poll_until 60 second_run
: >"$STATE/go-$tok"
rc=0
wait "$b" || rc=$?
[ "$rc" = 0 ] || { cat "$T/b.out"; fail "builder B failed after A was killed ($rc)"; }
grep -qx "hold $tok" "$(data "hold/$tok")" || fail "B did not publish hold/$tok"
pass "a killed builder's lease went to the waiting builder"
