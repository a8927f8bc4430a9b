#!/usr/bin/env bash
# The three example jobs of docs/job-protocol.md (sh, Python, C), extracted
# from the page and built with databuild: each must produce the same bytes.
. "$SOURCE_ROOT/tests/lib.sh"

DOC=$SOURCE_ROOT/docs/job-protocol.md

# extract HEADING LANG: the first ```LANG block after the line "### HEADING".
extract() {
	awk -v h="### $1" -v open="\`\`\`$2" '
		$0 == h { in_section = 1; next }
		in_section && !in_block && $0 == open { in_block = 1; next }
		in_block && $0 == "```" { exit }
		in_block { print }' "$DOC"
}

mkdir -p "$T/jobs"
extract "POSIX sh" sh >"$T/jobs/counts.sh"
extract "Python" python >"$T/jobs/counts.py"
extract "C" c >"$T/jobs/counts.c"
for f in counts.sh counts.py counts.c; do
	[ -s "$T/jobs/$f" ] || fail "no example block for $f in $DOC"
done
chmod +x "$T/jobs/counts.sh" "$T/jobs/counts.py"
cc -std=c11 -Wall -Wextra -Werror -o "$T/jobs/counts" "$T/jobs/counts.c" || fail "the C example does not compile cleanly"

# The upstream: events/date=D holds as many lines as D's day of the month.
cat >"$T/jobs/events.sh" <<'JOB'
#!/bin/sh
set -eu
if [ "$1" = configure ]; then
	shift
	printf '['
	sep=
	for ref in "$@"; do
		printf '%s{"outputs":["%s"],"args":["%s"]}' "$sep" "$ref" "${ref#events/date=}"
		sep=,
	done
	echo ']'
else
	mkdir -p "$DATABUILD_OUTPUT_DIR/events"
	seq "${2#*-*-}" | sed 's/^/event /' >"$DATABUILD_OUTPUT_DIR/events/date=$2"
fi
JOB
chmod +x "$T/jobs/events.sh"

command -v python3 >/dev/null || fail "python3 is missing"
for exe in counts.sh counts.py counts; do
	cat >"$T/graph-$exe.json" <<JSON
{"name": "protocol_$exe", "jobs": [
  {"label": "events", "outputs": ["events/date={date}"],
   "configure": ["jobs/events.sh", "configure"], "exec": ["jobs/events.sh", "exec"]},
  {"label": "counts", "outputs": ["counts/date={date}"],
   "configure": ["jobs/$exe", "configure"], "exec": ["jobs/$exe", "exec"]}]}
JSON
	new_test_catalog  # each store its own catalog
	expect_exit 0 db --graph "$T/graph-$exe.json" --store "$T/store-$exe" \
		cat counts/date=2024-05-07 counts/date=2024-05-12
	printf '7\n12\n' | cmp -s - "$T/out" || { cat "$T/out"; fail "$exe: wrong counts"; }
	expect_exit 2 db --graph "$T/graph-$exe.json" --store "$T/store-$exe" \
		build 'counts/date=x"y'
	pass "$exe"
done
