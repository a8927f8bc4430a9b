#!/usr/bin/env bash
# A job's signal dispositions, in configure and in exec: the signals a
# daemon handles or ignores (INT, PIPE, ...) start at their default action
# even when databuild's parent ignored them; any other signal its parent
# ignored stays ignored (as exec keeps SIG_IGN: nohup, a shell's
# background jobs). Local executor only: srun sets up its own.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G"
cat >"$G/job.sh" <<'JOB'
#!/bin/sh
# configure REF: its SigIgn line into $SIG_STATE/configure, one JobConfig
# exec D: its SigIgn line as the bytes of sig/D
set -eu
if [ "$1" = configure ]; then
	grep '^SigIgn:' /proc/self/status >"$SIG_STATE/configure"
	printf '[{"outputs":["%s"],"inputs":[],"args":["%s"]}]\n' "$2" "${2#sig/}"
	exit 0
fi
mkdir -p "$DATABUILD_OUTPUT_DIR/sig"
grep '^SigIgn:' /proc/self/status >"$DATABUILD_OUTPUT_DIR/sig/$2"
JOB
chmod +x "$G/job.sh"
printf '{"name":"signals","jobs":[{"label":"sig","outputs":["sig/{d}"],"version":"1.0.0",%s}]}\n' \
	'"configure":["./job.sh","configure"],"exec":["./job.sh","exec"]' >"$G/databuild.json"
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store SIG_STATE=$T
unset DATABUILD_EXECUTOR

# is_ignored FILE SIGNAL-NUMBER: the SigIgn mask in FILE has the signal's bit
is_ignored() {
	local mask
	mask=$(awk '$1 == "SigIgn:" { print $2 }' "$1")
	[ -n "$mask" ] || fail "no SigIgn line in $1: $(cat "$1")"
	(((16#$mask >> ($2 - 1)) & 1))
}
PROF=$(kill -l PROF) INT=$(kill -l INT) PIPE=$(kill -l PIPE) HUP=$(kill -l HUP)

# started by a parent that ignores PROF, INT, PIPE and HUP
(trap '' PROF INT PIPE HUP && exec "$DATABUILD" build sig/a) >"$T/out" 2>"$T/err" ||
	{ cat "$T/err"; fail "build of sig/a failed"; }
for f in "$T/configure" "$T/store/data/sig/a"; do
	is_ignored "$f" "$PROF" || fail "$f: PROF ignored by databuild's parent is not ignored: $(cat "$f")"
	for s in INT PIPE HUP; do
		! is_ignored "$f" "${!s}" || fail "$f: $s is still ignored: $(cat "$f")"
	done
done
pass "configure and exec inherit PROF ignored, start INT, PIPE and HUP at their default"

# started by a parent that ignores nothing: nothing is ignored
db build sig/b >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "build of sig/b failed"; }
for f in "$T/configure" "$T/store/data/sig/b"; do
	! is_ignored "$f" "$PROF" || fail "$f: PROF is ignored: $(cat "$f")"
done
pass "a parent that ignores no signal: the job ignores none"
