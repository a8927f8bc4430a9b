#!/usr/bin/env bash
# A store on a 2 MiB tmpfs. A job that fills the disk: the build fails with
# a message that says the disk is full, nothing is published, staging is
# cleaned, the partition is recorded as failed and the store keeps working.
# A disk filled by someone else: a clear error, and building works again
# once space is freed.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

mkdir "$T/small"
mount -t tmpfs -o size=2m,mode=0700 databuild-test "$T/small" 2>"$T/err" ||
	skip "cannot mount a tmpfs: $(cat "$T/err")"
at_exit "umount -l '$T/small'"
export DATABUILD_STORE=$T/small/store
says_full() { grep -qi "no space left on device\|disk is full" "$T/err" || { cat "$T/err"; fail "$1: the error does not say the disk is full"; }; }
used() { df -k --output=used "$T/small" | tail -n1 | tr -d ' '; }

expect_exit 0 db build ok/a
before=$(used)
expect_exit 1 db build fill/a
expect_err "job 'fill' (run "
says_full "a job that fills the disk"
[ ! -e "$(data fill/a)" ] || fail "a job that filled the disk published"
staging_empty || fail "staging not cleaned after the disk filled up"
[ "$(used)" -lt $((before + 256)) ] || fail "space not freed: $before KiB used before, $(used) KiB after"
expect_exit 0 db ls --status failed
expect_out "fill/a"
pass "a job that fills the disk fails saying so; nothing published, staging cleaned"

expect_exit 0 db build ok/b
[ "$(cat "$(data ok/b)")" = "ok ok/b" ] || fail "ok/b after the disk was full"
catalog_agrees || fail "catalog and store disagree"
pass "the store keeps working after a job filled the disk"

# someone else fills the disk: databuild says so, then recovers
dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null || true
code=0
db build ok/c >"$T/out" 2>"$T/err" || code=$?
[ "$code" = 1 ] || [ "$code" = 2 ] || { cat "$T/err"; fail "build on a full disk exited $code"; }
says_full "a build on a full disk"
# reading the catalog may need space too (SQLite's -shm file): it works or says why
for c in ls events "show ok/a"; do
	code=0
	db $c >"$T/out" 2>"$T/err" || code=$?
	[ "$code" = 0 ] || { [ "$code" = 2 ] && says_full "$c on a full disk"; } || fail "$c on a full disk exited $code"
done
[ ! -e "$(data ok/c)" ] || fail "a build on a full disk published"
rm -f "$T/small/filler"
expect_exit 0 db build ok/c
[ "$(cat "$(data ok/c)")" = "ok ok/c" ] || fail "ok/c after space was freed"
staging_empty || fail "staging not clean"
catalog_agrees || fail "catalog and store disagree"
pass "a disk filled by someone else: a clear error, then the store works again"
