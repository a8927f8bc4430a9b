#!/usr/bin/env bash
# databuild serve under 1,000 concurrent event streams: ordinary requests
# still answer, a build's events reach every stream, the server's memory
# stays bounded, and a client that does not read holds up no one and,
# once it reads again, gets every event in order (from the catalog when
# it fell behind what the server keeps in memory).
. "$SOURCE_ROOT/tests/service/lib_service.sh"

command -v python3 >/dev/null || fail "python3 missing"
command -v ss >/dev/null || fail "ss missing (iproute2)"
CLIENTS="$SOURCE_ROOT/tests/service/sse_clients.py"
FILL="$BUILD_ROOT/tests/catalog/catalog_fill"
[ -x "$FILL" ] || fail "catalog_fill not built: $FILL"
N=${SSE_LOAD_CLIENTS:-1000}
# Bounds, generous for a loaded machine (measured: see docs/benchmarks.md).
RSS_MAX_KIB=$((256 * 1024))
# AddressSanitizer keeps freed memory in quarantine and shadows the rest.
if ldd "$DATABUILD" 2>/dev/null | grep -q libasan; then RSS_MAX_KIB=$((1024 * 1024)); fi
REQUEST_MAX_S=2

# A backlog of 6,000 events (more than the server keeps in memory) before
# the server starts, and one build.
mkdir -p "$DATABUILD_STORE"
echo "bulk old/k= 2000" | "$FILL" "$DATABUILD_STORE" >/dev/null || fail "catalog_fill failed"
expect_exit 0 db build "top/date=1"
last_seq() { db events | tail -n1 | jq .seq; }
START=$(last_seq)
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 2304 ] ||
	skip "the hard limit of open files ($(ulimit -Hn)) is below what serve needs (2304)"
serve_start

# --- a client that never reads, from the first event
python3 "$CLIENTS" slow "$URL" "$TOKEN" 0 "$T/go-slow" "$T/slow.ids" &
SLOW_PID=$!
# The server has text for it that it cannot send: some socket of the
# server's port has a send queue.
server_port=${URL##*:}
blocked() {
	ss -tnH state established "( sport = :$server_port )" |
		awk '$2 > 4096 { found = 1 } END { exit !found }'
}
poll_until 20 blocked
pass "a client that does not read: the server holds text it cannot send"

# --- N streams
status() { sed -n "s/^$1 //p" "$T/status" 2>/dev/null; }
all_connected() { [ "$(status connected)" = "$N" ]; }
python3 "$CLIENTS" many "$URL" "$TOKEN" "$N" "$START" "$T/status" &
MANY_PID=$!
t0=$SECONDS
poll_until 120 all_connected
# One more stream in a process of its own: its latency is the server's,
# not that of the process parsing N streams.
python3 "$CLIENTS" many "$URL" "$TOKEN" 1 "$START" "$T/probe" &
PROBE_PID=$!
probe_connected() { [ "$(sed -n 's/^connected //p' "$T/probe" 2>/dev/null)" = 1 ]; }
poll_until 20 probe_connected
threads=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$SERVE_PID/status")
[ "$threads" -gt "$N" ] || fail "$N streams connected but the server has $threads threads"
[ "$(status closed)" = 0 ] || fail "streams closed: $(cat "$T/status")"
pass "$N streams connected in $((SECONDS - t0)) s ($threads threads in the server)"
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = postgresql ]; then
	conns=$(psql "$DATABUILD_CATALOG" -X -Atc \
		"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		 AND pid <> pg_backend_pid()") || fail "psql: cannot count connections"
	[ "$conns" -le 8 ] || fail "$conns PostgreSQL connections with $N streams (at most 8)"
	pass "$N streams hold $conns PostgreSQL connections"
fi

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVE_PID/status"; }
rss=$(rss_kib)
echo "server RSS with $N streams: $((rss / 1024)) MiB (bound $((RSS_MAX_KIB / 1024)) MiB)"
[ "$rss" -le "$RSS_MAX_KIB" ] || fail "server RSS $rss KiB with $N streams, over $RSS_MAX_KIB KiB"
pass "server RSS with $N streams: $rss KiB"

# --- ordinary requests answer beside them
timed() {
	local t
	t=$(curl -sS -o "$T/body" -w '%{http_code} %{time_total}' \
		-H "Authorization: Bearer $TOKEN" "$URL/api/$1") || fail "curl failed: $1"
	[ "${t%% *}" = 200 ] || { cat "$T/body"; fail "GET /api/$1: ${t%% *}"; }
	echo "GET /api/$1 with $N streams: ${t#* } s"
	awk -v t="${t#* }" -v max="$REQUEST_MAX_S" 'BEGIN { exit !(t < max) }' ||
		fail "GET /api/$1 took ${t#* } s with $N streams (bound $REQUEST_MAX_S s)"
}
for i in 1 2 3; do
	timed datasets
	timed "partitions?limit=100"
done
expect_jq '.partitions | length == 100'
pass "ordinary requests answer within ${REQUEST_MAX_S} s beside $N streams"

# --- a build's events reach every stream
got=$(post builds '{"refs": ["top/date=2"]}')
[ "$got" = 202 ] || fail "POST builds: $got $(cat "$T/body")"
wait_build "$(jqb .id)" succeeded
END=$(last_seq)
[ "$END" -gt "$START" ] || fail "the build appended no events"
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
all_have_end() { [ "$(status min_last)" -ge "$END" ]; }
poll_until 30 all_have_end
echo "every stream had the build's last event $(($(ms) - t0)) ms after the build was seen to end"
echo "delivery latency of the build's events (p50, max in ms; events x streams): $(status latency_ms)"
echo "the same for one more stream in its own process: $(sed -n 's/^latency_ms //p' "$T/probe")"
[ "$(status disorder)" = 0 ] || fail "ids out of order: $(cat "$T/status")"
[ "$(status closed)" = 0 ] || fail "streams closed: $(cat "$T/status")"
rss=$(rss_kib)
[ "$rss" -le "$RSS_MAX_KIB" ] || fail "server RSS $rss KiB after the build, over $RSS_MAX_KIB KiB"
pass "the build's events (up to seq $END) reached all $N streams; RSS $rss KiB"
kill "$MANY_PID" "$PROBE_PID"
wait "$MANY_PID" "$PROBE_PID" 2>/dev/null

# --- the client that did not read gets everything, in order
db events | jq .seq >"$T/want"
touch "$T/go-slow"
slow_done() { [ "$(tail -n1 "$T/slow.ids" 2>/dev/null)" = "$END" ]; }
poll_until 60 slow_done
diff -q "$T/want" "$T/slow.ids" >/dev/null || fail "the slow client's ids differ from the catalog's events"
kill "$SLOW_PID"
wait "$SLOW_PID" 2>/dev/null
pass "the client that did not read then got all $(wc -l <"$T/want") events in order"

# --- a client that falls further behind than the server keeps in memory
rm -f "$T/go-slow" "$T/slow.ids"
python3 "$CLIENTS" slow "$URL" "$TOKEN" "$END" "$T/go-slow" "$T/slow.ids" &
SLOW_PID=$!
# the stream has started (its first line waits in the client's socket)
started() {
	ss -tnH state established "( dport = :$server_port )" |
		awk '$1 > 0 { found = 1 } END { exit !found }'
}
poll_until 20 started
echo "bulk new/k= 2000" | "$FILL" "$DATABUILD_STORE" >/dev/null || fail "catalog_fill failed"
END2=$(last_seq)
[ "$((END2 - END))" -gt 4096 ] || fail "only $((END2 - END)) new events: not past the ring"
db events --since "$END" | jq .seq >"$T/want"
touch "$T/go-slow"
slow_done2() { [ "$(tail -n1 "$T/slow.ids" 2>/dev/null)" = "$END2" ]; }
poll_until 60 slow_done2
diff -q "$T/want" "$T/slow.ids" >/dev/null ||
	fail "the client behind the ring: ids differ from the catalog's events after $END"
kill "$SLOW_PID"
wait "$SLOW_PID" 2>/dev/null
pass "a client $((END2 - END)) events behind got them all, in order"

serve_stop
