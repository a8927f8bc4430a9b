#!/usr/bin/env bash
# Planning hundreds of refs: on a catalog that answers many lookups in one
# round trip (PostgreSQL) the planner looks the requested refs and each
# wave's inputs up 512 to a statement; the plan must be the one a lookup
# per ref gives. Live refs sit on both sides of the 512 boundary.
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"

live=(leaf/p-0 leaf/p-511 leaf/p-512 leaf/p-599 leaf/g0-0 leaf/g0-1 leaf/g0-2 leaf/g0-3 leaf/g0-4 leaf/g110-4)
expect_exit 0 db build -j 4 "${live[@]}"

refs=()
for ((k = 0; k < 600; k++)); do refs+=("leaf/p-$k"); done
expect_exit 0 db plan --format text "${refs[@]}"
expect_out "596 jobs to run for 600 requested partitions (4 up to date, 0 live inputs pruned)"
pass "600 requested refs, 4 of them live across the 512 boundary: 596 jobs"

groups=()
for ((k = 0; k < 120; k++)); do groups+=("group/g$k"); done
expect_exit 0 db plan --format text "${groups[@]}"
# 600 leaves read, 6 of them live: 594 leaf jobs and 120 group jobs
expect_out "714 jobs to run for 120 requested partitions (0 up to date, 6 live inputs pruned)"
pass "120 groups reading 600 leaves, 6 of them live: 714 jobs"

expect_exit 0 db plan "${groups[@]}"
for r in leaf/g0-0 leaf/g0-4 leaf/g110-4; do
	grep -qF "{\"ref\":\"$r\",\"job\":\"leaf\"}" "$T/out" ||
		{ grep -o '"pruned.*' "$T/out"; fail "'$r' is not listed as pruned with its job"; }
done
pass "the pruned inputs are listed with the job that published them"
