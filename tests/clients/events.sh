#!/usr/bin/env bash
# tail -f of the live events file follows the builds as they happen.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
mount_db
cat "$M/sizes/day=E0" >/dev/null || fail "cannot build sizes/day=E0"

tail -n 0 -f "$M/.databuild/events" >"$T/tail" 2>"$T/tail.err" &
tailpid=$!
has() { grep -q "$1" "$T/tail"; }
# tail -f polls (once a second); the reads below reach it as it goes
cat "$M/sizes/day=E1" >/dev/null || fail "cannot build sizes/day=E1"
poll_until 30 has '"ref":"sizes/day=E1"'
db build sizes/day=E2 >/dev/null 2>&1 || fail "databuild build"
poll_until 30 has 'sizes/day=E2'
kill "$tailpid"
wait "$tailpid" 2>/dev/null
! grep -q 'sizes/day=E0' "$T/tail" || fail "tail -n 0 -f showed an event from before it started"
"${PY:-python3}" -c 'import json, sys
for line in open(sys.argv[1]): json.loads(line)' "$T/tail" || fail "a line tail -f read is not JSON"
pass "tail -f .databuild/events follows builds through the mount and the CLI"
