#!/usr/bin/env bash
# The scheduler follows the graph file: a daemon started on a graph with no
# schedules fires one added while it runs; a broken edit is refused and
# logged (its ticks still fire, their builds fail on the broken file);
# removing a schedule stops its ticks while the others go on.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

nightly='{"name":"nightly","cron":"0 2 * * *","timezone":"UTC","build":["report/date={today-1d}"],"catch_up":"all"}'
early='{"name":"early","cron":"0 1 * * *","timezone":"UTC","build":["raw/date={today}"],"catch_up":"all"}'

write_graph ''
touch -d '1 minute ago' "$DATABUILD_GRAPH"
set_now 2024-03-03T03:00:00Z
daemon_start a
write_graph ",\"schedules\":[$nightly]"
poll_until 30 runs_at_least report/date=2024-03-02 1
grep -qF "reloaded '$DATABUILD_GRAPH': 1 schedule" "$T/a.err" || { cat "$T/a.err"; fail "no reload in the log"; }
pass "a schedule added to the graph file of a running daemon fires"

cp "$DATABUILD_GRAPH" "$T/good.json"
echo '{"name": "sched", "jobs": [' >"$DATABUILD_GRAPH"
logged_broken() { grep -qF "does not load; its previous schedules stay in force" "$T/a.err"; }
poll_until 30 logged_broken
set_now 2024-03-04T03:00:00Z
poll_until 30 nevents_at_least trigger_build 2
events_of trigger_build | tail -n1 | grep -qF '"status":"failed"' ||
	fail "the tick's build on a broken graph file did not fail: $(events_of trigger_build | tail -n1)"
events_of schedule_tick | grep -qF '"tick":"2024-03-04T02:00:00Z"' || fail "the schedule in force did not tick"
pass "a broken edit is refused and logged; the schedules in force go on"

write_graph ",\"schedules\":[$early]"
reloaded_early() { grep -qF "reloaded '$DATABUILD_GRAPH': 1 schedule" "$T/a.err" &&
	[ "$(grep -cF "reloaded '$DATABUILD_GRAPH'" "$T/a.err")" -ge 2 ]; }
poll_until 30 reloaded_early
set_now 2024-03-06T03:00:00Z
# once "early" fired for 03-06, the scheduler has looked at the new clock
poll_until 30 runs_at_least raw/date=2024-03-06 1
events_of schedule_tick | grep -F '"schedule":"nightly"' | grep -qE '"tick":"2024-03-0[56]' &&
	fail "the removed schedule fired: $(events_of schedule_tick | grep -F nightly)"
expect_runs report/date=2024-03-05 0
daemon_stop a
pass "a schedule removed from the graph file stops firing; one added fires"
