#!/usr/bin/env bash
# databuild umount with readers blocked in open (one on a running job, one
# on a configure that never answers): they get EIO at once, the job and
# the configure are killed, the mount is gone within 2 s, exit 0.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db
key=ub$$
cat "$M/block/key=$key" >"$T/job.out" 2>"$T/job.err" &
job_reader=$!
cat "$M/hangconf/key=$key" >"$T/conf.out" 2>"$T/conf.err" &
conf_reader=$!
poll_until 30 test -e "$STATE/block-$key.started"
poll_until 30 test -s "$STATE/hangconf.started"
pgrep -f "exec block $key" >/dev/null || fail "the job's process is not running"
pgrep -f "configure hangconf hangconf/key=$key" >/dev/null ||
	fail "the configure process is not running"

start=$(date +%s%N)
expect_exit 0 db umount "$M"
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -le 2000 ] || fail "databuild umount took $took ms"
! is_mounted || fail "'$M' is still mounted after databuild umount"
pass "databuild umount with blocked readers exits 0 within 2 s ($took ms)"

for r in job conf; do
	pid=job_reader
	[ $r = conf ] && pid=conf_reader
	poll_until 5 eval "! kill -0 ${!pid} 2>/dev/null"
	wait "${!pid}" && fail "the $r reader exited 0"
	grep -q "Input/output error" "$T/$r.err" || fail "the $r reader got '$(cat "$T/$r.err")'"
	[ -s "$T/$r.out" ] && fail "the $r reader got bytes: '$(cat "$T/$r.out")'"
done
poll_until 10 eval "! pgrep -f 'exec block $key' >/dev/null"
poll_until 10 eval "! pgrep -f 'configure hangconf hangconf/key=$key' >/dev/null"
poll_until 20 daemon_gone
pass "the blocked readers get EIO; the job, the configure and the daemon are gone"
