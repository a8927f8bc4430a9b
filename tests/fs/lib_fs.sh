# Shared by the filesystem tests: a graph whose jobs are fixture/job.sh,
# a store and a mountpoint in the test's own temp dir, and mount helpers
# that always unmount at exit.
. "$SOURCE_ROOT/tests/lib.sh"
need_fuse

G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
M=$T/mnt
MANY=${MANY:-3}
export STATE RUNLOG MANY
mkdir -p "$G/jobs" "$STATE" "$M"
: >"$RUNLOG"
cp "$SOURCE_ROOT/tests/fs/fixture/job.sh" "$G/jobs/job.sh"

_job() {  # label pattern
	printf '{"label":"%s","outputs":["%s"],"configure":["jobs/job.sh","configure","%s"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"}' \
		"$1" "$2" "$1"
}
{
	printf '{"name":"fs_fixture","jobs":[%s' "$(_job raw 'raw/date={date}')"
	printf ',%s' "$(_job summary 'summary/date={date}')"
	printf ',%s' "$(_job report 'reports/region=eu/date={date}')"
	printf ',%s' "$(_job block 'block/key={key}')"
	printf ',%s' "$(_job fail 'fail/key={key}')"
	printf ',%s' "$(_job many 'many/n={n}')"
	printf ',%s' "$(_job badconf 'badconf/key={key}')"
	printf ']}\n'
} >"$G/databuild.json"

export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store
unset DATABUILD_CATALOG

# runs KIND [D]: how many times job KIND ran (for D).
runs() { grep -c "^$1 ${2:-}" "$RUNLOG" || true; }
is_mounted() { grep -qF " $M fuse.databuild " /proc/self/mounts; }
# status FIELD: a number from .databuild/status ("pid", "waiters", "live").
status_field() { sed -n "s/^ *\"$1\": *\([0-9]*\).*/\1/p" "$M/.databuild/status" | head -n1; }
daemon_gone() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }

DAEMON_PID=
# mount_db [ARGS...]: mounts at $M (daemonized), records the daemon's pid.
mount_db() {
	db mount "$M" "$@" || fail "databuild mount failed"
	is_mounted || fail "databuild mount returned but '$M' is not mounted"
	DAEMON_PID=$(status_field pid)
	[ -n "$DAEMON_PID" ] || fail "no pid in .databuild/status"
}
# unmount_db: databuild umount, then waits for the daemon to exit.
unmount_db() {
	db umount "$M" || fail "databuild umount failed"
	! is_mounted || fail "'$M' is still mounted after databuild umount"
	poll_until 20 daemon_gone
}
_cleanup_mount() {
	if is_mounted; then
		"$DATABUILD" umount "$M" >/dev/null 2>&1 || fusermount3 -u -z "$M" 2>/dev/null
	fi
	if [ -n "$DAEMON_PID" ]; then
		local i
		for ((i = 0; i < 500; i++)); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.02; done
		kill -9 "$DAEMON_PID" 2>/dev/null
	fi
	true
}
at_exit _cleanup_mount
# Readers started in the background are killed at exit too.
at_exit 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null'
