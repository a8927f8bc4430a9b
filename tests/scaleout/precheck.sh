#!/usr/bin/env bash
# A builder looks its ready nodes' outputs up before it takes their
# leases, many at once where the catalog answers them in one round trip
# (PostgreSQL): a partition another builder published since the plan is
# up to date without its lease. Shown by holding that lease from outside
# (the PostgreSQL advisory lock databuild uses): the builder still
# finishes. On SQLite the lease comes first, as before: the builder waits
# for it (here an flock on its lock file) and then finds the partition
# fresh.
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"

for i in 0 1 2 3 4; do expect_exit 0 db build "leaf/gx-$i"; done
# B: hold/p0 runs first (-j 1) while group/gx waits in the queue, missing
db build -j 1 hold/p0 group/gx >"$T/b.out" 2>&1 &
bpid=$!
t0=$(date +%s%N)
poll_until 30 test -e "$STATE/hold-p0.pid"
# A builds group/gx meanwhile; then someone holds its lease
expect_exit 0 db build group/gx
[ "$(runs group gx)" = 1 ] || fail "group/gx did not run once for builder A"
hex=$(printf '%s' group/gx | sha256sum | cut -c1-64)
mkfifo "$T/holder.in"
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = postgresql ]; then
	key=$(python3 -c 'import sys; v = int(sys.argv[1][:16], 16); print(v - (1 << 64) if v >= 1 << 63 else v)' "$hex")
	psql "$DATABUILD_CATALOG" -X -q -A -t -f "$T/holder.in" >"$T/holder.out" 2>&1 &
	exec 9>"$T/holder.in"
	echo "SELECT pg_advisory_lock($key); SELECT 'locked';" >&9
else
	lock=$DATABUILD_STORE/locks/${hex:0:2}/$hex.lock
	mkdir -p "${lock%/*}"
	flock "$lock" sh -c 'echo locked; read -r _' <"$T/holder.in" >"$T/holder.out" 2>&1 &
	exec 9>"$T/holder.in"
fi
holder=$!
poll_until 30 grep -qx locked "$T/holder.out"
# B looks a node up again once a look-up is 250 ms old
aged() { [ $(($(date +%s%N) - t0)) -gt 400000000 ]; }
poll_until 5 aged
touch "$STATE/go-p0"
b_done() { ! kill -0 "$bpid" 2>/dev/null; }
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = postgresql ]; then
	poll_until 30 b_done
	kill -0 "$holder" 2>/dev/null || fail "the lease holder ended early"
	exec 9>&-
	wait "$bpid" || { cat "$T/b.out"; fail "builder B failed"; }
	pass "a partition built by another builder since the plan is up to date without its lease"
else
	exec 9>&-
	wait "$bpid" || { cat "$T/b.out"; fail "builder B failed"; }
	pass "on SQLite the builder takes the lease first, then finds group/gx fresh"
fi
wait "$holder"
[ "$(runs group gx)" = 1 ] || { cat "$RUNLOG"; fail "group/gx ran $(runs group gx) times, want once (by A)"; }
[ "$(runs hold p0)" = 1 ] || fail "hold/p0 ran $(runs hold p0) times"
grep -qi "up.to.date" "$T/b.out" || { cat "$T/b.out"; fail "B's summary does not count group/gx up to date"; }
# the up-to-date event is kept and appended with others, but before B ends
[ "$(db events | grep '"type":"job_up_to_date"' | grep -c '"ref":"group/gx"')" = 1 ] ||
	{ db events >&2; fail "no single job_up_to_date event for group/gx after B"; }
