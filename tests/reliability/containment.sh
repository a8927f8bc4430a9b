#!/usr/bin/env bash
# A job's processes cannot outlive it: a helper that left the job's process
# group with setsid, holding an output open to write after the job exits,
# is killed before the outputs are checked, so the published bytes stay the
# published bytes. One that also cleared its environment cannot be told
# apart from other processes: it is caught holding the output open for
# writing, and nothing is published.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

gone() { ! kill -0 "$1" 2>/dev/null; }

expect_exit 0 db build escape/a
pid=$(cat "$STATE/escape-a.pid")
: >"$STATE/escape.go"
poll_until 20 gone "$pid"
[ "$(cat "$(data escape/a)")" = "good escape/a" ] ||
	fail "a helper of the job changed published bytes: $(cat "$(data escape/a)")"
catalog_agrees || fail "the published bytes no longer match the catalog"
expect_exit 0 db cat escape/a
[ "$(cat "$T/out")" = "good escape/a" ] || fail "databuild cat served '$(cat "$T/out")'"
pass "a setsid helper holding an output open is killed before publishing"

expect_exit 1 db build escape_noenv/a
pid=$(cat "$STATE/escape_noenv-a.pid")
at_exit "kill -9 $pid 2>/dev/null"
expect_err "exited 0 but its output 'escape_noenv/a' is still open for writing by a process it started"
expect_err "nothing was published"
[ ! -e "$(data escape_noenv/a)" ] || fail "an output held open for writing was published"
expect_exit 0 db ls --status live escape_noenv/
[ ! -s "$T/out" ] || fail "escape_noenv/a is live"
staging_empty || fail "staging not cleaned"
kill -9 "$pid"
poll_until 20 gone "$pid"
pass "an output still open for writing fails the run, nothing published"
