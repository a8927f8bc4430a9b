# Shared helpers for shell integration tests. Source it:
#   . "$SOURCE_ROOT/tests/lib.sh"
# Environment (set by meson): DATABUILD (the binary), SOURCE_ROOT, BUILD_ROOT.
set -u

: "${DATABUILD:?DATABUILD must point at the databuild binary}"
: "${SOURCE_ROOT:?}"

T=$(mktemp -d "${TMPDIR:-/tmp}/databuild-test.XXXXXX")
_cleanups=()
cleanup() {
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
  rm -rf "$T"
}
trap cleanup EXIT
# Registers a command to run at exit (last registered runs first).
at_exit() { _cleanups+=("$*"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "ok: $*"; }

# --- The test matrix (docs/testing.md): the same tests in another cell,
# chosen by `meson test --setup NAME` (services from scripts/services).
#   DATABUILD_TEST_CATALOG=postgresql  the catalog is a fresh database on the
#       server at $DATABUILD_TEST_PG (a URL without a database name), made
#       here and dropped at exit; DATABUILD_CATALOG names it.
#   DATABUILD_TEST_EXECUTOR=slurm      jobs run through Slurm ($SLURM_CONF).
# In the default cell (SQLite, local) a catalog or an executor named by the
# caller's environment is ignored.
_test_dbs=()
_drop_test_dbs() {
	local d
	for d in "${_test_dbs[@]}"; do
		psql "$DATABUILD_TEST_PG" -X -q -v ON_ERROR_STOP=1 \
			-c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null ||
			echo "warning: could not drop the test database '$d'" >&2
	done
}
# new_test_catalog: in the postgresql cell, a fresh database for the test's
# next store (each store needs a catalog of its own): exports
# DATABUILD_CATALOG naming it. Elsewhere it does nothing (SQLite lives in
# the store).
new_test_catalog() {
	[ "${DATABUILD_TEST_CATALOG:-sqlite}" = postgresql ] || return 0
	local name query base rest
	name=$(basename "$0" .sh | tr 'A-Z-' 'a-z_')
	name=${name//[^a-z0-9_]/_}
	name=databuild_${name:0:30}_$$_${RANDOM}_${#_test_dbs[@]}
	_test_dbs+=("$name")
	psql "$DATABUILD_TEST_PG" -X -q -v ON_ERROR_STOP=1 \
		-c "CREATE DATABASE \"$name\"" >/dev/null ||
		fail "could not create the test database '$name' on '$DATABUILD_TEST_PG'"
	# DATABUILD_TEST_PG with its database (if any) replaced by the new one
	base=${DATABUILD_TEST_PG%%\?*}
	query=${DATABUILD_TEST_PG#"$base"}
	rest=${base#*://}
	export DATABUILD_CATALOG="${base%%://*}://${rest%%/*}/$name$query"
}
case "${DATABUILD_TEST_CATALOG:-sqlite}" in
sqlite) unset DATABUILD_CATALOG ;;
postgresql)
	[ -n "${DATABUILD_TEST_PG:-}" ] ||
		fail "DATABUILD_TEST_CATALOG=postgresql needs DATABUILD_TEST_PG (eval \"\$(scripts/services start)\")"
	command -v psql >/dev/null || fail "psql missing (scripts/setup installs postgresql)"
	# Registered before anything else, so that it runs last: after mounts
	# are unmounted and daemons are gone.
	at_exit _drop_test_dbs
	new_test_catalog
	;;
*) fail "DATABUILD_TEST_CATALOG='$DATABUILD_TEST_CATALOG': expected sqlite or postgresql" ;;
esac
case "${DATABUILD_TEST_EXECUTOR:-local}" in
local) unset DATABUILD_EXECUTOR ;;
slurm)
	[ -n "${SLURM_CONF:-}" ] ||
		fail "DATABUILD_TEST_EXECUTOR=slurm needs SLURM_CONF (eval \"\$(scripts/services start)\")"
	export DATABUILD_EXECUTOR=slurm
	;;
*) fail "DATABUILD_TEST_EXECUTOR='$DATABUILD_TEST_EXECUTOR': expected local or slurm" ;;
esac

db() { "$DATABUILD" "$@"; }

# expect_exit CODE CMD... : runs CMD, fails unless it exits CODE. Output in $T/out, $T/err.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$T/out" 2>"$T/err" || got=$?
  if [ "$got" -ne "$want" ]; then
    echo "--- stdout:"; cat "$T/out"; echo "--- stderr:"; cat "$T/err"
    fail "expected exit $want, got $got: $*"
  fi
}
# expect_err TEXT : stderr of the last expect_exit contains TEXT (fixed string).
expect_err() { grep -qF -- "$1" "$T/err" || { cat "$T/err"; fail "stderr lacks: $1"; }; }
expect_out() { grep -qF -- "$1" "$T/out" || { cat "$T/out"; fail "stdout lacks: $1"; }; }

# poll_until TIMEOUT_S CMD... : re-runs CMD until it succeeds; fails after TIMEOUT_S.
poll_until() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for: $*"
    sleep 0.02
  done
}

need_fuse() {
  [ -e /dev/fuse ] || skip "/dev/fuse is absent"
  command -v fusermount3 >/dev/null || fail "fusermount3 missing (scripts/setup installs fuse3)"
}

# --- A databuild mount at $M (tests that mount set M and call mount_helpers).
is_mounted() { grep -qF " $M fuse.databuild " /proc/self/mounts; }
# status_field NAME: an integer field of .databuild/status.
status_field() { sed -n "s/^ *\"$1\": *\([0-9]*\).*/\1/p" "$M/.databuild/status" | head -n1; }
daemon_gone() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }
DAEMON_PID=
# mount_db [ARGS...]: mounts at $M (daemonized), records the daemon's pid.
mount_db() {
	need_fuse
	# DATABUILD_TEST_MOUNT_O: mount options a suite runs under a second time
	db mount "$M" ${DATABUILD_TEST_MOUNT_O:+-o "$DATABUILD_TEST_MOUNT_O"} "$@" ||
		fail "databuild mount failed"
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
# mount_helpers: at exit, unmount $M, end its daemon and background readers.
mount_helpers() {
	at_exit _cleanup_mount
	at_exit 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null'
}
