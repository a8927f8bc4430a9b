#!/usr/bin/env bash
# A freshness policy rebuilds a partition of its dataset that is older
# than max_age (its publish time against the clock) once per max_age, and
# one that is stale (tainted) at once; other datasets are left alone.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

write_graph ',"freshness":{"raw":{"max_age":"26h"}}'
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
set_now "$(utc "$now")"
expect_exit 0 db build raw/date=a raw/date=b report/date=c
daemon_start a
expect_runs raw/date=a 1

# two days later: raw's partitions are over age, report's have no policy
set_now "$(utc $((now + 2 * 86400)))"
poll_until 30 runs_at_least raw/date=a 2
poll_until 30 nevents_at_least trigger_build 1
expect_runs raw/date=b 2
expect_runs raw/date=c 2
expect_runs report/date=c 1
events_of freshness_due | grep -F '"ref":"raw/date=a"' | grep -qF '"reason":"max_age"' ||
	fail "no freshness_due event for raw/date=a"
events_of trigger_build | grep -F '"trigger":"freshness"' | grep -qF '"status":"succeeded"' ||
	fail "the freshness build did not succeed"

# a tainted (stale) partition is rebuilt without waiting for max_age
expect_exit 0 db taint raw/date=a
poll_until 30 runs_at_least raw/date=a 3
poll_until 30 nevents_at_least trigger_build 2
expect_runs raw/date=b 2
events_of freshness_due | grep -F '"ref":"raw/date=a"' | grep -qF '"reason":"stale"' ||
	fail "no stale freshness_due event for raw/date=a"

# another max_age later, both are over age again: once more each
set_now "$(utc $((now + 4 * 86400)))"
poll_until 30 runs_at_least raw/date=b 3
poll_until 30 nevents_at_least trigger_build 3
daemon_stop a
expect_runs raw/date=a 4
expect_runs raw/date=b 3
expect_runs raw/date=c 3
expect_runs report/date=c 1
pass "freshness rebuilds over-age and stale partitions"
