#!/usr/bin/env bash
# Two concurrent builds of one partition run its job once: the second waits on
# the first's lease, then finds the partition live.
. "$SOURCE_ROOT/tests/executor/lib_executor.sh"

"$DATABUILD" build block/b1 >"$T/a.out" 2>&1 &
a=$!
at_exit "kill -INT $a 2>/dev/null; : >'$STATE/block-b1.go'"
poll_until 30 test -e "$STATE/block-b1.started"
"$DATABUILD" build block/b1 >"$T/b.out" 2>&1 &
b=$!
at_exit "kill -INT $b 2>/dev/null"
poll_until 30 grep -qs "^waiting block" "$T/b.out"
: >"$STATE/block-b1.go"
ra=0; rb=0
wait "$a" || ra=$?
wait "$b" || rb=$?
[ "$ra" = 0 ] && [ "$rb" = 0 ] || { cat "$T/a.out" "$T/b.out"; fail "builds exited $ra and $rb"; }
[ "$(runs block b1)" = 1 ] || { cat "$RUNLOG"; fail "block/b1 ran more than once"; }
grep -q "^up to date block" "$T/b.out" || { cat "$T/b.out"; fail "the waiting build should find block/b1 up to date"; }
[ "$(cat "$(data block/b1)")" = "block b1" ] || fail "block/b1 bytes"

# the same through overlapping requests of a diamond: everything once
db build -j 2 top/o1 >"$T/c.out" 2>&1 &
c=$!
db build -j 2 left/o1 right/o1 >"$T/d.out" 2>&1 &
d=$!
rc=0; rd=0
wait "$c" || rc=$?
wait "$d" || rd=$?
[ "$rc" = 0 ] && [ "$rd" = 0 ] || { cat "$T/c.out" "$T/d.out"; fail "overlapping builds failed"; }
for k in raw left right top; do
	[ "$(runs $k o1)" = 1 ] || { cat "$RUNLOG"; fail "$k/o1 ran $(runs $k o1) times"; }
done
# a builder killed with SIGKILL leaves its partition 'building': the next build
# takes the lease (the kernel released it), abandons the dead run and rebuilds
"$DATABUILD" build block/k1 >"$T/e.out" 2>&1 &
e=$!
at_exit ": >'$STATE/block-k1.go'"
poll_until 30 test -e "$STATE/block-k1.started"
kill -KILL "$e"
wait "$e" 2>/dev/null || true
rm -f "$STATE/block-k1.started"
"$DATABUILD" build --events "$T/k.jsonl" block/k1 >"$T/f.out" 2>&1 &
f=$!
at_exit "kill -INT $f 2>/dev/null"
poll_until 30 test -e "$STATE/block-k1.started"
: >"$STATE/block-k1.go"
rf=0
wait "$f" || rf=$?
[ "$rf" = 0 ] || { cat "$T/f.out"; fail "rebuild after a dead builder exited $rf"; }
[ "$(runs block k1)" = 2 ] || { cat "$RUNLOG"; fail "block/k1 should have run twice"; }
grep -q '"type":"job_abandoned"' "$T/k.jsonl" || { cat "$T/k.jsonl"; fail "no job_abandoned event"; }
[ "$(cat "$(data block/k1)")" = "block k1" ] || fail "block/k1 bytes"
pass "concurrent"
