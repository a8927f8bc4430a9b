#!/usr/bin/env bash
# A reader killed while it waits returns at once; the build goes on for
# the other readers and for the next open.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db
waiters_are() { [ "$(status_field waiters)" = "$1" ]; }

for sig in TERM KILL INT; do
	k=$(echo "$sig" | tr A-Z a-z)
	# background jobs start with SIGINT ignored: restore the default first
	python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("cat", ["cat", sys.argv[1]])' \
		"$M/block/key=$k" >"$T/victim.$k" 2>&1 &
	victim=$!
	cat "$M/block/key=$k" >"$T/other.$k" &
	other=$!
	poll_until 30 waiters_are 2
	poll_until 30 test -e "$STATE/block-$k.started"
	kill -s "$sig" "$victim"
	start=$SECONDS
	wait "$victim" && fail "the SIG$sig reader exited 0"
	[ $((SECONDS - start)) -le 5 ] || fail "the SIG$sig reader took $((SECONDS - start)) s to return"
	poll_until 10 waiters_are 1
	kill -0 "$other" 2>/dev/null || fail "the other reader ended with the killed one"
	[ ! -e "$M/block/key=$k" ] || [ "$(stat -c %s "$M/block/key=$k")" = 0 ] ||
		fail "the partition is live before its job finished"
	: >"$STATE/block-$k.go"
	wait "$other" || fail "the other reader failed after SIG$sig of its peer"
	[ "$(cat "$T/other.$k")" = "block $k" ] || fail "the other reader got '$(cat "$T/other.$k")'"
	[ "$(cat "$M/block/key=$k")" = "block $k" ] || fail "a later read of block/key=$k"
	[ "$(runs block "$k")" = 1 ] || fail "block $k ran $(runs block "$k") times"
	pass "a reader killed with SIG$sig returns promptly; the build completes for the other"
done

# A lone waiter killed: the build still completes, for the next reader.
cat "$M/block/key=lone" >/dev/null 2>&1 &
victim=$!
poll_until 30 test -e "$STATE/block-lone.started"
kill -KILL "$victim"
wait "$victim" 2>/dev/null && fail "the killed reader exited 0"
poll_until 10 waiters_are 0
: >"$STATE/block-lone.go"
[ "$(cat "$M/block/key=lone")" = "block lone" ] || fail "the next reader of block/key=lone"
[ "$(runs block lone)" = 1 ] || fail "block lone ran $(runs block lone) times"
pass "the build of a killed lone reader completes for the next reader"
