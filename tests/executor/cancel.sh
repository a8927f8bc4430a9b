#!/usr/bin/env bash
# SIGINT cancels a build: exit 130 quickly, no job process left, nothing published.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

tok=c$$x$RANDOM
"$DATABUILD" build -j 4 slow/${tok}a slow/${tok}b one/$tok >"$T/b.out" 2>"$T/b.err" &
pid=$!
at_exit "kill -INT $pid 2>/dev/null"
poll_until 30 test -s "$STATE/slow-${tok}a.pid"
poll_until 30 test -s "$STATE/slow-${tok}b.pid"
start=$(date +%s%N)
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 130 ] || { cat "$T/b.out" "$T/b.err"; fail "expected exit 130, got $rc"; }
# the bound is generous; the design target is well under a second
[ "$elapsed_ms" -lt 5000 ] || fail "cancellation took ${elapsed_ms} ms"
for s in a b; do
	pgid=$(cat "$STATE/slow-$tok$s.pid")
	! group_alive "$pgid" || { ps -eo pid,pgid,stat,cmd; fail "job processes of slow/$tok$s survive"; }
done
! pgrep -f "job.sh exec slow $tok" >/dev/null || fail "a job script survives"
[ ! -e "$(data slow/${tok}a)" ] && [ ! -e "$(data slow/${tok}b)" ] || fail "a cancelled run published"
staging_empty || { ls -R "$DATABUILD_STORE/staging"; fail "staging not cleaned after cancel"; }
grep -q "interrupted" "$T/b.err" || { cat "$T/b.err"; fail "no interrupted message"; }

# the leases were released and the runs recorded as cancelled: a new build runs again
# (and is cancelled again, by SIGTERM this time)
"$DATABUILD" build slow/${tok}a >"$T/c.out" 2>&1 &
pid=$!
at_exit "kill -INT $pid 2>/dev/null"
ran_twice() { [ "$(runs slow "${tok}a")" = 2 ]; }
poll_until 30 ran_twice
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 130 ] || { cat "$T/c.out"; fail "SIGTERM: expected exit 130, got $rc"; }
staging_empty || fail "staging not cleaned after SIGTERM"
pass "cancel (SIGINT to exit: ${elapsed_ms} ms)"
