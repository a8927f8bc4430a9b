#!/usr/bin/env bash
# Multi-output jobs, `databuild cat` and `databuild exec`.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

# one run for several requested outputs of one config
expect_exit 0 db build multi/a/m1 multi/b/m1
[ "$(runs multi m1)" = 1 ] || { cat "$RUNLOG"; fail "multi ran $(runs multi m1) times"; }
for p in a b c; do
	[ "$(cat "$(data multi/$p/m1)")" = "multi $p m1" ] || fail "multi/$p/m1"
done
expect_exit 0 db cat multi/c/m1
[ "$(cat "$T/out")" = "multi c m1" ] || fail "cat of the unrequested output"
[ "$(runs multi m1)" = 1 ] || fail "cat of a live partition ran a job"

# cat of a missing partition: builds it and prints exactly its bytes, nothing else
expect_exit 0 db cat one/c1
[ "$(od -An -c "$T/out" | tr -d ' ')" = x ] || { od -c "$T/out"; fail "cat printed more than the data"; }
[ "$(runs one c1)" = 1 ] || fail "one/c1 should have run once"
expect_exit 0 db cat one/c1 raw/c1
printf 'xraw c1\n' | cmp - "$T/out" || fail "cat of two refs"
[ "$(runs one c1)" = 1 ] || fail "cat reran a live partition"
# a cat answered by live partitions leaves no record; one that builds does
events() { db events >"$T/events" || fail "databuild events failed"; wc -l <"$T/events"; }
e0=$(events)
expect_exit 0 db cat one/c1 raw/c1
[ "$(events)" = "$e0" ] || { tail -n +$((e0 + 1)) "$T/events"; fail "cat of live partitions wrote events"; }
expect_exit 0 db cat one/c2
[ "$(events)" -gt "$e0" ] && tail -n +$((e0 + 1)) "$T/events" >"$T/new" &&
	head -1 "$T/new" | grep -q '"type":"build_requested".*"payload":{"refs":\["one/c2"\],"requester":"cli"}' &&
	tail -1 "$T/new" | grep -q '"type":"build_finished".*"status":"succeeded"' ||
	{ cat "$T/new"; fail "cat that built one/c2 is not on record as a build"; }
e0=$(events)
expect_exit 0 db build one/c2
[ "$(events)" -gt "$e0" ] && tail -n +$((e0 + 1)) "$T/events" | grep -q '"type":"build_requested"' ||
	fail "build of a live partition is not on record"
expect_exit 1 db cat afterfail/c1
[ ! -s "$T/out" ] || fail "cat of a failed build wrote to stdout"
expect_err "boom: the c1 input is corrupt"
expect_exit 2 db cat 'bad//ref'

# exec: inputs must be live; runs exactly the ref's config, always
expect_exit 2 db exec left/x1
expect_err "input 'raw/x1'"
expect_err "not live"
[ "$(runs left x1)" = 0 ] || fail "exec ran despite a missing input"
expect_exit 0 db build raw/x1
expect_exit 0 db exec left/x1
[ "$(runs left x1)" = 1 ] || fail "exec left/x1"
expect_exit 0 db exec left/x1
[ "$(runs left x1)" = 2 ] || fail "exec runs even when live"
[ "$(runs raw x1)" = 1 ] || fail "exec must not run upstream jobs"
pass "outputs"

# the JobConfig on stdin is a file the job can read again under the local
# executor (it is no longer <staging>/config.json, so staging holds only
# out/); srun forwards a job's stdin through a pipe
[ "${DATABUILD_TEST_EXECUTOR:-local}" = slurm ] || export STDIN_REREAD=1
expect_exit 0 db build stdin/s1
[ "$(cat "$(data stdin/s1)")" = x ] || fail "stdin/s1"
pass "stdin is a re-readable JobConfig (local executor), staging holds only out/"
