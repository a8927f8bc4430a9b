#!/usr/bin/env bash
# databuild build over domains: globs and ranges expanded in domain order,
# each job run once per partition, --missing / --stale / --failed,
# --dry-run, a killed backfill resumed, refs outside the domain (exit 2).
. "$SOURCE_ROOT/tests/cli/lib_domains.sh"

# each of the nine dates' report and three raws runs exactly once
expect_exit 0 db build -j 4 'report/date=2024-02-0[1-9]'
expect_out "36 built, 0 up to date"
expect_out "progress: 36/36 jobs done, 0 failed"
[ "$(wc -l <"$RUNLOG")" -eq 36 ] || { cat "$RUNLOG"; fail "glob backfill: expected 36 runs"; }
for d in 01 02 03 04 05 06 07 08 09; do
	[ "$(runs report "report/date=2024-02-$d")" -eq 1 ] || fail "report of 2024-02-$d did not run once"
	for s in north south east; do
		[ "$(runs ingest "raw/station=$s/date=2024-02-$d")" -eq 1 ] ||
			fail "ingest of $s 2024-02-$d did not run once"
	done
done
[ "$(sort -u "$RUNLOG" | wc -l)" -eq 36 ] || fail "a job ran twice"
pass "a glob backfill of nine dates runs each job once"

# the same command again: everything is live, nothing runs
expect_exit 0 db build -j 4 'report/date=2024-02-0[1-9]'
[ "$(wc -l <"$RUNLOG")" -eq 36 ] || fail "the repeated backfill ran jobs"
pass "a repeated backfill runs nothing"

# ranges, inclusive and in domain order; --dry-run shows states
expect_exit 0 db build --dry-run 'report/date=2024-02-08..2024-02-12'
diff - "$T/out" <<OUT || fail "dry run: wrong listing"
live     report/date=2024-02-08
live     report/date=2024-02-09
missing  report/date=2024-02-10
missing  report/date=2024-02-11
missing  report/date=2024-02-12
OUT
expect_err "dry run: 5 partitions: 2 live, 3 missing; nothing was built"
expect_exit 0 db build -n --missing 'report/date=2024-02-08..2024-02-12'
[ "$(wc -l <"$T/out")" -eq 3 ] || fail "--missing --dry-run: $(cat "$T/out")"
expect_err "dry run: 3 partitions (missing, of 5 selected): 3 missing"
[ "$(wc -l <"$RUNLOG")" -eq 36 ] || fail "--dry-run ran jobs"
expect_exit 0 db build --missing 'report/date=2024-02-08..2024-02-12'
expect_out "12 built, 0 up to date"
[ "$(runs report report/date=2024-02-12)" -eq 1 ] && [ "$(runs report report/date=2024-02-09)" -eq 1 ] ||
	fail "--missing: wrong runs"
pass "ranges, --dry-run and --missing"

# failures, --keep-going, then --failed rebuilds exactly the failed ones
echo 2024-03-02 >"$STATE/fail"
expect_exit 1 db build -k 'report/date=2024-03-0[1-3]'
expect_out "FAILED ingest"
expect_out "progress: 12/12 jobs done, 3 failed"
rm "$STATE/fail"
expect_exit 0 db build -n --failed 'raw/station=*/date=2024-03-*'
diff - "$T/out" <<OUT || fail "--failed --dry-run: wrong listing"
failed   raw/station=north/date=2024-03-02
failed   raw/station=south/date=2024-03-02
failed   raw/station=east/date=2024-03-02
OUT
before=$(wc -l <"$RUNLOG")
expect_exit 0 db build --failed 'raw/station=*/date=2024-03-*'
expect_out "3 built, 0 up to date"
[ $(($(wc -l <"$RUNLOG") - before)) -eq 3 ] || fail "--failed ran other jobs"
expect_exit 0 db build --failed 'raw/station=*/date=2024-03-*'
expect_out "nothing to build: none of the 93 selected partitions is failed"
expect_exit 0 db build --missing --failed 'report/date=2024-03-0[1-3]'
expect_out "1 built, 0 up to date"
pass "--failed and --missing after a failed backfill"

# --stale: what the catalog records as stale or tainted
expect_exit 0 db taint report/date=2024-03-01
expect_exit 0 db build -n --stale 'report/date=2024-03-*'
[ "$(cat "$T/out")" = "stale    report/date=2024-03-01" ] || fail "--stale: $(cat "$T/out")"
before=$(wc -l <"$RUNLOG")
expect_exit 0 db build --stale 'report/date=2024-03-*'
[ $(($(wc -l <"$RUNLOG") - before)) -eq 1 ] && [ "$(runs report report/date=2024-03-01)" -eq 2 ] ||
	fail "--stale did not rebuild just the tainted partition"
pass "--stale"

# a killed backfill, resumed by the same command, runs only what was left
echo raw/station=north/date=2024-04-05 >"$STATE/block"
"$DATABUILD" build -j 2 'report/date=2024-04-0[1-9]' >"$T/bf.out" 2>&1 &
pid=$!
# (wait until all but the blocked chain is live, so that only it is in
# flight when the backfill is killed, whatever the executor's latency)
left() { [ "$("$DATABUILD" ls --status live report/ 2>/dev/null | grep -c 'report/date=2024-04-0')" -ge 8 ]; }
poll_until 60 left
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || { cat "$T/bf.out"; fail "interrupted backfill exited $rc, not 130"; }
touch "$STATE/go"
expect_exit 0 db build -j 2 'report/date=2024-04-0[1-9]'
expect_out "2 built, 0 up to date"
for d in 01 02 03 04 05 06 07 08 09; do
	[ "$(runs report "report/date=2024-04-$d")" -eq 1 ] || fail "report 2024-04-$d: not once"
	for s in north south east; do
		[ "$(runs ingest "raw/station=$s/date=2024-04-$d")" -eq 1 ] ||
			fail "ingest $s 2024-04-$d: not once"
	done
done
pass "a killed backfill resumes where it stopped"

# outside the domain, globs over open-ended variables, empty selections
for cmd in build cat exec; do
	expect_exit 2 db "$cmd" report/date=2025-01-01
	expect_err "ref 'report/date=2025-01-01' is outside the partitions of job 'report': variable 'date': date '2025-01-01' is outside domain 'day2024' (dates 2024-01-01..2024-12-31)"
done
expect_exit 2 db build raw/station=west/date=2024-01-01
expect_err "variable 'station': 'west' is not in domain 'station' (values north, south, east)"
expect_exit 2 db build 'free/key=*'
expect_err "variable 'key' of job 'free' has no domain: glob '*' needs one"
expect_exit 2 db build 'report/date=2025-*'
expect_err "'report/date=2025-*' selects no partition of job 'report'"
expect_exit 2 db build 'report/date=2024-03-01..2024-02-01'
expect_err "variable 'date' of job 'report'"
expect_exit 0 db build free/key=x free/key=a..b
expect_out "2 built"
[ "$(runs free free/key=x)" -eq 1 ] && [ "$(runs free free/key=a..b)" -eq 1 ] ||
	fail "open-ended plain refs did not build (\"..\" is text there)"
pass "refs outside their domain and bad selections exit 2"
