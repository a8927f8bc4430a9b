#!/usr/bin/env bash
# `databuild build` SIGKILLed at random points while it runs and publishes a
# job with many outputs, 50 times over: after every kill the catalog and the
# store agree (each live partition's bytes hash as recorded), the lease is
# free and a following build completes.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
MANY=150
export MANY
# 50 rounds in the default cell; 20 in the PostgreSQL and Slurm cells, where
# each round costs more (a database round trip per step, an srun per run)
if [ -n "${DATABUILD_TEST_CATALOG:-}${DATABUILD_TEST_EXECUTOR:-}" ]; then
	ROUNDS=${ROUNDS:-20}
fi
ROUNDS=${ROUNDS:-50}

expect_exit 0 db build 'many/n=0'

# Deterministic first: a forced rebuild killed while its job runs, after
# which two outputs hold other bytes (what a builder killed between its
# renames and its catalog commit leaves). The next build must not call
# them live: it abandons the run, finds the bytes differ and rebuilds.
: >"$STATE/many.block"
"$DATABUILD" build --force 'many/n=0' >"$T/b.out" 2>&1 &
pid=$!
poll_until 30 test -e "$STATE/many.started"
kill -9 "$pid"
wait "$pid" 2>/dev/null
rm -f "$STATE/many.block"
for k in 1 7; do
	chmod u+w "$(data "many/n=$k")"
	echo "$k torn" >"$(data "many/n=$k")"
done
expect_exit 0 db build 'many/n=0'
catalog_agrees || fail "a build after a killed builder left torn outputs live"
grep -q "torn" "$(data many/n=1)" "$(data many/n=7)" && fail "torn bytes are still served"
db events >"$T/events"
grep -q '"type":"job_abandoned"' "$T/events" || fail "the killed run is not recorded as abandoned"
grep '"type":"partition_stale"' "$T/events" | grep -q 'many/n=1' || fail "many/n=1 was not marked stale"
pass "outputs changed under a killed builder are found stale and rebuilt"

# the shortest of three forced rebuilds: one slow outlier (a busy machine,
# new object directories) would widen the window past most builds' ends
dur_ms=
for k in 1 2 3; do
	start=$(date +%s%N)
	expect_exit 0 db build --force 'many/n=0'
	d=$((($(date +%s%N) - start) / 1000000))
	[ -n "$dur_ms" ] && [ "$dur_ms" -le "$d" ] || dur_ms=$d
done
# kill anywhere from the start to a bit past the end of a forced rebuild
window=$((dur_ms * 3 / 2 + 5))
echo "a forced rebuild takes ${dur_ms} ms; killing within ${window} ms"

# mid_publish: some outputs of the killed run are already renamed into data/
# (their bytes name a run that is not the one the catalog has published)
mid_publish() {
	"$DATABUILD" ls --json many/ | python3 -c '
import json, sys
store = sys.argv[1]
for line in sys.stdin:
    r = json.loads(line)
    try:
        run = open(store + "/data/" + r["ref"]).read().split()[1]
    except (OSError, IndexError):
        continue
    if run != r["published_run"]:
        sys.exit(0)
sys.exit(1)' "$DATABUILD_STORE"
}
# A build that ends before its kill narrows the window by a tenth: builds
# that got faster than the calibration (the machine's load dropped) would
# otherwise outrun most kills.
killed=0 mid=0
for ((i = 1; i <= ROUNDS; i++)); do
	"$DATABUILD" build --force 'many/n=0' >"$T/b.out" 2>&1 &
	pid=$!
	at=$((RANDOM % window))
	sleep "$((at / 1000)).$(printf '%03d' $((at % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then
		killed=$((killed + 1))
	elif [ "$window" -gt 50 ]; then
		window=$((window * 9 / 10))
	fi
	wait "$pid" 2>/dev/null
	! mid_publish || mid=$((mid + 1))
	catalog_agrees || fail "round $i: catalog and store disagree after kill -9"
	# every 5th round: a plain build must finish (lease free, dead run settled)
	if [ $((i % 5)) = 0 ]; then
		timeout 60 "$DATABUILD" build 'many/n=0' >"$T/b.out" 2>&1 ||
			{ cat "$T/b.out"; fail "round $i: the build after a kill failed"; }
		catalog_agrees || fail "round $i: catalog and store disagree after the following build"
		n=$("$DATABUILD" ls --status live many/ | wc -l)
		[ "$n" = "$MANY" ] || fail "round $i: $n live partitions, want $MANY"
	fi
done
echo "$killed of $ROUNDS builds were killed before they finished, $mid of them while publishing; the window ended at ${window} ms"
[ "$killed" -gt $((ROUNDS / 4)) ] || fail "too few kills landed ($killed)"

expect_exit 0 db build 'many/n=0'
AGREE_PATHS=all catalog_agrees || fail "catalog and store disagree at the end"
for ((k = 0; k < MANY; k++)); do
	read -r v run <"$(data "many/n=$k")"
	[ "$v" = "$k" ] || fail "many/n=$k holds '$v'"
done
# the manifest of every live partition names the run whose bytes it holds
run=$(awk '{ print $2 }' "$(data many/n=0)")
db ls --status live --json many/ | grep -v "\"published_run\":\"$run\"" >"$T/other" || true
[ ! -s "$T/other" ] || { head -3 "$T/other"; fail "live partitions from a different run than their bytes"; }
grep -q '"type":"job_abandoned"' <(db events) || fail "no killed run was recorded as abandoned"
pass "$ROUNDS builds killed at random points: catalog and store always agree"
