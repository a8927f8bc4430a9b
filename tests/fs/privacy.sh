#!/usr/bin/env bash
# Under -o allow_other the .error sidecar shows the job's output (its log
# tail, a configure's stderr: they may hold secrets) only to the mount's
# owner; another user sees the partition, the job, the run and the error
# message without it.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
chmod 0755 "$T"
mount_db -o allow_other
expect_exit 1 cat "$M/fail/key=s"
cat "$M/fail/key=s.error" >"$T/owner" || fail "the owner cannot read the .error"
grep -q "^log tail:" "$T/owner" && grep -q "boom: the s input is corrupt" "$T/owner" ||
	{ cat "$T/owner"; fail "the owner does not see the log tail"; }

expect_exit 0 setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$M/fail/key=s.error"
cp "$T/out" "$T/other"
grep -q "^partition: fail/key=s" "$T/other" && grep -q "^job: fail" "$T/other" &&
	grep -q "^error:" "$T/other" || { cat "$T/other"; fail "another user's .error lacks the message"; }
grep -q "log tail:\|boom\|step 1 went fine" "$T/other" &&
	{ cat "$T/other"; fail "another user sees the job log"; }
grep -q "exited with status 3" "$T/other" && grep -q "shown to the mount's owner only" "$T/other" ||
	{ cat "$T/other"; fail "another user's .error does not say what happened"; }
pass "under allow_other only the owner sees the log tail in .error"

# A configure's stderr as well.
expect_exit 1 cat "$M/badconf/key=s"
grep -q "configure cannot read its settings" "$M/badconf/key=s.error" ||
	fail "the owner does not see the configure's stderr"
expect_exit 0 setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$M/badconf/key=s.error"
grep -q "configure cannot read" "$T/out" && { cat "$T/out"; fail "another user sees a configure's stderr"; }
grep -q "^error:" "$T/out" || { cat "$T/out"; fail "another user's .error of a configure failure"; }
pass "under allow_other only the owner sees a configure's stderr in .error"
