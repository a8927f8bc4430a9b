#!/usr/bin/env bash
# databuild events: JSON lines in seq order, --since, --last, --limit,
# --follow (alone: from the end of the log).
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S"

expect_exit 0 db --store "$S" events
n=$(wc -l <"$T/out")
# 4 publishes (3 events each: started, published, finished),
# one failure (started, partition_failed, job_failed), one start
[ "$n" -eq 16 ] || fail "events: expected 16 lines, got $n"
seqs=$(sed -E 's/^\{"seq":([0-9]+),.*/\1/' "$T/out" | tr '\n' ' ')
[ "$seqs" = "$(seq 1 16 | tr '\n' ' ')" ] || fail "events out of order: $seqs"
head -1 "$T/out" | grep -Eq '^\{"seq":1,"time_us":[0-9]+,"time":"[0-9-]{10}T[0-9:]{8}Z","build_id":null,"type":"job_started","ref":null,"run_id":"1","payload":\{"job":"ja",' ||
  fail "events: bad first line: $(head -1 "$T/out")"
expect_out '"type":"partition_published","ref":"d/x=1","run_id":"4"'
expect_out '"type":"partition_failed","ref":"e/x=1","run_id":"5","payload":{"job":"je","error":"exit status 3: boom"}'
pass "events"

expect_exit 0 db --store "$S" events --since 10 --limit 3
[ "$(sed -E 's/^\{"seq":([0-9]+),.*/\1/' "$T/out" | tr '\n' ' ')" = "11 12 13 " ] ||
  fail "--since 10 --limit 3: $(cat "$T/out")"
expect_exit 0 db --store "$S" events --since=16
[ ! -s "$T/out" ] || fail "--since 16 printed events"
pass "events --since --limit"

# --follow streams what happens after it started, and stops cleanly on SIGINT
"$DATABUILD" --store "$S" events --follow --since 16 >"$T/follow" 2>"$T/follow.err" &
pid=$!
at_exit "kill $pid 2>/dev/null"
echo "publish jz z/x=1" | "$FILL" "$S" >/dev/null
poll_until 20 grep -q '"type":"job_finished","ref":null,"run_id":"7"' "$T/follow"
grep -q '"type":"partition_published","ref":"z/x=1"' "$T/follow" || fail "follow missed the publish"
[ "$(head -1 "$T/follow" | sed -E 's/^\{"seq":([0-9]+),.*/\1/')" = 17 ] || fail "follow: first is not 17"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "events --follow exited $rc on SIGINT: $(cat "$T/follow.err")"
pass "events --follow"

# --follow alone starts at the end; --last N with the newest N
# (publish until the follower shows one: it may start after the first)
"$DATABUILD" --store "$S" events --follow >"$T/tail" 2>&1 &
pid=$!
at_exit "kill $pid 2>/dev/null"
n=0
follower_saw() {
	n=$((n + 1))
	echo "publish jy y/x=$n" | "$FILL" "$S" >/dev/null
	grep -q '"type":"partition_published","ref":"y/x=' "$T/tail"
}
poll_until 20 follower_saw
grep -q '"seq":1,' "$T/tail" && fail "events --follow printed the history"
kill -INT "$pid"
wait "$pid" || fail "events --follow exited $? on SIGINT"
expect_exit 0 db --store "$S" events --last 2
[ "$(wc -l <"$T/out")" = 2 ] || fail "--last 2 printed $(wc -l <"$T/out") lines"
expect_out "\"ref\":\"y/x=$n\""
expect_exit 2 db --store "$S" events --last 2 --since 3
expect_err "--since and --last exclude each other"
pass "events --follow from the end, --last N"

# a reader that goes away ends the stream (exit 0), even with nothing new to say
timeout 20 bash -c '"$0" --store "$1" events --follow --since 0 | head -2 >"$2"; exit ${PIPESTATUS[0]}' \
  "$DATABUILD" "$S" "$T/head" || fail "events --follow | head did not end cleanly ($?)"
[ "$(wc -l <"$T/head")" -eq 2 ] || fail "head got $(wc -l <"$T/head") lines"
pass "events --follow into a closed pipe"

expect_exit 2 db --store "$S" events --since x
expect_err "option '--since': expected an integer"
expect_exit 2 db --store "$S" events --limit
expect_err "events: option '--limit' needs a value"
expect_exit 2 db --store "$S" events extra
expect_err "events: unexpected argument 'extra'"
expect_exit 0 db events --help
expect_out "usage: databuild events"
pass "events usage errors"
