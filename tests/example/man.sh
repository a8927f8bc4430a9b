#!/usr/bin/env bash
# The man page that meson builds with scdoc renders with man(1) and
# describes every command of the binary.
. "$SOURCE_ROOT/tests/lib.sh"

page=$BUILD_ROOT/docs/databuild.1
[ -s "$page" ] || fail "'$page' was not built"
grep -q '^\.TH "databuild" "1"' "$page" || fail "'$page' has no .TH header"

if command -v man >/dev/null; then
	MANPAGER=cat PAGER=cat MANWIDTH=80 man "$page" >"$T/rendered" 2>"$T/err" ||
		{ cat "$T/err"; fail "man '$page' failed"; }
elif command -v nroff >/dev/null; then
	nroff -man "$page" >"$T/rendered" || fail "nroff -man '$page' failed"
else
	skip "neither man nor nroff is installed"
fi
[ ! -s "$T/err" ] || { cat "$T/err"; fail "man printed warnings"; }
for heading in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS "THE MOUNT" ENVIRONMENT FILES \
	"EXIT STATUS" EXAMPLES "SEE ALSO"; do
	grep -q "^$heading" "$T/rendered" || fail "the rendered page lacks the section $heading"
done
for cmd in $(db --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	grep -Eq "^ +$cmd( |$)" "$T/rendered" || fail "the rendered page does not describe '$cmd'"
done
pass "man $page renders"
