#!/usr/bin/env bash
# The mount daemon is kill -9ed while readers wait on builds: the readers
# fail promptly, never see partial data; databuild umount clears the dead
# mount; no lease stays held (databuild build proceeds); a new mount builds
# correctly; the interrupted runs are recorded as abandoned.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
need_fuse
READERS=8

mount_db
for ((i = 0; i < READERS; i++)); do
	ref=block/x
	[ $((i % 2)) = 0 ] || ref=block/y
	( cat "$M/$ref" >"$T/r.$i" 2>"$T/r.$i.err"; echo $? >"$T/r.$i.rc" ) &
done
started() { [ -e "$STATE/block-x.started" ] && [ -e "$STATE/block-y.started" ]; }
poll_until 30 started
waiting() { [ "$(status_field waiters)" = "$READERS" ]; }
poll_until 30 waiting
pass "$READERS readers wait on two builds"

kill -9 "$DAEMON_PID"
poll_until 10 daemon_gone
all_done() { local i; for ((i = 0; i < READERS; i++)); do [ -e "$T/r.$i.rc" ] || return 1; done; }
poll_until 20 all_done
for ((i = 0; i < READERS; i++)); do
	[ "$(cat "$T/r.$i.rc")" != 0 ] || fail "reader $i succeeded after the daemon died: $(cat "$T/r.$i")"
	! grep -q partial "$T/r.$i" || fail "reader $i saw partial data"
	grep -q "Transport endpoint is not connected\|Software caused connection abort\|No such device\|Input/output error" \
		"$T/r.$i.err" || { cat "$T/r.$i.err"; fail "reader $i: unexpected error"; }
done
pass "every waiting reader failed promptly, none saw partial data"

db umount "$M" || fail "databuild umount of the dead mount"
! is_mounted || fail "the dead mount is still there"
[ ! -e "$(data block/x)" ] && [ ! -e "$(data block/y)" ] || fail "a killed build published data"
pass "databuild umount clears the dead mount"

# The orphaned jobs may finish now: their runs are dead, nothing of theirs
# is ever published.
: >"$STATE/block.go"
start=$SECONDS
expect_exit 0 db build block/x
[ $((SECONDS - start)) -lt 60 ] || fail "databuild build waited on a lease of the dead daemon"
[ "$(cat "$(data block/x)")" = "complete block/x" ] || fail "block/x: $(cat "$(data block/x)")"
pass "no lease stays held: databuild build proceeds"

rm -f "$STATE/block-y.started"
mount_db
[ "$(cat "$M/block/y")" = "complete block/y" ] || fail "the new mount served the wrong bytes"
[ -e "$STATE/block-y.started" ] || fail "the new mount did not rebuild block/y"
[ "$(cat "$M/block/x")" = "complete block/x" ] || fail "block/x through the new mount"
[ "$(runs block block/x)" = 2 ] && [ "$(runs block block/y)" = 2 ] || { cat "$RUNLOG"; fail "run counts"; }
unmount_db
catalog_agrees || fail "catalog and store disagree"
pass "a new mount builds the partition correctly"

# both runs of the dead daemon are recorded as abandoned
dead_x=$(awk '$2 == "block/x" { print $3; exit }' "$RUNLOG")
dead_y=$(awk '$2 == "block/y" { print $3; exit }' "$RUNLOG")
db events >"$T/events"
for r in "$dead_x" "$dead_y"; do
	grep '"type":"job_abandoned"' "$T/events" | grep -q "\"run_id\":\"$r\"" ||
		{ grep "\"run_id\":\"$r\"" "$T/events"; fail "run $r is not recorded as abandoned"; }
done
expect_exit 0 db show block/y --json
pass "the interrupted runs are recorded as abandoned"

# The daemon killed at random points while it builds and publishes a job
# with many outputs for a reader: after each kill the catalog and the store
# agree, and a plain build then completes.
export MANY=150
for ((i = 1; i <= 8; i++)); do
	mount_db
	( cat "$M/many/n=0" >/dev/null 2>&1 ) &
	reader=$!
	sleep "$(printf '0.%03d' $((RANDOM % 200)))"
	kill -9 "$DAEMON_PID"
	poll_until 10 daemon_gone
	wait "$reader" 2>/dev/null
	db umount "$M" >/dev/null 2>&1 || true
	! is_mounted || fail "round $i: the dead mount is still there"
	catalog_agrees || fail "round $i: catalog and store disagree after the daemon was killed"
	[ $((i % 4)) != 0 ] || timeout 60 "$DATABUILD" build --force 'many/n=0' >"$T/b.out" 2>&1 ||
		{ cat "$T/b.out"; fail "round $i: a build after the killed daemon failed"; }
done
expect_exit 0 db build 'many/n=0'
AGREE_PATHS=all catalog_agrees || fail "catalog and store disagree at the end"
pass "a daemon killed while publishing never leaves torn partitions live"
