#!/usr/bin/env bash
# A generated layered graph (gen_synthetic.sh, the benchmark's generator at a
# small size): every partition planned once, one configure call per wave,
# every edge present, and the plan runs.
. "$SOURCE_ROOT/tests/lib.sh"

S=$T/synthetic
"$SOURCE_ROOT/tests/planner/gen_synthetic.sh" "$S" 5 400 3555 >/dev/null
mapfile -t refs <"$S/refs.txt"
[ "${#refs[@]}" -eq 400 ] || fail "expected 400 requested refs"

expect_exit 0 db -v --graph "$S/databuild.json" plan --format json "${refs[@]}"
expect_err "planned 2000 jobs"
expect_err "(2000 refs resolved, 5 configure calls, 0 pruned, freshness keys)"
[ "$(grep -o '"from":' "$T/out" | wc -l)" -eq 3555 ] || fail "expected 3555 edges"
[ "$(grep -o '"id":' "$T/out" | wc -l)" -eq 2000 ] || fail "expected 2000 nodes"
pass "2,000 partitions, 3,555 edges: planned with one configure per wave"

expect_exit 0 db --graph "$S/databuild.json" build -j 2 "${refs[@]:0:20}"
expect_exit 0 db -v --graph "$S/databuild.json" plan --format json "${refs[@]:0:20}"
expect_err "planned 0 jobs"
expect_exit 0 db -v --graph "$S/databuild.json" plan --format json --freshness presence "${refs[@]:0:20}"
expect_err "planned 0 jobs in"
expect_err "(0 refs resolved, 0 configure calls, 20 pruned, freshness presence)"
pass "after building 20 of them: nothing to plan (keys and presence)"
