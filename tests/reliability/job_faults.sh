#!/usr/bin/env bash
# Jobs that die by a signal or never exit: the build fails naming the
# signal or the timeout, nothing is published, staging is cleaned, no
# process of the job survives, and the store keeps working.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

expect_exit 1 db build sig/a
expect_err "job 'sig' (run "
expect_err "was killed by signal 9"
expect_err "about to die"
[ ! -e "$(data sig/a)" ] || fail "a killed job published"
staging_empty || fail "staging not cleaned after a killed job"
expect_exit 0 db show sig/a --json
grep -q '"status": *"failed"' "$T/out" || { cat "$T/out"; fail "sig/a is not failed"; }
pass "a job killed by a signal"

start=$SECONDS
expect_exit 1 db build hang/a
expect_err "job 'hang' (run "
expect_err "timed out after 1 s"
[ $((SECONDS - start)) -lt 60 ] || fail "the timeout took $((SECONDS - start)) s"
pid=$(cat "$STATE/hang.pid")
group_gone() { ! pgrep -g "$pid" -r D,R,S,T,t >/dev/null; }
poll_until 10 group_gone
[ ! -e "$(data hang/a)" ] || fail "a timed-out job published"
staging_empty || fail "staging not cleaned after a timeout"
pass "a job that never exits is killed at timeout_s"

# the same through the mount: the reader gets EIO, the reason is readable
need_fuse
mount_db
expect_exit 1 cat "$M/sig/b"
expect_err "Input/output error"
cat "$M/sig/b.error" >"$T/why" 2>/dev/null || ls "$M/sig" >"$T/why"
grep -q "signal 9" "$T/why" || { cat "$T/why"; fail "the error sidecar does not name the signal"; }
expect_exit 1 cat "$M/hang/b"
expect_err "Input/output error"
unmount_db
expect_exit 0 db build ok/after
catalog_agrees || fail "catalog and store disagree"
pass "through the mount: EIO and a readable reason; the store keeps working"
