# Shared by the service's shell tests: a graph whose jobs are
# fixture/job.sh, and a `databuild serve` on a free loopback port.
. "$SOURCE_ROOT/tests/lib.sh"

command -v curl >/dev/null || fail "curl missing (scripts/setup installs it)"
command -v jq >/dev/null || fail "jq missing (scripts/setup installs it)"

G=$T/graph
STATE=$T/state
export STATE
mkdir -p "$G/jobs" "$STATE"
cp "$SOURCE_ROOT/tests/service/fixture/job.sh" "$G/jobs/job.sh"
{
	printf '{"name":"service_fixture","jobs":['
	sep=
	for k in raw left right top fail block; do
		printf '%s{"label":"%s","outputs":["%s/date={d}"],"configure":["jobs/job.sh","configure","%s"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"}' \
			"$sep" "$k" "$k" "$k"
		sep=,
	done
	printf ',{"label":"report","outputs":["report/region={r}/date={d}"],"configure":["jobs/job.sh","configure","report"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"}'
	printf ']}\n'
} >"$G/databuild.json"
export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store

SERVE_PID=
URL=
TOKEN=
serve_line() { grep -qs '^databuild: serving http://' "$T/serve.out"; }
# serve_start [ARGS...]: `databuild serve --listen 127.0.0.1:0 ARGS` in the
# background; sets SERVE_PID, URL (http://127.0.0.1:PORT) and TOKEN.
serve_start() {
	rm -f "$T/serve.out"  # not the line of a server before
	"$DATABUILD" serve --listen 127.0.0.1:0 "$@" >"$T/serve.out" 2>"$T/serve.err" &
	SERVE_PID=$!
	poll_until 20 serve_line
	URL=$(sed -n 's|^databuild: serving \(http://[^/]*\)/?token=.*|\1|p' "$T/serve.out")
	TOKEN=$(sed -n 's|^databuild: serving http://.*/?token=\(.*\)|\1|p' "$T/serve.out")
	[ -n "$URL" ] && [ -n "$TOKEN" ] || fail "no URL in: $(cat "$T/serve.out")"
}
serve_gone() { ! kill -0 "$SERVE_PID" 2>/dev/null; }
# serve_stop [SIGNAL]: stops the server; fails unless it exits 0.
serve_stop() {
	local rc=0
	kill "-${1:-TERM}" "$SERVE_PID"
	wait "$SERVE_PID" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/serve.err"; fail "serve exited $rc after SIG${1:-TERM}"; }
	SERVE_PID=
}
_cleanup_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	local i
	for ((i = 0; i < 500; i++)); do kill -0 "$SERVE_PID" 2>/dev/null || return 0; sleep 0.02; done
	kill -9 "$SERVE_PID" 2>/dev/null
}
at_exit _cleanup_serve
at_exit 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null'

# api PATH [CURL ARGS...]: GET (or what the args say) $URL/api/PATH with the
# token. The body goes to $T/body, the status is printed.
api() {
	local path=$1; shift
	curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@" \
		"$URL/api/$path"
}
# expect_api STATUS PATH [CURL ARGS...]: api, failing unless it answers STATUS
# with a JSON body.
expect_api() {
	local want=$1; shift
	local got
	got=$(api "$@") || fail "curl failed: $*"
	[ "$got" = "$want" ] || { cat "$T/body"; fail "expected $want, got $got: $*"; }
	jq -e . "$T/body" >/dev/null || { cat "$T/body"; fail "not JSON: $*"; }
}
# jqb FILTER: jq -r FILTER on the last body.
jqb() { jq -r "$1" "$T/body"; }
# expect_jq FILTER: FILTER of the last body is true.
expect_jq() { jq -e "$1" "$T/body" >/dev/null || { jq . "$T/body"; fail "not true: $1"; }; }
# post PATH JSON: POST with the token.
post() { local p=$1; shift; api "$p" -X POST -H 'Content-Type: application/json' --data "$1"; }

# build_state ID STATE: the API build ID has reached STATE.
build_state() { api "builds/$1" >/dev/null && [ "$(jqb .state)" = "$2" ]; }
# wait_build ID STATE: waits (20 s at most) until build ID is in STATE.
wait_build() { poll_until 20 build_state "$1" "$2"; }
