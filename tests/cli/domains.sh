#!/usr/bin/env bash
# databuild domains [refresh]: every domain with its kind, count and
# bounds; a command domain run, refreshed, failing.
. "$SOURCE_ROOT/tests/cli/lib_domains.sh"

expect_exit 0 db domains
expect_out "day2024          dates           366  dates 2024-01-01..2024-12-31  (used by ingest.date, report.date)"
expect_out "station          values            3  values north, south, east  (used by ingest.station)"
expect_out "shard            ints         100000  ints 0..99999  (used by shards.n)"
expect_exit 0 db domains --json
expect_out '{"domains":[{"name":"day2024","kind":"dates","count":366,"description":"dates 2024-01-01..2024-12-31","used_by":["ingest.date","report.date"]},'
pass "domains lists kind, count and bounds"

# show of a ref the catalog lacks: missing, outside the domain, or no job's
expect_exit 1 db show report/date=2024-03-01
expect_err "databuild: 'report/date=2024-03-01' is not in the catalog (status: missing)"
expect_exit 1 db show report/date=2025-03-01
expect_err "databuild: 'report/date=2025-03-01' is not in the catalog: ref 'report/date=2025-03-01' is outside the partitions of job 'report': variable 'date': date '2025-03-01' is outside domain 'day2024'"
expect_exit 1 db show nope/x=1
expect_err "databuild: 'nope/x=1' is not in the catalog: no job produces 'nope/x=1' (patterns: "
pass "show names a ref outside every job or domain as such"

# a command domain and an inline one
C=$T/cmdgraph
mkdir -p "$C/jobs"
cp "$G/jobs/job.sh" "$C/jobs/job.sh"
printf '#!/bin/sh\ncat customers.txt\n' >"$C/jobs/customers.sh"
chmod +x "$C/jobs/customers.sh"
printf 'acme\nglobex\n' >"$C/customers.txt"
cat >"$C/databuild.json" <<'JSON'
{"name": "cmd", "domains": {"customer": {"command": ["jobs/customers.sh"]}},
 "jobs": [{"label": "bill", "outputs": ["bill/customer={c}/week={w}"],
           "partitions": {"c": "customer", "w": {"ints": {"start": 1, "end": 52}}},
           "configure": ["jobs/job.sh", "configure", "bill"], "exec": ["jobs/job.sh", "exec"]}]}
JSON
expect_exit 0 db --graph "$C/databuild.json" domains
expect_out "customer         command           2  command $C/jobs/customers.sh: 2 values  (used by bill.c)"
expect_out "bill.w           ints             52  ints 1..52  (used by bill.w)"
printf 'acme\nglobex\ninitech\n' >"$C/customers.txt"
expect_exit 0 db --graph "$C/databuild.json" domains refresh
expect_out "customer         command           3  command"
expect_exit 0 db --graph "$C/databuild.json" --store "$T/cstore" status --json
expect_out '"dataset":"bill","total":156,'
pass "command and inline domains, refresh"

# a failing command: exit 2 naming the domain
printf '#!/bin/sh\necho "no customers today" >&2\nexit 4\n' >"$C/jobs/customers.sh"
expect_exit 2 db --graph "$C/databuild.json" domains refresh
expect_err "domain 'customer': command '$C/jobs/customers.sh' exited with status 4"
expect_exit 2 db --graph "$C/databuild.json" domains
expect_err "domain 'customer'"
expect_exit 2 db --graph "$C/databuild.json" --store "$T/cstore" status
expect_err "domain 'customer'"
expect_exit 2 db domains bogus
expect_err "domains: unknown argument 'bogus' (expected nothing or 'refresh')"
pass "a failing command domain exits 2"
