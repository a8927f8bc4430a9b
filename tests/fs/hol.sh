#!/usr/bin/env bash
# No head-of-line blocking: six reads whose job's configure never answers
# hold only themselves; a read of an unrelated ref completes meanwhile, and
# the six complete once the configure answers.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db

pids=()
for k in 1 2 3 4 5 6; do
	cat "$M/hangconf/key=$k" >"$T/hang.$k" 2>&1 &
	pids+=($!)
done
poll_until 30 test -s "$STATE/hangconf.started"
waiters_are() { [ "$(status_field waiters)" = "$1" ]; }  # read anew at each poll
poll_until 30 waiters_are 6

timeout 20 cat "$M/raw/date=2024-01-01" >"$T/raw" ||
	fail "an unrelated read did not complete while a configure hangs"
[ "$(wc -l <"$T/raw")" = 8 ] || fail "the unrelated read got '$(cat "$T/raw")'"
timeout 20 cat "$M/block/key=x" >/dev/null 2>&1 &
blocked=$!
poll_until 30 test -e "$STATE/block-x.started"
timeout 20 cat "$M/summary/date=2024-01-02" >/dev/null ||
	fail "a read that needs another job did not complete while a configure and a job hang"
pass "reads of unrelated refs complete while a configure and a job hang"

: >"$STATE/hangconf.go"
: >"$STATE/block-x.go"
for i in 0 1 2 3 4 5; do
	k=$((i + 1))
	wait "${pids[i]}" || fail "reader $k of the hung configure failed: $(cat "$T/hang.$k")"
	[ "$(cat "$T/hang.$k")" = "hangconf $k" ] || fail "reader $k got '$(cat "$T/hang.$k")'"
done
wait "$blocked" || fail "the blocked job's reader failed"
pass "the six reads complete once their configure answers"
