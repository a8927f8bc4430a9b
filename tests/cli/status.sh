#!/usr/bin/env bash
# databuild status: counts by state per dataset over its domain, the
# health bar, failures with their reason, --partitions, --json, dataset
# arguments, an open-ended dataset, and the time over a 100,000-value
# domain.
. "$SOURCE_ROOT/tests/cli/lib_domains.sh"

# an empty catalog: everything in the domains is missing
expect_exit 0 db status --json
expect_out '{"dataset":"raw","total":1098,"live":0,"stale":0,"failed":0,"building":0,"damaged":0,"missing":1098,'
expect_out '{"dataset":"report","total":366,"live":0,"stale":0,"failed":0,"building":0,"damaged":0,"missing":366,'
expect_out '{"dataset":"shard","total":100000,"live":0,'
expect_out '{"dataset":"free","total":0,"live":0,'
expect_exit 0 db build --dry-run 'report/date=2024-01-0[12]'
[ "$(cat "$T/out")" = "$(printf 'missing  report/date=2024-01-01\nmissing  report/date=2024-01-02')" ] ||
	fail "dry run without a store: $(cat "$T/out")"
[ ! -e "$DATABUILD_STORE" ] || fail "status or a dry run created the store"
pass "status of an empty catalog (no store is created)"

# live, failed (with its reason), stale, missing; the catalog's states exactly
echo 2024-01-03 >"$STATE/fail"
expect_exit 1 db build -k -j 4 'report/date=2024-01-0[1-4]' free/key=a free/key=b
rm "$STATE/fail"
expect_exit 0 db taint report/date=2024-01-01
expect_exit 0 db build -j 4 'shard/n=0..1999'
expect_exit 0 db status --json
expect_out '{"dataset":"raw","total":1098,"live":9,"stale":0,"failed":3,"building":0,"damaged":0,"missing":1086,'
expect_out '{"dataset":"report","total":366,"live":2,"stale":1,"failed":0,"building":0,"damaged":0,"missing":363,'
expect_out '{"dataset":"shard","total":100000,"live":2000,"stale":0,"failed":0,"building":0,"damaged":0,"missing":98000,'
expect_out '{"dataset":"free","total":2,"live":2,"stale":0,"failed":0,"building":0,"damaged":0,"missing":0,"job":"free","pattern":"free/key={key}","open_ended":true'
expect_out '"failures":[{"ref":"raw/station='
expect_out '/date=2024-01-03","error":"'
pass "status --json counts each state exactly"

# the health bar: one cell per partition when the domain fits
expect_exit 0 db status report --width 400 --json
bar=$(sed 's/.*"bar":"\([^"]*\)".*/\1/' "$T/out")
[ "${#bar}" -eq 366 ] || fail "bar of report: ${#bar} cells, not 366"
[ "${bar:0:5}" = "~#.#." ] || fail "bar of report starts '${bar:0:5}', not '~#.#.'"
expect_exit 0 db status shard
expect_out "shard  (job shards: shard/n={n})  100000 partitions"
expect_out "2000 live, 98000 missing"
expect_out "[#+$(printf '.%.0s' $(seq 58))]"
expect_exit 0 db status raw
expect_out "9 live, 3 failed, 1086 missing"
expect_out "X"
grep -Eq '^  failed [0-9T:-]+Z  raw/station=[a-z]+/date=2024-01-03: ' "$T/out" ||
	{ cat "$T/out"; fail "no failure line with its reason"; }
pass "health bars and failures"

# --partitions: every partition of the domain in order, with its state
expect_exit 0 db status report --partitions
grep -c '^  [a-z]* *report/date=' "$T/out" | grep -qx 366 || fail "--partitions: not 366 lines"
grep -q '^  stale    report/date=2024-01-01$' "$T/out" || fail "--partitions: 01-01 not stale"
grep -q '^  missing  report/date=2024-12-31$' "$T/out" || fail "--partitions: 12-31 not missing"
[ "$(grep '^  [a-z]* *report/' "$T/out" | head -1 | awk '{print $2}')" = report/date=2024-01-01 ] ||
	fail "--partitions: not in domain order"
expect_exit 0 db status free --partitions --json
expect_out '"partitions":[{"ref":"free/key=a","state":"live"},{"ref":"free/key=b","state":"live"}]'
pass "status --partitions"

# arguments: a dataset, a prefix, a glob; one that matches nothing
expect_exit 0 db status --json rep
expect_out '"dataset":"report"'
! grep -q '"dataset":"raw"' "$T/out" || fail "prefix 'rep' kept raw"
expect_exit 0 db status --json 'r*'
expect_out '"dataset":"raw"'
expect_out '"dataset":"report"'
! grep -q '"dataset":"shard"' "$T/out" || fail "glob 'r*' kept shard"
expect_exit 2 db status nothing
expect_err "status: 'nothing' matches no dataset (datasets: raw, report, shard, free)"
expect_exit 2 db status --width 0
expect_err "status: option '--width'"
pass "status arguments"

# 100,000 partitions in the domain: well under the 500 ms bound
start=$(date +%s%N)
expect_exit 0 db status shard
ms=$((($(date +%s%N) - start) / 1000000))
echo "status of a 100,000-partition domain (2,000 built): $ms ms"
[ "$ms" -lt 5000 ] || fail "status took $ms ms"
pass "status over a 100,000-value domain"
