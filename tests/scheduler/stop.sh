#!/usr/bin/env bash
# A daemon that stops during a trigger build cancels it: the job's
# processes are gone, nothing is published, the event says "cancelled",
# and the daemon exits 0. The tick stays fired (at most once): the next
# daemon goes on with the next tick.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

write_graph ',"schedules":[{"name":"nightly","cron":"0 2 * * *",
  "build":["raw/date=block-{today}"]}]'
set_now 2024-03-03T03:00:00Z
daemon_start a
poll_until 30 test -e "$BLOCK_DIR/started"
daemon_stop a
events_of trigger_build | grep -F '"status":"cancelled"' | grep -qF 'raw/date=block-2024-03-03' ||
	{ events_of trigger_build; fail "no cancelled trigger_build event"; }
job_gone() { ! pgrep -f "job.sh exec raw/date=block-2024-03-03" >/dev/null; }
poll_until 20 job_gone
expect_exit 1 db path raw/date=block-2024-03-03

touch "$BLOCK_DIR/go"
daemon_start b
set_now 2024-03-04T02:00:00Z
poll_until 30 runs_at_least raw/date=block-2024-03-04 1
poll_until 30 nevents_at_least trigger_build 2
daemon_stop b
expect_runs raw/date=block-2024-03-03 1
[ "$(nevents schedule_tick)" -eq 2 ] || { events_of schedule_tick; fail "expected 2 ticks"; }
pass "a stopping daemon cancels its trigger build"
