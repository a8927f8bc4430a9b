#!/usr/bin/env bash
# The mount daemon hosts the scheduler too (in the process that stays
# after it forks): a tick fires, its partition is readable through the
# mount, and the scheduler stops with the mount.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"
need_fuse
M=$T/mnt
mkdir -p "$M"
mount_helpers

write_graph ',"schedules":[{"name":"nightly","cron":"0 2 * * *",
  "build":["report/date={today-1d}"]}]'
set_now 2024-03-03T03:00:00Z
mount_db
poll_until 30 nevents_at_least trigger_build 1
expect_runs report/date=2024-03-02 1
grep -qx "report/date=2024-03-02 run 2" "$M/report/date=2024-03-02" ||
	fail "unexpected data: $(cat "$M/report/date=2024-03-02")"
set_now 2024-03-04T02:00:00Z
poll_until 30 runs_at_least report/date=2024-03-03 1
unmount_db
expect_runs report/date=2024-03-02 1
expect_runs report/date=2024-03-03 1
[ "$(nevents schedule_tick)" -eq 2 ] || fail "expected 2 ticks"
pass "the mount daemon fires schedules"
