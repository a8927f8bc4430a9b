#!/usr/bin/env bash
# An eager job's partitions are rebuilt when an upstream is republished
# with other bytes, if they were ever built; a partition never built is
# not built by it.
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

REPORT_EAGER=true write_graph ''
set_now 2024-03-03T03:00:00Z
expect_exit 0 db build report/date=x
expect_runs report/date=x 1
daemon_start a

# raw/date=x republished (other bytes: job.sh writes its run count);
# raw/date=y published for the first time, report/date=y never built
expect_exit 0 db build --force raw/date=x raw/date=y
poll_until 30 runs_at_least report/date=x 2
poll_until 30 nevents_at_least trigger_build 1
events_of eager_due | grep -F '"ref":"report/date=x"' | grep -qF '"upstream":"raw/date=x"' ||
	fail "no eager_due event for report/date=x"
events_of trigger_build | grep -F '"trigger":"eager"' | grep -qF '"status":"succeeded"' ||
	fail "the eager build did not succeed"

# once more: each republish rebuilds it once
expect_exit 0 db build --force raw/date=x
poll_until 30 runs_at_least report/date=x 3
poll_until 30 nevents_at_least trigger_build 2
daemon_stop a
expect_runs report/date=x 3
expect_runs raw/date=x 3
expect_runs report/date=y 0
pass "eager jobs follow their upstreams"
