#!/usr/bin/env bash
# databuild serve: builds over the API (202 at once, progress, failures,
# cancellation), their events as SSE, a running job's log followed,
# taint, and handlers that answer while builds run.
. "$SOURCE_ROOT/tests/service/lib_service.sh"

serve_start
curl -sS -N -H "Authorization: Bearer $TOKEN" "$URL/api/events" >"$T/sse" 2>&1 &
sse_pid=$!

# --- a missing partition becomes live; its events stream
expect_api 200 "partitions/top/date=3"
expect_jq '.partition.status == "missing"'
got=$(post builds '{"refs": ["top/date=3"]}')
[ "$got" = 202 ] || fail "POST builds: $got $(cat "$T/body")"
B1=$(jqb .id)
wait_build "$B1" succeeded
expect_jq '.total == 4 and .done == 4 and .built == 4 and .failed == 0 and .failures == []'
expect_api 200 "partitions/top/date=3"
expect_jq '.partition.status == "live"'
[ "$(cat "$DATABUILD_STORE/data/top/date=3")" = "$(printf 'left of\nraw date=3\nright of\nraw date=3')" ] ||
	fail "top/date=3: $(cat "$DATABUILD_STORE/data/top/date=3")"
sse_published() { grep -q '"type":"partition_published","ref":"top/date=3"' "$T/sse"; }
poll_until 10 sse_published
grep -q '"type":"build_requested".*"requester":"serve"' "$T/sse" || fail "no build_requested: $(cat "$T/sse")"
grep -q '"type":"build_finished"' "$T/sse" || fail "no build_finished"
pass "POST /api/builds makes a missing partition live; /api/events shows it"

# --- again: up to date; a failing build reports its failure
got=$(post builds '{"refs": ["top/date=3"]}')
[ "$got" = 202 ] || fail "POST builds again: $got"
wait_build "$(jqb .id)" succeeded
expect_jq '.built == 0 and .failed == 0 and .done == .total'
got=$(post builds '{"refs": ["fail/date=4"]}')
B2=$(jqb .id)
wait_build "$B2" failed
expect_jq '.failed == 1 and .failures[0].job == "fail" and .failures[0].outputs == ["fail/date=4"]'
expect_jq '.failures[0].error | contains("status 3")'
got=$(post builds '{"refs": ["nosuch/x=1"]}')
[ "$got" = 202 ] || fail "POST builds of an unknown dataset: $got"
wait_build "$(jqb .id)" error
expect_jq '.error | contains("nosuch/x=1")'
expect_api 404 "builds/999"
expect_api 400 "builds/x1"
pass "build progress: up to date, failures, planning errors"

# --- a long build: handlers answer meanwhile, its log follows, cancel stops it
got=$(post builds '{"refs": ["block/date=5"]}')
B3=$(jqb .id)
started() { [ -e "$STATE/started-date=$1" ]; }
poll_until 20 started 5
expect_api 200 datasets
expect_api 200 "builds/$B3"
expect_jq '.state == "running" and .total == 1 and .done == 0'
expect_api 200 "partitions/block/date=5"
expect_jq '.partition.status == "building"'
RUN=$(jqb '.runs[0].run_id')
curl -sS -N -H "Authorization: Bearer $TOKEN" "$URL/api/runs/$RUN/log?follow=1" >"$T/follow" 2>&1 &
follow_pid=$!
follow_has() { grep -qF "$1" "$T/follow"; }
poll_until 10 follow_has "block block/date=5: started"
got=$(post "builds/$B3/cancel" '')
[ "$got" = 202 ] || fail "cancel: $got $(cat "$T/body")"
wait_build "$B3" cancelled
expect_jq '.cancel_requested == true and .cancelled == 1'
follow_ended() { ! kill -0 "$follow_pid" 2>/dev/null; }
poll_until 10 follow_ended
wait "$follow_pid" || fail "following the log did not end cleanly"
expect_api 200 "partitions/block/date=5"
expect_jq '.partition.status == "missing"'
[ ! -e "$DATABUILD_STORE/data/block/date=5" ] || fail "a cancelled build published"
got=$(post "builds/$B3/cancel" '')
[ "$got" = 409 ] || fail "cancel of a finished build: $got"
got=$(post "builds/999/cancel" '')
[ "$got" = 404 ] || fail "cancel of an unknown build: $got"
pass "a running build: handlers answer, its log follows, cancel stops it"

# --- a followed log streams until its run ends
got=$(post builds '{"refs": ["block/date=6"]}')
B4=$(jqb .id)
poll_until 20 started 6
expect_api 200 "partitions/block/date=6"
RUN=$(jqb '.runs[0].run_id')
curl -sS -N -H "Authorization: Bearer $TOKEN" "$URL/api/runs/$RUN/log?follow=1" >"$T/follow" 2>&1 &
follow_pid=$!
poll_until 10 follow_has "block block/date=6: started"
: >"$STATE/go-date=6"
wait_build "$B4" succeeded
poll_until 10 follow_ended
wait "$follow_pid" || fail "following the log did not end cleanly"
follow_has "block block/date=6: done" || fail "the followed log lacks its end: $(cat "$T/follow")"
pass "?follow=1 streams a run's log until it ends"

# --- taint over the API, then a rebuild
got=$(post taint '{"refs": ["raw/date=3"], "downstream": true}')
[ "$got" = 200 ] || fail "taint: $got $(cat "$T/body")"
expect_jq '[.changed[] | "\(.ref) \(.status)"] | sort == ["left/date=3 stale", "raw/date=3 tainted", "right/date=3 stale", "top/date=3 stale"]'
expect_api 200 "datasets"
expect_jq '.datasets[] | select(.name == "top") | .counts.stale == 1'
got=$(post builds '{"refs": ["top/date=3"]}')
wait_build "$(jqb .id)" succeeded
expect_jq '.built >= 1'
expect_api 200 "partitions?state=live&dataset=top"
expect_jq '[.partitions[].ref] == ["top/date=3"]'
pass "POST /api/taint, then a rebuild"

# --- stopping cancels running builds, ends streams, exits 0
got=$(post builds '{"refs": ["block/date=7"]}')
poll_until 20 started 7
serve_stop TERM
wait "$sse_pid" 2>/dev/null || true
[ ! -e "$DATABUILD_STORE/data/block/date=7" ] || fail "a build cancelled by the stop published"
expect_exit 0 db ls --json
! grep -q '"status":"building"' "$T/out" || fail "a partition stayed building: $(cat "$T/out")"
pass "SIGTERM cancels running builds and exits 0"
