#!/usr/bin/env bash
# A schedule fires each tick once, builds what the tick's refs name, and
# records it: moving the clock past two ticks builds exactly those two
# partitions, once each; a second daemon on the same store fires nothing
# while the first holds the scheduler's lease, takes over when it stops,
# and does not fire the recorded ticks again; `databuild schedules` shows
# the last tick.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

write_graph ',"schedules":[{"name":"nightly","cron":"0 2 * * *","timezone":"UTC",
  "build":["report/date={today-1d}"],"catch_up":"all"}]'
set_now 2024-03-03T03:00:00Z
daemon_start a
# never fired and no start: only the newest due tick (03-03 02:00)
poll_until 30 runs_at_least report/date=2024-03-02 1
poll_until 30 nevents_at_least trigger_build 1

# past two more ticks (03-04 and 03-05 02:00): each fires once
set_now 2024-03-05T02:30:00Z
poll_until 30 runs_at_least report/date=2024-03-04 1
poll_until 30 nevents_at_least trigger_build 3
for d in 02 03 04; do
	expect_runs report/date=2024-03-$d 1
	expect_runs raw/date=2024-03-$d 1
done
expect_runs report/date=2024-03-01 0
events_of schedule_tick | grep -qF '"tick":"2024-03-04T02:00:00Z"' || fail "no tick event for 03-04"
events_of trigger_build | grep -qF '"status":"succeeded"' || fail "no succeeded build event"

# a second daemon: the first holds the lease; when it stops, the second
# fires the next tick and none of the recorded ones
daemon_start b
daemon_stop a
set_now 2024-03-06T02:00:00Z
poll_until 30 runs_at_least report/date=2024-03-05 1
poll_until 30 nevents_at_least trigger_build 4
# a restart on the same clock fires nothing again
daemon_stop b
daemon_start c
set_now 2024-03-07T02:00:00Z
poll_until 30 runs_at_least report/date=2024-03-06 1
poll_until 30 nevents_at_least trigger_build 5
daemon_stop c
for d in 02 03 04 05 06; do
	expect_runs report/date=2024-03-$d 1
	expect_runs raw/date=2024-03-$d 1
done
[ "$(wc -l <"$COUNT")" -eq 10 ] || { cat "$COUNT"; fail "unexpected runs"; }
[ "$(nevents schedule_tick)" -eq 5 ] || { events_of schedule_tick; fail "ticks fired more than once"; }

expect_exit 0 db schedules
expect_out "2024-03-07T02:00:00Z"
expect_out "2024-03-08T02:00:00Z"
pass "each tick fires once, across daemons and restarts"
