#!/usr/bin/env bash
# The documentation against the code: every command and every option that
# `databuild --help` and `databuild COMMAND --help` print is documented in
# docs/cli.md (in that command's section) and in the man page; every event
# type of the catalog is in docs/concepts.md; every relative link in the
# user documentation points at a file that exists.
. "$SOURCE_ROOT/tests/lib.sh"

D=$SOURCE_ROOT/docs
CLI=$D/cli.md
MAN=$D/databuild.1.scd

# options HELPTEXT: the options listed in the option lines of a --help text.
options() {
	awk '/^ +-/ {
		sub(/^ +/, "")
		split($0, part, /   */)
		n = split(part[1], tok, /[ ,=\[\]]+/)
		for (i = 1; i <= n; i++)
			if (tok[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) print tok[i]
	}'
}

# section FILE HEADING_RE END_RE: the lines from HEADING_RE to the next END_RE.
section() {
	awk -v h="$2" -v e="$3" '$0 ~ h { on = 1; print; next } on && $0 ~ e { exit } on { print }' "$1"
}

db --help >"$T/help" || fail "databuild --help failed"
commands=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' "$T/help")
[ "$(echo "$commands" | wc -w)" -ge 13 ] || fail "expected at least 13 commands in --help, got: $commands"

for opt in $(options <"$T/help"); do
	section "$CLI" '^## Global options' '^## ' | grep -qF -- "\`$opt" ||
		fail "global option '$opt' is not in the Global options of docs/cli.md"
	section "$MAN" '^# GLOBAL OPTIONS' '^# ' | grep -qF -- "*$opt*" ||
		fail "global option '$opt' is not in GLOBAL OPTIONS of the man page"
done

for cmd in $commands; do
	section "$CLI" "^## $cmd\$" '^## ' >"$T/cli-$cmd"
	[ -s "$T/cli-$cmd" ] || fail "command '$cmd' has no '## $cmd' section in docs/cli.md"
	grep -qF "databuild $cmd" "$T/cli-$cmd" || fail "docs/cli.md: section '$cmd' lacks its synopsis"
	section "$MAN" "^\\*$cmd\\*" '^(\*[a-z]+\*|#)' >"$T/man-$cmd"
	[ -s "$T/man-$cmd" ] || fail "command '$cmd' is not described in the man page"
	grep -qw -- "$cmd" "$SOURCE_ROOT/docs/databuild.bash-completion" ||
		fail "command '$cmd' is not completed by docs/databuild.bash-completion"
	db "$cmd" --help >"$T/help-$cmd" || fail "databuild $cmd --help failed"
	for opt in $(options <"$T/help-$cmd"); do
		case $opt in -h|--help) continue ;; esac
		grep -qF -- "\`$opt" "$T/cli-$cmd" ||
			fail "option '$opt' of '$cmd' is not documented in its section of docs/cli.md"
		grep -qF -- "*$opt*" "$T/man-$cmd" ||
			fail "option '$opt' of '$cmd' is not in the man page entry of '$cmd'"
	done
done
pass "every command and option is documented (cli.md, man page, completion)"

# Event types: every EV_ string of the catalog interface.
events=$(sed -n 's/^#define EV_[A-Z_]* *"\([a-z_]*\)".*/\1/p' "$SOURCE_ROOT/catalog/catalog.h")
[ -n "$events" ] || fail "no event types found in catalog/catalog.h"
for e in $events; do
	grep -qF "\`$e\`" "$D/concepts.md" || fail "event type '$e' is not listed in docs/concepts.md"
done
pass "every event type is in docs/concepts.md"

# Relative links.
for md in "$SOURCE_ROOT/README.md" "$D"/concepts.md "$D"/job-protocol.md "$D"/cli.md \
	"$D"/filesystem.md "$D"/operations.md "$SOURCE_ROOT/examples/podcast_reviews/README.md"; do
	[ -f "$md" ] || fail "missing document '$md'"
	grep -o '\]([^)#]*[^)]*)' "$md" | sed 's/^](//; s/)$//; s/#.*//' | sort -u | while read -r link; do
		case $link in ''|http://*|https://*|mailto:*) continue ;; esac
		[ -e "$(dirname "$md")/$link" ] || fail "$md: link '$link' points nowhere"
	done || exit 1
done
pass "relative links resolve"

# The README names the three commands a newcomer needs, and they exist.
for s in scripts/demo scripts/test scripts/setup; do
	grep -qF "$s" "$SOURCE_ROOT/README.md" || fail "README.md does not name $s"
	[ -x "$SOURCE_ROOT/$s" ] || fail "$s is not an executable"
done
pass "README names scripts/demo, scripts/test and scripts/setup"
