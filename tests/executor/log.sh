#!/usr/bin/env bash
# databuild log REF|RUN: a run's log, by run id or through its partition
# (the run building it, that failed on it, or that published it); -f
# follows a running one until it ends.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

expect_exit 1 db build fail/x
expect_exit 0 db log fail/x
expect_out "step 1 went fine"
expect_out "boom: the x input is corrupt"
run=$(db show --json fail/x | sed -n 's/.*"run_id":"\([0-9]*\)".*/\1/p' | head -n1)
[ -n "$run" ] || fail "no run id for fail/x"
expect_exit 0 db log "$run"
expect_out "boom: the x input is corrupt"
pass "the log of a failed partition, by ref and by run id"

db build block/y >/dev/null 2>&1 &
builder=$!
poll_until 30 test -e "$STATE/block-y.started"
building() { db show block/y 2>/dev/null | grep -q building; }
poll_until 30 building
"$DATABUILD" log -f block/y >"$T/follow" 2>"$T/follow.err" &
follower=$!
at_exit "kill $follower $builder 2>/dev/null"
poll_until 30 grep -q "block y waits for its go-file" "$T/follow"
kill -0 "$follower" 2>/dev/null || fail "log -f ended while the run goes on"
: >"$STATE/block-y.go"
wait "$builder" || fail "the build of block/y failed"
wait "$follower" || fail "log -f exited $?: $(cat "$T/follow.err")"
grep -q "block y goes on" "$T/follow" || fail "log -f missed the end: $(cat "$T/follow")"
pass "log -f follows a running run until it ends"

expect_exit 1 db log raw/never
expect_err "no run has built 'raw/never'"
expect_exit 1 db log 99999
expect_err "no run '99999'"
expect_exit 2 db log 'a/../b'
pass "log errors"
