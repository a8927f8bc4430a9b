#!/usr/bin/env bash
# Unmounting, a daemon that dies (kill -9) and is cleared with databuild
# umount, and a new mount serving what was built before without rebuilding.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db
expect_exit 2 db mount "$M"
expect_err "already a databuild mount"
P=$M/summary/date=2024-01-01
cat "$P" >"$T/first" || fail "cannot build a partition"
ino=$(stat -c %i "$P")
[ "$(stat -c %i "$P")" = "$ino" ] || fail "the inode number changed"
unmount_db
pass "databuild umount unmounts and the daemon exits"

mount_db
cmp "$T/first" "$P" || fail "the bytes changed after a remount"
[ "$(runs raw)" = 1 ] && [ "$(runs summary)" = 1 ] || { cat "$RUNLOG"; fail "a remount rebuilt"; }
pass "reading after the daemon is restarted serves what was built, without rebuilding"

# A placeholder keeps its inode number when it becomes live.
ino=$(stat -c %i "$M/raw/date=2024-05-05")
[ "$(stat -c %s "$M/raw/date=2024-05-05")" = 0 ] || fail "a placeholder should have size 0"
cat "$M/raw/date=2024-05-05" >/dev/null
[ "$(stat -c %i "$M/raw/date=2024-05-05")" = "$ino" ] || fail "the inode number changed when it became live"
[ "$(stat -c %s "$M/raw/date=2024-05-05")" -gt 0 ] || fail "the live partition still has size 0"
pass "inode numbers are stable when a placeholder becomes live"

kill -9 "$DAEMON_PID"
poll_until 10 daemon_gone
expect_exit 1 stat "$M"
expect_err "Transport endpoint is not connected"
db umount "$M" || fail "databuild umount of a dead daemon's mount failed"
! is_mounted || fail "the dead mount is still there"
pass "databuild umount clears the mount of a dead daemon"

mount_db
cmp "$T/first" "$P" || fail "the bytes changed after the daemon was killed"
[ "$(runs summary)" = 1 ] || fail "a remount after kill -9 rebuilt"
unmount_db
expect_exit 2 db umount "$M"
expect_err "$M"
pass "mount again after a crash; umount of what is not mounted names it"
