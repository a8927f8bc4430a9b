#!/usr/bin/env bash
# databuild serve: every read endpoint answers the catalog as JSON.
. "$SOURCE_ROOT/tests/service/lib_service.sh"

D=date=2024-01-01
expect_exit 0 db build "top/$D" "report/region=north/$D"
expect_exit 1 db build "fail/$D"
serve_start

# --- datasets
expect_api 200 datasets
expect_jq '[.datasets[].name] == ["fail", "left", "raw", "report", "right", "top"]'
expect_jq '.datasets[] | select(.name == "raw") | .partitions == 1 and .counts.live == 1'
expect_jq '.datasets[] | select(.name == "fail") | .counts.failed == 1 and .counts.live == 0'
expect_jq '.datasets[] | select(.name == "report") | .counts.live == 1'
pass "datasets with counts by status"

# --- partitions: paging in ref order, filters, parameter errors
expect_exit 0 db ls --json
jq -r .ref "$T/out" >"$T/want"
: >"$T/paged"
after=
for ((i = 0; i < 20; i++)); do
	expect_api 200 "partitions?limit=2${after:+&after=$after}"
	jqb '.partitions[].ref' >>"$T/paged"
	next=$(jqb '.next // empty')
	[ -n "$next" ] || break
	after=$(jq -rn --arg v "$next" '$v | @uri')
done
diff -u "$T/want" "$T/paged" || fail "paging with limit=2 differs from ls"
expect_api 200 "partitions?limit=10000"
expect_jq '.next == null and (.partitions | length) == 6'
expect_api 200 'partitions?state=failed'
expect_jq '[.partitions[].ref] == ["fail/date=2024-01-01"] and .partitions[0].status == "failed"'
expect_api 200 'partitions?state=live,failed&dataset=report'
expect_jq '[.partitions[].ref] == ["report/region=north/date=2024-01-01"]'
expect_jq '.partitions[0].dataset == "report"'
expect_api 400 'partitions?limit=0'
expect_jq '.error | contains("parameter '"'limit'"'")'
expect_api 400 'partitions?limit=10001'
expect_api 400 'partitions?limit=abc'
expect_api 400 'partitions?state=shiny'
expect_jq '.error | contains("parameter '"'state'"': unknown state '"'shiny'"'")'
expect_api 400 'partitions?after=a//b'
expect_jq '.error | contains("parameter '"'after'"'")'
expect_api 400 'partitions?dataset=..'
expect_jq '.error | contains("parameter '"'dataset'"'")'
pass "partitions: paging, filters, parameter errors"

# --- one partition: status, manifest, inputs, downstream, runs, reason
expect_api 200 "partitions/top/$D"
expect_jq '.partition.status == "live" and .manifest.job == "top"'
expect_jq '[.inputs[].ref] == ["left/date=2024-01-01", "right/date=2024-01-01"]'
expect_jq '[.inputs[].status] == ["live", "live"]'
expect_jq '[.downstream[].ref] == ["report/region=north/date=2024-01-01"]'
expect_jq '.runs | length == 1 and .[0].status == "succeeded" and .[0].job == "top"'
expect_jq '.reason == null'
expect_jq '(.versions | length) == 1 and .versions[0].current and .versions[0].run_id == .runs[0].run_id'
expect_jq '.versions[0].sha256 == .manifest.outputs[0].sha256 and (.versions[0].name | endswith("Z"))'
expect_api 200 "partitions/raw%2F$D"   # an encoded slash is the same ref
expect_jq '(.downstream | length) == 4'
expect_api 200 "partitions/fail/$D"
expect_jq '.partition.status == "failed" and (.reason | contains("exit"))'
expect_jq '.runs[0].status == "failed" and .manifest == null'
expect_api 200 "partitions/raw/date=2099-01-01"
expect_jq '.partition.status == "missing" and .partition.job == "raw" and .versions == []'
expect_api 404 "partitions/nosuch/x=1"
expect_jq '.error | contains("'"'nosuch/x=1'"'")'
expect_api 400 "partitions/a%01b"
expect_jq '.error | contains("invalid ref '"'a\\\\x01b'"'")'
expect_api 400 "partitions/raw/x.manifest.json"
expect_jq '.error | contains("invalid ref")'
pass "partitions/REF: status, manifest, inputs, downstream, runs, reason, versions"

# --- graph
expect_api 200 "graph?ref=top/$D"
expect_jq '(.nodes | length) == 5 and (.edges | length) == 5 and .truncated == false'
expect_jq '[.nodes[] | select(.ref == "top/date=2024-01-01") | .status] == ["live"]'
expect_jq '[.edges[] | select(.to == "top/date=2024-01-01") | .from] | sort == ["left/date=2024-01-01", "right/date=2024-01-01"]'
expect_api 200 "graph?dataset=left"
expect_jq '[.nodes[].ref] == ["left/date=2024-01-01", "raw/date=2024-01-01"]'
expect_jq '.edges == [{"from": "raw/date=2024-01-01", "to": "left/date=2024-01-01", "dep_type": "materialize"}]'
expect_api 400 "graph"
expect_jq '.error | contains("'"'ref'"' and '"'dataset'"'")'
expect_api 400 "graph?ref=a/../b"
pass "graph by ref and by dataset"

# --- runs, one run, its log
expect_api 200 "runs"
expect_jq '(.runs | length) == 6 and .next == null'
expect_jq '[.runs[].job] | sort == ["fail", "left", "raw", "report", "right", "top"]'
expect_api 200 "runs?limit=2"
expect_jq '(.runs | length) == 2 and (.next | type) == "number"'
n=$(jqb .next)
expect_api 200 "runs?after=$n&limit=10"
expect_jq '(.runs | length) == 4'
expect_api 400 "runs?after=-1"
expect_jq '.error | contains("parameter '"'after'"'")'
expect_api 200 "partitions/fail/$D"
FAIL_RUN=$(jqb '.runs[0].run_id')
expect_api 200 "runs/$FAIL_RUN"
expect_jq '.status == "failed" and .job == "fail" and .exit_status == 3'
expect_api 404 "runs/987654"
expect_api 400 "runs/abc"
expect_jq '.error | contains("run id '"'abc'"'")'
got=$(api "runs/$FAIL_RUN/log")
[ "$got" = 200 ] || fail "log: $got $(cat "$T/body")"
grep -qF "fail fail/$D: started" "$T/body" || fail "log lacks the job's stdout: $(cat "$T/body")"
grep -qF "boom: the $D input is corrupt" "$T/body" || fail "log lacks stderr"
size=$(stat -c %s "$T/body")
cp "$T/body" "$T/log"
got=$(api "runs/$FAIL_RUN/log" -H 'Range: bytes=0-3' -D "$T/headers")
[ "$got" = 206 ] || fail "Range: got $got"
[ "$(cat "$T/body")" = "fail" ] || fail "Range 0-3: $(cat "$T/body")"
grep -qi "^Content-Range: bytes 0-3/$size" "$T/headers" || fail "Content-Range: $(cat "$T/headers")"
got=$(api "runs/$FAIL_RUN/log" -H 'Range: bytes=-8')
[ "$got" = 206 ] && cmp -s "$T/body" <(tail -c 8 "$T/log") || fail "Range -8: $got $(cat "$T/body")"
got=$(api "runs/$FAIL_RUN/log" -H "Range: bytes=$size-")
[ "$got" = 416 ] || fail "Range past the end: $got"
got=$(api "runs/$FAIL_RUN/log?follow=1")
[ "$got" = 200 ] && cmp -s "$T/body" "$T/log" || fail "follow of an ended run: $got"
pass "runs, a run, its log with Range"

# --- events as SSE, resumable
expect_exit 0 db events
last=$(tail -n1 "$T/out" | jq .seq)
curl -sS -N -H "Authorization: Bearer $TOKEN" -H "Last-Event-ID: $((last - 2))" \
	"$URL/api/events" >"$T/sse" 2>&1 &
sse_pid=$!
sse_has() { [ "$(grep -c '^id: ' "$T/sse")" -ge "$1" ]; }
poll_until 10 sse_has 2
kill "$sse_pid"
[ "$(grep '^id: ' "$T/sse" | tr '\n' ' ')" = "id: $((last - 1)) id: $last " ] ||
	fail "SSE after Last-Event-ID: $(cat "$T/sse")"
grep '^data: ' "$T/sse" | sed 's/^data: //' | jq -e .seq >/dev/null || fail "SSE data is not JSON"
got=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Last-Event-ID: x' "$URL/api/events")
[ "$got" = 400 ] || fail "Last-Event-ID x: $got"
pass "events as SSE from Last-Event-ID"

# --- methods and routes
expect_api 405 datasets -X DELETE
expect_api 405 builds
expect_api 404 nosuch
expect_api 404 runs/1/nosuch
pass "405 and 404"

serve_stop INT
pass "SIGINT stops it with exit 0"

# --- many partitions: pages larger than one catalog query
. "$SOURCE_ROOT/tests/catalog/fill.sh"
new_test_catalog  # a second store: its own catalog
fill_store "$T/bulk" 2500
export DATABUILD_STORE=$T/bulk
serve_start
expect_api 200 datasets
expect_jq '.datasets[] | select(.name == "bulk") | .partitions == 2500 and .counts.live == 2500'
expect_api 200 "partitions?dataset=bulk&limit=10000"
expect_jq '(.partitions | length) == 2500 and .next == null'
expect_api 200 "partitions?dataset=bulk&limit=1500"
expect_jq '(.partitions | length) == 1500 and .next == .partitions[1499].ref'
after=$(jq -rn --arg v "$(jqb .next)" '$v | @uri')
expect_api 200 "partitions?dataset=bulk&limit=1500&after=$after"
expect_jq '(.partitions | length) == 1000 and .next == null'
expect_api 200 "partitions?dataset=bulk&limit=1000"
expect_jq '(.partitions | length) == 1000 and (.next | type) == "string"'
serve_stop
pass "paging across many partitions"
