#!/usr/bin/env bash
# Security defaults: the store is 0700, published data 0444, the mount is
# private to the mounting user unless -o allow_other (which adds
# default_permissions), and jobs inherit no file descriptor from the
# command line or the mount daemon — not even one their caller leaked.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

# only 0, 1 and 2 (each line of an fds/ partition is "FD TARGET")
only_std_fds() {
	local fds
	fds=$(cut -d' ' -f1 "$1" | sort -n | tr '\n' ' ')
	[ "$fds" = "0 1 2 " ] || { cat "$1"; return 1; }
}

# The store and everything private in it is created 0700 (umask or not).
(umask 0; db build ok/a) >"$T/out" 2>&1 || { cat "$T/out"; fail "build ok/a"; }
[ "$(stat -c %a "$DATABUILD_STORE")" = 700 ] || fail "store mode $(stat -c %a "$DATABUILD_STORE"), want 700"
for d in staging logs locks; do
	[ "$(stat -c %a "$DATABUILD_STORE/$d")" = 700 ] || fail "store/$d is $(stat -c %a "$DATABUILD_STORE/$d")"
done
[ "$(stat -c %a "$(data ok/a)")" = 444 ] || fail "published data is $(stat -c %a "$(data ok/a)"), want 444"
# (root writes whatever the mode says: the check is for everyone else)
[ "$(id -u)" = 0 ] || ! (exec 2>/dev/null; echo x >>"$(data ok/a)") || fail "published data is writable"
pass "store 0700, published data 0444"

# Jobs started by `databuild build` see only 0, 1 and 2.
expect_exit 0 db build fds/cli
only_std_fds "$(data fds/cli)" || fail "a job run by databuild build inherited descriptors"
# a configure too, even when the caller leaks a descriptor without close-on-exec
printf 'DATABUILD_OUTPUT_DIR=$STATE exec "%s" cfg fds-of-configure\n' "$REL/rel_fds" >"$STATE/cfg.sh"
exec 7>"$T/leaked"
expect_exit 2 db configure cfg/x
exec 7>&-
only_std_fds "$STATE/fds-of-configure" || fail "a configure inherited descriptors"
# and a job
exec 7>"$T/leaked"
expect_exit 0 db build fds/cli-leak
exec 7>&-
only_std_fds "$(data fds/cli-leak)" || fail "a job inherited a descriptor the caller of databuild build leaked"
pass "jobs and configures run by databuild build inherit no descriptors"

need_fuse
# The mount daemon's jobs: only 0, 1, 2 as well (the daemon holds /dev/fuse,
# the catalog, lock files; its caller leaked fd 7).
exec 7>"$T/leaked"
mount_db
exec 7>&-
cat "$M/fds/mount" >"$T/fds.mount" || fail "reading fds/mount through the mount"
only_std_fds "$T/fds.mount" || fail "a job run by the mount daemon inherited descriptors"
[ "$(ls /proc/"$DAEMON_PID"/fd | wc -l)" -gt 3 ] || fail "the daemon should hold descriptors of its own"
pass "jobs of the mount daemon inherit no descriptors"

# Private mount: another user cannot even stat it (FUSE refuses, not modes).
chmod 0755 "$T"
grep -F " $M fuse.databuild " /proc/self/mounts >"$T/opts"
! grep -q allow_other "$T/opts" || fail "allow_other without -o allow_other: $(cat "$T/opts")"
[ -r "$M/ok/a" ] && [ "$(cat "$M/ok/a")" = "ok ok/a" ] || fail "the mounting user cannot read"
expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups stat "$M/ok/a"
expect_err "Permission denied"
expect_exit 2 setpriv --reuid=nobody --regid=nogroup --clear-groups ls "$M"
expect_err "Permission denied"
[ "$(runs ok)" = 1 ] || fail "another user's access ran a job"
unmount_db
pass "the mount is private to the mounting user"

# -o allow_other: default_permissions is added; others can read 0444 data
# but the store itself stays 0700.
mount_db -o allow_other
grep -F " $M fuse.databuild " /proc/self/mounts >"$T/opts"
grep -q allow_other "$T/opts" && grep -q default_permissions "$T/opts" ||
	fail "-o allow_other without default_permissions: $(cat "$T/opts")"
expect_exit 0 setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$M/ok/a"
[ "$(cat "$T/out")" = "ok ok/a" ] || fail "another user read the wrong bytes"
expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$DATABUILD_STORE/data/ok/a"
expect_err "Permission denied"
# nothing is writable, whoever asks
expect_exit 2 setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "echo x >'$M/ok/a'"
grep -q "Read-only file system\|Permission denied" "$T/err" || { cat "$T/err"; fail "a write by another user"; }
unmount_db
pass "-o allow_other adds default_permissions; the store stays private"
