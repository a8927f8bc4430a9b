#!/usr/bin/env bash
# A configure that fails is a failed build in the catalog, from the mount
# and from the CLI alike: the partition is failed with the message (and a
# partition_failed event), `ls --status failed` lists it, the mount lists
# the ref and its .error side by side, and the .error survives a remount,
# until the next build of the partition succeeds.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"

mount_db
expect_exit 1 cat "$M/badconf/key=m"
expect_err "Input/output error"
ls "$M/badconf" >"$T/ls" || fail "ls badconf"
grep -qx "key=m" "$T/ls" || fail "ls does not list the failed ref: $(cat "$T/ls")"
grep -qx "key=m.error" "$T/ls" || fail "ls does not list its .error: $(cat "$T/ls")"
expect_exit 0 db ls --status failed
expect_out "badconf/key=m"
expect_exit 0 db events
grep '"partition_failed"' "$T/out" | grep -q '"badconf/key=m"' || fail "no partition_failed event"
expect_exit 0 db show badconf/key=m
expect_out "configure cannot read its settings"
pass "a configure failure from the mount is a failed partition in the catalog"

unmount_db
expect_exit 2 db build badconf/key=c
expect_exit 0 db ls --status failed
expect_out "badconf/key=c"
mount_db
grep -q "configure cannot read its settings" "$M/badconf/key=m.error" ||
	fail ".error after a remount: '$(cat "$M/badconf/key=m.error" 2>&1)'"
grep -q "configure cannot read its settings" "$M/badconf/key=c.error" ||
	fail ".error of a CLI failure: '$(cat "$M/badconf/key=c.error" 2>&1)'"
pass "the failure and its .error are kept across a remount, from the CLI too"

: >"$STATE/badconf.fixed"
[ "$(cat "$M/badconf/key=m")" = "badconf m" ] || fail "the fixed configure did not build"
[ ! -e "$M/badconf/key=m.error" ] || fail ".error outlived the success"
expect_exit 0 db ls --status failed
grep -q "badconf/key=m" "$T/out" && fail "still failed after a success"
expect_exit 0 db build badconf/key=c
expect_exit 0 db ls --status live badconf/
expect_out "badconf/key=c"
pass "the next success clears the failure"
