#!/usr/bin/env bash
# Eight builders (separate processes) on one catalog and store, asking for
# overlapping partitions at once: every build succeeds and every job runs
# exactly once; the catalog records one live partition per ref.
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"

tok=c$$x$RANDOM
builders=8
groups=6
pids=()
for ((b = 0; b < builders; b++)); do
	refs=()
	# builder b wants groups b, b+1, b+2 (mod groups) and two of their leaves
	for ((k = 0; k < 3; k++)); do refs+=("group/$tok$(((b + k) % groups))"); done
	refs+=("leaf/$tok$(((b + 1) % groups))-0" "leaf/$tok$(((b + 4) % groups))-3")
	"$DATABUILD" build -j 4 "${refs[@]}" >"$T/b$b.out" 2>&1 &
	pids+=($!)
done
for ((b = 0; b < builders; b++)); do
	wait "${pids[b]}" || { cat "$T/b$b.out"; fail "builder $b failed"; }
done
no_duplicates || fail "a job ran more than once across $builders builders"
for ((g = 0; g < groups; g++)); do
	[ "$(runs group "$tok$g")" = 1 ] || fail "group/$tok$g ran $(runs group "$tok$g") times"
	for i in 0 1 2 3 4; do
		[ "$(runs leaf "$tok$g-$i")" = 1 ] || fail "leaf/$tok$g-$i ran $(runs leaf "$tok$g-$i") times"
	done
	[ "$(wc -l <"$(data group/$tok$g)")" = 5 ] || fail "group/$tok$g is not complete"
done
total=$(wc -l <"$RUNLOG")
[ "$total" = $((groups * 6)) ] || fail "expected $((groups * 6)) runs, got $total"
# every builder saw the others' work: a second round runs nothing
expect_exit 0 db build "group/${tok}0" "group/${tok}5"
[ "$(wc -l <"$RUNLOG")" = "$total" ] || fail "an up-to-date partition was built again"
db ls "group/$tok" >"$T/ls" || fail "ls failed"
[ "$(grep -c "group/$tok" "$T/ls")" = "$groups" ] || { cat "$T/ls"; fail "ls lacks groups"; }
pass "coalesce: $builders builders, $total runs, no duplicates"
