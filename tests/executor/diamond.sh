#!/usr/bin/env bash
# A diamond (raw -> left, right -> top) runs each job once; a rebuild runs nothing.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

expect_exit 0 db build -j 2 --events "$T/ev1.jsonl" top/d1
[ "$(runs raw d1)" = 1 ] && [ "$(runs left d1)" = 1 ] && [ "$(runs right d1)" = 1 ] &&
	[ "$(runs top d1)" = 1 ] || { cat "$RUNLOG"; fail "each job of the diamond must run once"; }
expect_out "built top [run "
[ "$(grep -c '"type":"job_started"' "$T/ev1.jsonl")" = 4 ] || fail "expected 4 job_started events"
[ "$(grep -c '"type":"partition_published"' "$T/ev1.jsonl")" = 4 ] || fail "expected 4 publishes"
grep -q '"type":"build_finished"' "$T/ev1.jsonl" || fail "no build_finished event"
[ "$(grep -c '"type":"build_requested"' "$T/ev1.jsonl")" = 1 ] || fail "one build_requested"
[ "$(grep '"type":"job_started"' "$T/ev1.jsonl" | grep -c "\"log\":\"$DATABUILD_STORE/logs/[0-9]*\.log\"")" = 4 ] ||
	{ grep '"type":"job_started"' "$T/ev1.jsonl"; fail "job_started events lack their log path"; }
db events >"$T/all.jsonl" || fail "databuild events failed"
[ "$(grep -c '"type":"job_started"' "$T/all.jsonl")" = 4 ] || fail "databuild events: expected 4 job_started"
printf 'left of\nraw d1\nright of\nraw d1\n' | cmp - "$(data top/d1)" || fail "top/d1 has wrong bytes"
[ ! -w "$(data top/d1)" ] || [ "$(id -u)" = 0 ] || fail "published data must be read-only"
[ "$(stat -c %a "$(data top/d1)")" = 444 ] || fail "published data must be mode 0444"
staging_empty || fail "staging not cleaned"
ls "$DATABUILD_STORE/logs/" | grep -q '\.log$' || fail "no run logs"

# no-op rebuild: nothing runs
expect_exit 0 db build --events "$T/ev2.jsonl" top/d1
[ "$(wc -l <"$RUNLOG")" = 4 ] || { cat "$RUNLOG"; fail "no-op rebuild ran a job"; }
! grep -q '"type":"job_started"' "$T/ev2.jsonl" || fail "no-op rebuild started a job"
# the events file of a build holds that build's events only, from its request on
head -n1 "$T/ev2.jsonl" | grep -q '"type":"build_requested"' || { head -n3 "$T/ev2.jsonl"; fail "ev2 does not start with its build_requested"; }
[ "$(grep -c '"type":"build_requested"' "$T/ev2.jsonl")" = 1 ] || fail "ev2 holds another build's events"
expect_exit 0 db build --freshness presence top/d1
[ "$(wc -l <"$RUNLOG")" = 4 ] || fail "presence rebuild ran a job"

# --force reruns the requested job only; identical bytes
expect_exit 0 db build --force top/d1
[ "$(runs top d1)" = 2 ] && [ "$(runs raw d1)" = 1 ] || { cat "$RUNLOG"; fail "--force"; }

# a second partition sharing nothing runs its own chain once
expect_exit 0 db build -j 1 top/d2 left/d2
[ "$(runs raw d2)" = 1 ] && [ "$(runs left d2)" = 1 ] || fail "d2 chain"
pass "diamond"
