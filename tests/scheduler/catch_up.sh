#!/usr/bin/env bash
# Ticks missed while no daemon ran: "all" fires each (oldest first),
# "latest" only the newest; both from "start" when nothing was recorded,
# later from the last recorded tick. {today} is the tick's date in the
# schedule's time zone (06:00 in Tokyo is 21:00 UTC the day before).
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

write_graph ',"schedules":[
  {"name":"every","cron":"0 6 * * *","start":"2024-03-01","build":["raw/date=all-{today}"],
   "catch_up":"all"},
  {"name":"newest","cron":"0 6 * * *","timezone":"Asia/Tokyo","start":"2024-03-01",
   "build":["raw/date=latest-{today:%Y%m%d}"],"catch_up":"latest"}]'
set_now 2024-03-04T12:00:00Z
daemon_start a
# every: 03-01..03-04 06:00 UTC; newest: 03-04 06:00 JST (03-03 21:00 UTC) only
poll_until 30 nevents_at_least trigger_build 5
daemon_stop a
for d in 01 02 03 04; do expect_runs raw/date=all-2024-03-$d 1; done
expect_runs raw/date=latest-20240304 1
[ "$(grep -c latest- "$COUNT")" -eq 1 ] || { cat "$COUNT"; fail "latest fired more than once"; }
events_of schedule_tick | grep -F '"schedule":"newest"' | grep -qF '"tick":"2024-03-03T21:00:00Z"' ||
	fail "no tick of newest at 2024-03-03T21:00:00Z"

# three days later, after a restart: every fires 03-05..03-07, newest 03-07 only
set_now 2024-03-07T12:00:00Z
daemon_start b
poll_until 30 nevents_at_least trigger_build 9
daemon_stop b
for d in 01 02 03 04 05 06 07; do expect_runs raw/date=all-2024-03-$d 1; done
expect_runs raw/date=latest-20240307 1
[ "$(grep -c latest- "$COUNT")" -eq 2 ] || { cat "$COUNT"; fail "latest fired a missed tick"; }
[ "$(wc -l <"$COUNT")" -eq 9 ] || { cat "$COUNT"; fail "unexpected runs"; }
pass "catch_up all fires each missed tick, latest the newest"
