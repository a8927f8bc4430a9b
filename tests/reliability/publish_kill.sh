#!/usr/bin/env bash
# `databuild build` SIGKILLed at random points while it runs and publishes a
# job with many outputs, 50 times over: after every kill the catalog and the
# store agree (each live partition's bytes hash as recorded), the lease is
# free and a following build completes.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
MANY=150
export MANY
ROUNDS=${ROUNDS:-50}

expect_exit 0 db build 'many/n=0'
start=$(date +%s%N)
expect_exit 0 db build --force 'many/n=0'
dur_ms=$((($(date +%s%N) - start) / 1000000))
# kill anywhere from the start to a bit past the end of a forced rebuild
window=$((dur_ms * 3 / 2 + 5))
echo "a forced rebuild takes ${dur_ms} ms; killing within ${window} ms"

killed=0
for ((i = 1; i <= ROUNDS; i++)); do
	"$DATABUILD" build --force 'many/n=0' >"$T/b.out" 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % window)))"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null
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
echo "$killed of $ROUNDS builds were killed before they finished"
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
