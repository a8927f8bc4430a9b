#!/usr/bin/env bash
# SIGINT/SIGTERM/SIGHUP: every waiting reader is answered, the running job
# is cancelled and publishes nothing, the mount goes away, the daemon exits 0.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
waiters_are() { [ "$(status_field waiters)" = "$1" ]; }
job_gone() { ! pgrep -f "job.sh exec block $1" >/dev/null; }

for sig in INT TERM HUP; do
	k=$(echo "$sig" | tr A-Z a-z)
	"$DATABUILD" mount -f "$M" 2>"$T/fg.err" &
	fg=$!
	poll_until 20 is_mounted
	DAEMON_PID=$fg
	cat "$M/raw/date=2024-01-01" >/dev/null || fail "cannot build under -f"
	for i in 1 2 3; do cat "$M/block/key=$k" >/dev/null 2>"$T/r.$k.$i" & echo $! >"$T/r.$k.$i.pid"; done
	poll_until 20 waiters_are 3
	poll_until 20 test -e "$STATE/block-$k.started"
	kill -s "$sig" "$fg"
	code=0
	wait "$fg" || code=$?
	[ "$code" = 0 ] || { cat "$T/fg.err"; fail "the daemon exited $code after SIG$sig"; }
	! is_mounted || fail "still mounted after SIG$sig"
	for i in 1 2 3; do
		pid=$(cat "$T/r.$k.$i.pid")
		wait "$pid" && fail "a waiting reader succeeded although its build was cancelled"
		grep -q "Input/output error\|Transport endpoint\|No such device" "$T/r.$k.$i" ||
			{ cat "$T/r.$k.$i"; fail "reader $i after SIG$sig"; }
	done
	poll_until 20 job_gone "$k"
	[ ! -e "$DATABUILD_STORE/data/block/key=$k" ] || fail "a cancelled job published its output"
	pass "SIG$sig: readers answered, job cancelled, nothing published, unmounted, exit 0"
done

# Daemonized: SIGTERM unmounts too, and the next mount serves the data.
mount_db
kill -TERM "$DAEMON_PID"
poll_until 20 daemon_gone
! is_mounted || fail "still mounted after SIGTERM to the daemon"
mount_db
[ "$(runs raw)" = 1 ] && cat "$M/raw/date=2024-01-01" >/dev/null && [ "$(runs raw)" = 1 ] ||
	fail "a remount rebuilt"
unmount_db
pass "the daemon unmounts on SIGTERM"

expect_exit 2 db mount "$T/does-not-exist"
expect_err "$T/does-not-exist"
pass "mounting on a missing directory fails with exit 2 and names it"

# an -o option libfuse does not know: the error quotes libfuse's objection
mkdir -p "$T/m2"
expect_exit 2 db mount "$T/m2" -o nonempty,bogus=1
expect_err "databuild: cannot create the FUSE session for '$T/m2': fuse: unknown option(s): \`-o nonempty,bogus=1'"
! mountpoint -q "$T/m2" || fail "mounted at $T/m2 despite the bad option"
pass "an -o option libfuse refuses is named in the mount's error"
