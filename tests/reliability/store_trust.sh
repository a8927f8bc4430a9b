#!/usr/bin/env bash
# A store that others could change is refused before anything is read or
# run (docs/security.md): group- or world-writable without the sticky bit,
# owned by another user, or a data/ that is a symbolic link. Every command
# exits 2 naming the path, its mode or owner, and the fix. Below data/,
# publishing follows no link.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

expect_exit 0 db build ok/a
S=$DATABUILD_STORE

# refused MODE-CHANGE TEXT: after the change, build, ls and mount exit 2 with TEXT.
refused() {
	local text=$1
	expect_exit 2 db build ok/refused
	expect_err "$text"
	expect_err "store '$S'"
	expect_exit 2 db ls
	expect_err "$text"
	if [ -e /dev/fuse ]; then
		expect_exit 2 db mount "$M"
		expect_err "$text"
		! is_mounted || fail "a refused store was mounted"
	fi
	[ "$(runs ok ok/refused)" = 0 ] || fail "a job ran on a refused store"
}

chmod 0777 "$S"
refused "'$S' is world-writable (mode 0777, owner "
expect_err "run 'chmod go-w $S'"
chmod 0770 "$S"
refused "'$S' is group-writable (mode 0770"
chmod 0700 "$S"
chmod 0775 "$S/data"
refused "'$S/data' is group-writable (mode 0775"
pass "group- and world-writable stores are refused, naming the fix"

# the sticky bit (as on /tmp) makes a shared directory safe enough
chmod 1777 "$S"
chmod 1775 "$S/data"
expect_exit 0 db build ok/b
chmod 0700 "$S"
chmod 0755 "$S/data"
pass "a sticky shared directory is accepted"

mv "$S/data" "$T/real-data"
ln -s "$T/real-data" "$S/data"
refused "'$S/data' is a symbolic link; databuild follows no link inside its store"
rm "$S/data"
mv "$T/real-data" "$S/data"
pass "a data/ that is a symbolic link is refused"

if [ "$(id -u)" = 0 ]; then
	chown nobody "$S"
	refused "'$S' is owned by nobody ("
	expect_err "not by you (uid 0) or root"
	chown root "$S"
	pass "a store owned by another user is refused"
fi

# Publishing never writes through a link found below data/.
mkdir "$T/elsewhere"
mv "$S/data/ok" "$T/elsewhere/ok"
ln -s "$T/elsewhere/ok" "$S/data/ok"
expect_exit 1 db build ok/through-link
expect_err "cannot publish output 'ok/through-link' to '$S/data/ok/through-link': a directory on the way is a symbolic link; databuild follows no link in its store"
[ ! -e "$T/elsewhere/ok/through-link" ] || fail "publishing wrote through a symbolic link"
rm "$S/data/ok"
mv "$T/elsewhere/ok" "$S/data/ok"
staging_empty || fail "staging not cleaned"
pass "publishing never writes through a link below data/"

expect_exit 0 db cat ok/a
[ "$(cat "$T/out")" = "ok ok/a" ] || fail "the store does not serve again once trusted"
pass "the store is used again once it is fixed"
