#!/usr/bin/env bash
# `databuild init` writes the graph of docs/getting-started.md, and that
# graph works as written: a source of CSV files, a job in sh, a job in
# Python, over a domain of three days. init never overwrites a file.
. "$SOURCE_ROOT/tests/lib.sh"

dir=$T/first
expect_exit 0 db init "$dir"
expect_out "wrote a first graph into $dir"
for f in databuild.json jobs/clean.sh jobs/report.py drops/2024-01-01.csv drops/2024-01-02.csv \
	drops/2024-01-03.csv; do
	[ -f "$dir/$f" ] || fail "init did not write $f"
done
[ -x "$dir/jobs/clean.sh" ] && [ -x "$dir/jobs/report.py" ] || fail "the jobs are not executable"
cp "$dir/databuild.json" "$T/graph.before"
pass "init writes a graph, two jobs and a source's files"

cd "$dir"
unset DATABUILD_GRAPH DATABUILD_STORE
expect_exit 0 db cat report/date=2024-01-02
printf 'product\tquantity\trevenue\napples\t5\t2.50\nplums\t1\t1.20\n' >"$T/want"
diff "$T/want" "$T/out" || fail "the report of 2024-01-02"
expect_exit 0 db cat clean/orders/date=2024-01-02
grep -q '^#' "$T/out" && fail "the clean job kept a comment"
expect_exit 0 db build report/date=2024-01-01 report/date=2024-01-03
expect_out "built"
expect_exit 0 db ls --status live report/
[ "$(grep -c '^live' "$T/out")" = 3 ] || fail "not three live reports: $(cat "$T/out")"
pass "the graph builds: source, sh job, Python job"

expect_exit 2 db init "$dir"
expect_err "exists already"
cmp -s "$T/graph.before" "$dir/databuild.json" || fail "init overwrote databuild.json"
pass "init refuses to overwrite"
