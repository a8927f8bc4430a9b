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
