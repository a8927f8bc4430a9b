#!/usr/bin/env bash
# Readers drive builds: when more builds are queued than the mount runs at
# once (-o max_builds), the one with the most waiting readers goes first;
# under -o cancel_unread a build nobody waits for any more is cancelled
# after its grace period. Both show in .databuild/status.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"

# waiters_of REF: the waiters .databuild/status counts for REF's build ("" if none).
waiters_of() {
	python3 - "$M/.databuild/status" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(next((str(b["waiters"]) for b in s.get("builds", []) if b["ref"] == sys.argv[2]), ""))
PY
}
waiting() { [ "$(waiters_of "$1")" = "$2" ]; }
no_build_of() { [ -z "$(waiters_of "$1")" ]; }

mount_db -o max_builds=1
cat "$M/block/key=p" >"$T/block.out" &
poll_until 30 test -e "$STATE/block-p.started"
cat "$M/raw/date=71" >"$T/raw.out" &
poll_until 30 waiting raw/date=71 1
for i in 1 2 3; do cat "$M/many/n=0" >"$T/many.$i" & done
poll_until 30 waiting many/n=0 3
python3 -c 'import json,sys; b={x["ref"]: x["state"] for x in json.load(open(sys.argv[1]))["builds"]}; sys.exit(0 if b.get("raw/date=71") == "queued" and b.get("many/n=0") == "queued" else 1)' \
	"$M/.databuild/status" || fail "both later builds should be queued behind block/key=p: $(cat "$M/.databuild/status")"
: >"$STATE/block-p.go"
wait
[ "$(cat "$T/block.out")" = "block p" ] || fail "block/key=p read '$(cat "$T/block.out")'"
[ "$(cat "$T/raw.out" | head -n1)" = "71,item3,3" ] || fail "raw/date=71 read '$(head -n1 "$T/raw.out")'"
for i in 1 2 3; do [ "$(cat "$T/many.$i")" = 0 ] || fail "many/n=0 reader $i read '$(cat "$T/many.$i")'"; done
order=$(grep -E '^(many|raw 71) ' "$RUNLOG" | cut -d' ' -f1 | tr '\n' ' ')
[ "$order" = "many raw " ] || fail "the build with 3 readers should run before the one with 1: ran '$order'"
unmount_db
pass "with more builds queued than slots, the one with the most waiting readers goes first"

mount_db -o cancel_unread=1
cat "$M/block/key=c" >/dev/null 2>&1 &
victim=$!
poll_until 30 test -e "$STATE/block-c.started"
kill -KILL "$victim"
wait "$victim" 2>/dev/null && fail "the killed reader exited 0"
poll_until 30 no_build_of block/key=c
grep -q "cancelling the build of 'block/key=c': nobody has waited for it for 1 s" "$T/store/daemon.log" ||
	fail "the daemon log does not say why the build was cancelled"
run=$(db events --since 0 | grep -F '"type":"job_started"' | grep -F '"block/key=c"' |
	sed -n 's/.*"run_id":"\([0-9]*\)".*/\1/p' | head -n1)
[ -n "$run" ] || fail "no job_started event for block/key=c"
db events --since 0 | grep -F '"type":"job_cancelled"' | grep -qF "\"run_id\":\"$run\"" ||
	fail "run $run of block/key=c is not cancelled in the events"
[ "$(db show block/key=c 2>/dev/null | sed -n 's/^  status *//p')" != live ] || fail "the cancelled build published"
# A later reader builds it again.
: >"$STATE/block-c.go"
[ "$(cat "$M/block/key=c")" = "block c" ] || fail "a read after the cancellation"
unmount_db
pass "-o cancel_unread cancels a build nobody waits for after its grace period"

mount_db
cat "$M/block/key=d" >/dev/null 2>&1 &
victim=$!
poll_until 30 test -e "$STATE/block-d.started"
kill -KILL "$victim"
wait "$victim" 2>/dev/null
: >"$STATE/block-d.go"
built() { [ "$(runs block d)" = 1 ] && [ "$(db show block/key=d 2>/dev/null | sed -n 's/^  status *//p')" = live ]; }
poll_until 30 built
unmount_db
pass "without cancel_unread, a build nobody waits for completes"
