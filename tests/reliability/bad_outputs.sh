#!/usr/bin/env bash
# Outputs that are not regular files: a fifo (the publisher must fail, never
# block opening it), a directory, a character device. Each build fails
# naming the output and what it is; nothing is published; staging is
# cleaned. (Symbolic links, files below a symlinked directory and hard links
# to files outside staging: tests/executor/failures.sh.)
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

check() {  # KIND WHAT
	expect_exit 1 timeout 60 "$DATABUILD" build "$1/a"
	expect_err "job '$1' (run "
	expect_err "its output '$1/a' $2"
	[ ! -e "$(data "$1/a")" ] || fail "$1/a was published"
	staging_empty || fail "staging not cleaned after $1"
}
check fifo "is a fifo or socket, not a regular file"
check dir "is a directory, not a regular file"
check dev "is a device, not a regular file"
pass "fifo, directory and device outputs are refused"

need_fuse
mount_db
for k in fifo dir dev; do
	expect_exit 1 timeout 60 cat "$M/$k/m"
	expect_err "Input/output error"
	[ ! -e "$(data "$k/m")" ] || fail "$k/m was published"
done
expect_exit 0 cat "$M/ok/m"
[ "$(cat "$T/out")" = "ok ok/m" ] || fail "the mount stopped working after bad outputs"
unmount_db
staging_empty || fail "staging not cleaned"
catalog_agrees || fail "catalog and store disagree"
pass "the same through the mount: EIO, nothing published, the daemon keeps serving"
