#!/usr/bin/env bash
# 20 concurrent readers of one missing partition cause exactly one run; the
# mount stays responsive while they wait, and every reader gets the bytes.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
# -j 4: three blocked jobs below may land in one build batch, which runs at
# most -j jobs at once.
mount_db -j 4
cat "$M/raw/date=2024-01-01" >/dev/null || fail "cannot build a partition"

for i in $(seq 20); do
	cat "$M/block/key=a" >"$T/reader.$i" 2>"$T/reader.$i.err" &
	echo $! >>"$T/readers"
done
waiters_are() { [ "$(status_field waiters)" = "$1" ]; }
poll_until 30 waiters_are 20
poll_until 30 test -e "$STATE/block-a.started"

# While the readers wait: the root, a dataset, a live read, a stat.
start=$(date +%s%N)
timeout 5 ls "$M" >/dev/null || fail "ls of the root did not answer while readers wait"
timeout 5 ls -l "$M/raw" >/dev/null || fail "ls of a dataset did not answer while readers wait"
timeout 5 cat "$M/raw/date=2024-01-01" >/dev/null || fail "a live read did not answer while readers wait"
timeout 5 stat "$M/block/key=a" >/dev/null || fail "stat of the waited-on partition did not answer"
timeout 5 cat "$M/.databuild/status" >/dev/null || fail "status did not answer"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "responsive: ${elapsed_ms} ms for ls, ls -l, cat, stat and status while 20 readers wait"
for pid in $(cat "$T/readers"); do
	kill -0 "$pid" 2>/dev/null || fail "a reader ended before the job finished"
done
pass "responsive while readers wait"

: >"$STATE/block-a.go"
for pid in $(cat "$T/readers"); do
	wait "$pid" || fail "a reader failed: $(cat "$T"/reader.*.err)"
done
for i in $(seq 20); do
	[ "$(cat "$T/reader.$i")" = "block a" ] || fail "reader $i got '$(cat "$T/reader.$i")'"
done
[ "$(runs block a)" = 1 ] || { cat "$RUNLOG"; fail "20 readers caused $(runs block a) runs"; }
[ "$(grep -c '"job_started"' "$M/.databuild/events")" = 2 ] || fail "events should show 2 job starts"
pass "20 concurrent readers -> one run, all get the bytes"

# Readers of different missing partitions are built side by side.
for k in b c d; do
	cat "$M/block/key=$k" >"$T/multi.$k" &
	echo $! >>"$T/multi"
done
started() { [ -e "$STATE/block-b.started" ] && [ -e "$STATE/block-c.started" ] && [ -e "$STATE/block-d.started" ]; }
poll_until 30 started
: >"$STATE/block-b.go"; : >"$STATE/block-c.go"; : >"$STATE/block-d.go"
for pid in $(cat "$T/multi"); do wait "$pid" || fail "a reader of block/key=b..d failed"; done
for k in b c d; do [ "$(cat "$T/multi.$k")" = "block $k" ] || fail "block $k"; done
pass "readers of different missing partitions are built side by side"

# A reader of a partition that `databuild build` is building waits for
# that build (through its lease) instead of running the job again.
db build block/key=cli >"$T/cli.out" 2>&1 &
cli=$!
poll_until 30 test -e "$STATE/block-cli.started"
cat "$M/block/key=cli" >"$T/cli.read" &
reader=$!
poll_until 30 waiters_are 1
: >"$STATE/block-cli.go"
wait "$cli" || { cat "$T/cli.out"; fail "databuild build failed"; }
wait "$reader" || fail "the reader failed"
[ "$(cat "$T/cli.read")" = "block cli" ] || fail "the reader got '$(cat "$T/cli.read")'"
[ "$(runs block cli)" = 1 ] || fail "the mount and databuild build ran the job $(runs block cli) times"
pass "a reader coalesces with a concurrent databuild build"
