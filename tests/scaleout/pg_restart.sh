#!/usr/bin/env bash
# The PostgreSQL server restarts while builders are running and publishing:
# they reconnect and finish; every partition is built exactly once and
# published exactly once. Needs the postgresql cell and
# $DATABUILD_TEST_PG_CTL (scripts/test --cluster runs it alone, since a
# restart would hit every test running beside it).
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"

[ "${DATABUILD_TEST_CATALOG:-}" = postgresql ] && [ -n "${DATABUILD_TEST_PG_CTL:-}" ] ||
	skip "needs the postgresql cell and DATABUILD_TEST_PG_CTL (scripts/test --cluster)"

tok=r$$x$RANDOM
n=40
refs=()
for ((i = 0; i < n; i++)); do refs+=("leaf/$tok-$i"); done
"$DATABUILD" build -j 2 "${refs[@]:0:30}" >"$T/a.out" 2>&1 &
a=$!
"$DATABUILD" build -j 2 "${refs[@]:10:30}" >"$T/b.out" 2>&1 &
b=$!
at_exit "kill $a $b 2>/dev/null"
some_ran() {
	kill -0 "$a" 2>/dev/null || { cat "$T/a.out"; fail "builder A ended before the restart"; }
	[ "$(wc -l <"$RUNLOG")" -ge 6 ]
}
poll_until 60 some_ran
eval "$DATABUILD_TEST_PG_CTL" >"$T/restart.out" 2>&1 || { cat "$T/restart.out"; fail "restart failed"; }
ran=$(wc -l <"$RUNLOG")
[ "$ran" -lt "$n" ] || echo "note: every job ran before the restart finished"
wait "$a" || { cat "$T/a.out"; fail "builder A failed across the server restart"; }
wait "$b" || { cat "$T/b.out"; fail "builder B failed across the server restart"; }
no_duplicates || fail "a job ran twice across the restart"
for ((i = 0; i < n; i++)); do
	[ "$(runs leaf "$tok-$i")" = 1 ] || fail "leaf/$tok-$i ran $(runs leaf "$tok-$i") times"
	grep -qx "leaf $tok-$i" "$(data "leaf/$tok-$i")" || fail "leaf/$tok-$i is not published"
done
db events --json >"$T/events" || fail "events failed"
pub=$(grep -c '"type":"partition_published"' "$T/events" || true)
[ "$pub" = "$n" ] || fail "expected $n partition_published events, got $pub"
pass "server restart after $ran of $n runs: every partition built and published once"
