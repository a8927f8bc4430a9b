#!/usr/bin/env bash
# The podcast reviews example built end to end with `databuild build`:
# every partition of the chain, the weekly rollup's numbers recomputed here
# straight from the raw reviews, one run per config, a no-op rebuild, early
# cutoff after a change that does not alter bytes, and semver invalidation.
. "$SOURCE_ROOT/tests/lib.sh"

EX=$SOURCE_ROOT/examples/podcast_reviews
LEADERBOARD=$BUILD_ROOT/examples/podcast_reviews/leaderboard
[ -x "$LEADERBOARD" ] || fail "'$LEADERBOARD' is not built"

# A private copy of the example, so that the test can edit jobs.
mkdir -p "$T/ex"
cp -R "$EX/jobs" "$T/ex/"
sed "s|\"../../build/examples/podcast_reviews/leaderboard\"|\"$LEADERBOARD\"|" \
	"$EX/databuild.json" >"$T/ex/databuild.json"
G=$T/ex/databuild.json
S=$T/store
dbx() { db --graph "$G" --store "$S" "$@"; }

week=2024-01-07
dates="2024-01-01 2024-01-02 2024-01-03 2024-01-04 2024-01-05 2024-01-06 2024-01-07"
categories="comedy news science sports true_crime"

# started JOB: how many runs of JOB the catalog has seen start.
started() { dbx events | grep '"type":"job_started"' | grep -c "\"job\":\"$1\"" || true; }

expect_exit 0 dbx build -j 2 "weekly/week_ending=$week"
pass "build weekly/week_ending=$week"

# Every partition of the chain is live, 7 + 35 + 35 + 7 + 1 of them.
refs=("weekly/week_ending=$week")
for d in $dates; do
	refs+=("reviews/date=$d" "leaderboard/date=$d")
	for c in $categories; do
		refs+=("categorized/category=$c/date=$d" "summaries/category=$c/date=$d")
	done
done
[ ${#refs[@]} -eq 85 ] || fail "expected 85 refs, listed ${#refs[@]}"
for r in "${refs[@]}"; do
	expect_exit 0 dbx path "$r"
	[ -f "$(cat "$T/out")" ] || fail "'$r': path '$(cat "$T/out")' is not a file"
done
pass "85 partitions live"

# One run per config: categorize makes all five categories of a date at once.
[ "$(started ingest_reviews)" -eq 7 ] || fail "ingest_reviews ran $(started ingest_reviews) times, expected 7"
[ "$(started categorize)" -eq 7 ] || fail "categorize ran $(started categorize) times, expected 7"
[ "$(started daily_summary)" -eq 35 ] || fail "daily_summary ran $(started daily_summary) times, expected 35"
[ "$(started leaderboard)" -eq 7 ] || fail "leaderboard ran $(started leaderboard) times, expected 7"
[ "$(started weekly_rollup)" -eq 1 ] || fail "weekly_rollup ran $(started weekly_rollup) times, expected 1"
pass "one run per config (57 runs)"

# The raw reviews are the generator's reproducible bytes.
for d in $dates; do
	"$EX/jobs/ingest_reviews" generate "$d" >"$T/raw-$d" || fail "generate $d"
	dbx cat "reviews/date=$d" >"$T/got-$d" || fail "cat reviews/date=$d"
	cmp -s "$T/raw-$d" "$T/got-$d" || fail "reviews/date=$d differs from the generator's output"
done
n=$(cat "$T"/raw-* | grep -vc '^podcast	')
[ "$n" -ge 2100 ] && [ "$n" -le 3500 ] || fail "a week of reviews has $n rows, expected 2100..3500"
pass "raw reviews reproducible ($n reviews)"

# The weekly rollup, recomputed from the raw reviews alone: per category the
# week's count and rating sum, the days it had the best mean rating, and
# the podcast with the best mean most often. Means compare exactly
# (cross-multiplied); ties go to more reviews, then to the smaller name.
for d in $dates; do cat "$T/raw-$d"; done | awk -F '\t' '
function better(s1, n1, k1, s2, n2, k2) {
	if (s1 * n2 != s2 * n1) return s1 * n2 > s2 * n1
	if (n1 != n2) return n1 > n2
	return k1 < k2
}
$1 == "podcast" { day++; next }
{
	c = $2; p = $1
	if (!(c in wn)) { cats[++nc] = c; wn[c] = 0; ws[c] = 0; first[c] = 0 }
	wn[c]++; ws[c] += $3
	dn[day, c]++; ds[day, c] += $3
	if (!((day, c, p) in pn)) { pods[day, c] = pods[day, c] "\t" p }
	pn[day, c, p]++; ps[day, c, p] += $3
}
END {
	for (d = 1; d <= day; d++) {
		best = ""
		for (i = 1; i <= nc; i++) {
			c = cats[i]
			if (best == "" || better(ds[d, c], dn[d, c], c, ds[d, best], dn[d, best], best))
				best = c
			k = split(substr(pods[d, c], 2), pl, "\t")
			top = pl[1]
			for (j = 2; j <= k; j++) {
				p = pl[j]
				if (better(ps[d, c, p], pn[d, c, p], p, ps[d, c, top], pn[d, c, top], top))
					top = p
			}
			led[c, top]++
			if (!((c, top) in seen)) { seen[c, top] = 1; leaders[c] = leaders[c] "\t" top }
		}
		first[best]++
	}
	for (i = 2; i <= nc; i++)
		for (j = i; j > 1 && better(ws[cats[j]], wn[cats[j]], cats[j],
					    ws[cats[j - 1]], wn[cats[j - 1]], cats[j - 1]); j--) {
			t = cats[j]; cats[j] = cats[j - 1]; cats[j - 1] = t
		}
	print "rank\tcategory\treviews\trating_sum\tmean_rating\tdays_ranked_first\ttop_podcast\ttop_podcast_days"
	for (i = 1; i <= nc; i++) {
		c = cats[i]
		k = split(substr(leaders[c], 2), pl, "\t")
		top = pl[1]
		for (j = 2; j <= k; j++)
			if (led[c, pl[j]] > led[c, top] || (led[c, pl[j]] == led[c, top] && pl[j] < top))
				top = pl[j]
		printf "%d\t%s\t%d\t%d\t%.2f\t%d\t%s\t%d\n", i, c, wn[c], ws[c], ws[c] / wn[c],
			first[c], top, led[c, top]
	}
}' >"$T/expected"
dbx cat "weekly/week_ending=$week" >"$T/weekly" || fail "cat weekly/week_ending=$week"
if ! cmp -s "$T/expected" "$T/weekly"; then
	diff "$T/expected" "$T/weekly" >&2
	fail "weekly/week_ending=$week differs from the numbers computed from the raw reviews"
fi
[ "$(wc -l <"$T/weekly")" -eq 6 ] || fail "the weekly rollup has $(wc -l <"$T/weekly") lines, expected 6"
days_first=$(awk -F '\t' 'NR > 1 { s += $6 } END { print s }' "$T/weekly")
[ "$days_first" -eq 7 ] || fail "days_ranked_first sums to $days_first, expected 7"
pass "weekly rollup matches the raw reviews"

# The plan rendered as a bash script runs the same jobs without databuild
# and produces the same bytes (examples/podcast_reviews/README.md).
expect_exit 0 dbx plan --format bash --data-dir "$T/plain" "weekly/week_ending=$week"
cp "$T/out" "$T/build.sh"
bash "$T/build.sh" >"$T/build.log" 2>&1 || { tail "$T/build.log"; fail "the rendered bash plan failed"; }
for r in "${refs[@]}"; do
	cmp -s "$T/plain/$r" "$S/data/$r" || fail "'$r' differs between the bash plan and databuild build"
done
pass "the rendered bash plan produces the same 85 partitions"

# A second build runs nothing.
before=$(dbx events | grep -c '"type":"job_started"')
expect_exit 0 dbx build "weekly/week_ending=$week"
after=$(dbx events | grep -c '"type":"job_started"')
[ "$before" -eq "$after" ] || fail "a no-op rebuild started $((after - before)) jobs"
pass "no-op rebuild"

# Early cutoff: a change to daily_summary's executable makes every summary
# stale, but they come out byte-identical, so nothing downstream reruns.
echo "# a comment changes the executable's hash, not its output" >>"$T/ex/jobs/daily_summary"
cp "$S/data/weekly/week_ending=$week" "$T/weekly-before"
expect_exit 0 dbx build "weekly/week_ending=$week"
[ "$(started daily_summary)" -eq 70 ] || fail "daily_summary ran $(started daily_summary) times, expected 70"
[ "$(started leaderboard)" -eq 7 ] || fail "leaderboard reran after byte-identical summaries"
[ "$(started weekly_rollup)" -eq 1 ] || fail "weekly_rollup reran after byte-identical summaries"
[ "$(started categorize)" -eq 7 ] || fail "categorize reran though nothing upstream changed"
cmp -s "$T/weekly-before" "$S/data/weekly/week_ending=$week" || fail "the rollup changed"
cutoff=$(dbx events | grep -c '"type":"job_up_to_date"' || true)
[ "$cutoff" -ge 8 ] || fail "expected job_up_to_date events for 7 leaderboards and the rollup, got $cutoff"
pass "early cutoff after a change to daily_summary"

# Semver: a minor bump never invalidates, a major bump rebuilds the job's
# partitions (and the rollup, whose key includes its own major version only).
sed -i '/"label": "weekly_rollup"/,/^    }/ s/"version": "1.0.0"/"version": "1.1.0"/' "$G"
grep -q '"version": "1.1.0"' "$G" || fail "could not edit the graph"
expect_exit 0 dbx build "weekly/week_ending=$week"
[ "$(started weekly_rollup)" -eq 1 ] || fail "a minor version bump reran weekly_rollup"
sed -i '/"label": "weekly_rollup"/,/^    }/ s/"version": "1.1.0"/"version": "2.0.0"/' "$G"
expect_exit 0 dbx build "weekly/week_ending=$week"
[ "$(started weekly_rollup)" -eq 2 ] || fail "a major version bump did not rerun weekly_rollup"
[ "$(started leaderboard)" -eq 7 ] || fail "a major bump of weekly_rollup reran leaderboard"
pass "minor bump keeps, major bump rebuilds"

# Taint: the day and everything built from it are rebuilt, nothing else.
# The tainted day's job runs (a taint distrusts its bytes); it makes the
# same bytes, so the 8 jobs built from it find their build keys unchanged
# and the run cache restores them instead of running them.
before=$(dbx events | grep -c '"type":"job_started"')
restored=$(dbx events | grep -c '"type":"job_restored"' || true)
expect_exit 0 dbx taint --downstream reviews/date=2024-01-03
expect_out "tainted  reviews/date=2024-01-03"
expect_out "stale    weekly/week_ending=$week"
expect_exit 0 dbx build "weekly/week_ending=$week"
after=$(dbx events | grep -c '"type":"job_started"')
[ $((after - before)) -eq 1 ] || fail "a tainted day reran $((after - before)) jobs, expected 1"
[ $(($(dbx events | grep -c '"type":"job_restored"') - restored)) -eq 8 ] ||
	fail "the 8 jobs downstream of a tainted day were not restored from the run cache"
cmp -s "$T/weekly-before" "$S/data/weekly/week_ending=$week" || fail "the rollup changed after a taint"
pass "taint --downstream rebuilds one day's chain"

# A ref outside the example's domains is refused before anything runs,
# naming the variable and the domain.
expect_exit 2 dbx build "categorized/category=jazz/date=$week"
expect_err "variable 'category': 'jazz' is not in domain 'category' (values comedy, news, science, sports, true_crime)"
expect_exit 2 dbx build "weekly/week_ending=2024-02-30"
expect_err "'2024-02-30' is not a date of domain 'week_endings'"
pass "refs outside the domains"
