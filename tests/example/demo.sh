#!/usr/bin/env bash
# scripts/demo as a newcomer runs it (through a mount, and again without
# FUSE): it must succeed, show the chain being built and its results, take
# well under 30 s, and leave no mount, process or file behind.
. "$SOURCE_ROOT/tests/lib.sh"

mode=${1:-fuse}
if [ "$mode" = fuse ]; then
	need_fuse
	unset DATABUILD_DEMO_NO_FUSE
else
	export DATABUILD_DEMO_NO_FUSE=1
fi
mkdir -p "$T/tmp"
start=$SECONDS
TMPDIR=$T/tmp BUILDDIR=$BUILD_ROOT "$SOURCE_ROOT/scripts/demo" >"$T/demo.out" 2>&1 || {
	cat "$T/demo.out"
	fail "scripts/demo exited with status $?"
}
took=$((SECONDS - start))
[ "$took" -lt 30 ] || fail "scripts/demo took ${took}s, expected under 30"

out() { grep -qF -- "$1" "$T/demo.out" || { cat "$T/demo.out"; fail "demo output lacks: $1"; }; }
out "[57/57] weekly_rollup  weekly/week_ending=2024-01-07"
out "rank	category	reviews	rating_sum	mean_rating	days_ranked_first"
out "flowchart"
out "0 live, 155 missing"    # databuild status before the read: the whole space
out "35 live, 120 missing"   # ... and after it
out "n8[\"weekly_rollup<br/>weekly/week_ending=2024-01-08\"]"
out "serving http://127.0.0.1:"
out "\"datasets\""
if [ "$mode" = fuse ]; then
	out "date=2024-01-07.manifest.json"
	out "\"job\": \"daily_summary\""
	out "user.databuild.status=\"live\""
	out "user.databuild.status=\"missing\""
	out "unmounted"
else
	out "manifest (run"
fi

grep -qF "$T/tmp" /proc/mounts && fail "a mount is left behind"
if pgrep -f "$T/tmp" >/dev/null; then
	pgrep -af "$T/tmp" >&2
	fail "processes are left behind"
fi
[ -z "$(ls -A "$T/tmp")" ] || fail "files are left behind in TMPDIR: $(ls -A "$T/tmp")"
pass "scripts/demo ($mode) in ${took}s"
