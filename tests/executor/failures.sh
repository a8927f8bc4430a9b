#!/usr/bin/env bash
# Failures: propagation, --keep-going, bad outputs, timeout, retries.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

# a failing job: exit 1, its downstream skipped, the error names job, run, log and stderr tail
expect_exit 1 db build afterfail/f1
expect_err "job 'fail' (run "
expect_err "exited with status 3"
expect_err "boom: the f1 input is corrupt"
expect_err "log: $DATABUILD_STORE/logs/"
expect_out "skipped afterfail"
[ "$(runs afterfail)" = 0 ] || fail "downstream of a failure ran"
[ ! -e "$(data fail/f1)" ] && [ ! -e "$(data afterfail/f1)" ] || fail "failure published data"
staging_empty || fail "staging not cleaned after a failure"

# --keep-going: the independent branch is still built
expect_exit 1 db build -j 1 --keep-going afterfail/f2 one/k1 raw/k1
[ -e "$(data one/k1)" ] && [ -e "$(data raw/k1)" ] || fail "--keep-going did not build the independent nodes"
expect_out "skipped afterfail"

# exit 0 without the declared output
expect_exit 1 db build noout/n1
expect_err "did not write output 'noout/n1'"
[ ! -e "$(data noout/n1)" ] || fail "noout published"

# a symlink as output
expect_exit 1 db build symlink/s1
expect_err "output 'symlink/s1' is a symbolic link"
[ ! -e "$(data symlink/s1)" ] && [ ! -L "$(data symlink/s1)" ] || fail "symlink published"

# a symlinked directory above a regular file
passwd_mode=$(stat -c %a /etc/passwd)
expect_exit 1 db build symlink/passwd
expect_err "output 'symlink/passwd' lies below a symbolic link"
[ ! -e "$(data symlink/passwd)" ] || fail "file below a symlink published"
[ "$(stat -c %a /etc/passwd)" = "$passwd_mode" ] || fail "/etc/passwd was modified"

# a hard link to a file outside staging (same filesystem as the store)
echo secret >"$STATE/secret"
chmod 600 "$STATE/secret"
expect_exit 1 db build hardlink/h1
expect_err "output 'hardlink/h1' is a hard link"
[ ! -e "$(data hardlink/h1)" ] || fail "hard link published"
[ "$(stat -c %a "$STATE/secret")" = 600 ] || fail "the hard-linked file was modified"
# and one to /etc/passwd when the filesystem allows it (else the job fails anyway)
mode=$(stat -c %a /etc/passwd)
expect_exit 1 db build hardlink/h2
[ ! -e "$(data hardlink/h2)" ] || fail "hard link published"
[ "$(stat -c %a /etc/passwd)" = "$mode" ] || fail "/etc/passwd was modified"

# undeclared extra files are dropped, the declared one published
expect_exit 0 db build extra/e1
[ "$(cat "$(data extra/e1)")" = kept ] || fail "extra/e1"
[ ! -e "$DATABUILD_STORE/data/undeclared" ] || fail "an undeclared file was published"
staging_empty || fail "staging not cleaned"

# timeout: killed after timeout_s, process group included
start=$SECONDS
expect_exit 1 db build timeout/t1
expect_err "timed out after 1 s"
[ $((SECONDS - start)) -lt 30 ] || fail "timeout took too long"
pgid=$(cat "$STATE/timeout-t1.pid")
! group_alive "$pgid" || fail "processes of the timed-out job survive"
[ ! -e "$(data timeout/t1)" ] || fail "timed-out run published"

# retries: fails once, succeeds on the retry, with a new run id
expect_exit 0 db build flaky/r1
[ "$(runs flaky r1)" = 2 ] || { cat "$RUNLOG"; fail "flaky should run twice"; }
[ "$(cat "$(data flaky/r1)")" = "flaky r1" ] || fail "flaky/r1 bytes"
ids=$(grep '^flaky r1' "$RUNLOG" | awk '{print $3}' | sort -u | wc -l)
[ "$ids" = 2 ] || fail "a retry must get a new run id"

# a failed partition is retried by the next build (and fails again)
expect_exit 1 db build fail/f1
[ "$(runs fail f1)" = 2 ] || fail "failed partition not rebuilt"
pass "failures"
