#!/usr/bin/env bash
# databuild serve: the token, the cookie and its origin check, paths that
# try to leave the API, malformed requests, where it may listen.
. "$SOURCE_ROOT/tests/service/lib_service.sh"

expect_exit 0 db build raw/date=1
serve_start
TF=$DATABUILD_STORE/serve.token
[ "$(stat -c %a "$TF")" = 600 ] || fail "serve.token mode $(stat -c %a "$TF")"
[ "$(cat "$TF")" = "$TOKEN" ] || fail "the printed token is not serve.token's"
pass "serve.token is created 0600 and printed in the link"

# WRONG: a token that differs from TOKEN in its last digit
case $TOKEN in *0) WRONG=${TOKEN%?}1 ;; *) WRONG=${TOKEN%?}0 ;; esac

# curl_code ARGS...: the status of a request made without the token helper
curl_code() { curl -sS -o "$T/body" -w '%{http_code}' "$@"; }

# --- 401 without the token, or with a wrong one
for path in datasets partitions partitions/raw/date=1 graph?ref=raw/date=1 runs runs/1 \
	runs/1/log events builds/1; do
	got=$(curl_code "$URL/api/$path")
	[ "$got" = 401 ] || fail "$path without a token: $got"
	jq -e '.error | contains("no token")' "$T/body" >/dev/null || fail "$path: $(cat "$T/body")"
done
got=$(curl_code -X POST --data '{"refs":["raw/date=2"]}' "$URL/api/builds")
[ "$got" = 401 ] || fail "POST builds without a token: $got"
got=$(curl_code -H "Authorization: Bearer $WRONG" "$URL/api/datasets")
[ "$got" = 401 ] || fail "a wrong bearer token: $got"
got=$(curl_code -H "Authorization: Basic $TOKEN" "$URL/api/datasets")
[ "$got" = 401 ] || fail "a Basic header: $got"
got=$(curl_code -H "Cookie: databuild_token=nope" "$URL/api/datasets")
[ "$got" = 401 ] || fail "a wrong cookie: $got"
[ ! -e "$DATABUILD_STORE/data/raw/date=2" ] || fail "a build ran without a token"
pass "401 without the token or with a wrong one"

# --- the cookie: set by /?token=, HttpOnly, SameSite=Strict
got=$(curl_code "$URL/?token=$WRONG")
[ "$got" = 401 ] || fail "/?token=wrong: $got"
got=$(curl_code -D "$T/headers" -c "$T/jar" "$URL/?token=$TOKEN")
[ "$got" = 303 ] || fail "/?token=: $got"
grep -i '^Set-Cookie: databuild_token=' "$T/headers" | grep -qi 'HttpOnly' ||
	fail "cookie not HttpOnly: $(cat "$T/headers")"
grep -i '^Set-Cookie: databuild_token=' "$T/headers" | grep -qi 'SameSite=Strict' ||
	fail "cookie not SameSite=Strict: $(cat "$T/headers")"
got=$(curl_code -b "$T/jar" "$URL/api/datasets")
[ "$got" = 200 ] || fail "GET with the cookie: $got"
pass "/?token= sets an HttpOnly SameSite=Strict cookie that reads the API"

# --- state changes with the cookie need the server's own Origin
body='{"refs":["raw/date=1"]}'
got=$(curl_code -b "$T/jar" -H 'Origin: http://evil.example' -X POST --data "$body" "$URL/api/taint")
[ "$got" = 403 ] || fail "cookie POST from a foreign origin: $got"
jq -e '.error | contains("header '"'Origin'"'")' "$T/body" >/dev/null || fail "$(cat "$T/body")"
got=$(curl_code -b "$T/jar" -X POST --data "$body" "$URL/api/taint")
[ "$got" = 403 ] || fail "cookie POST without an Origin: $got"
got=$(curl_code -b "$T/jar" -H "Origin: $URL" -X POST --data '{"refs":["raw/date=1"]}' \
	"$URL/api/builds/999/cancel")
[ "$got" = 404 ] || fail "cookie POST from the own origin: $got"
expect_exit 0 db ls --status live
expect_out raw/date=1
got=$(curl_code -b "$T/jar" -H "Origin: $URL" -X POST --data "$body" "$URL/api/taint")
[ "$got" = 200 ] || fail "cookie taint from the own origin: $got $(cat "$T/body")"
expect_exit 0 db ls --status tainted
expect_out raw/date=1
got=$(api taint -X POST --data "$body")
[ "$got" = 200 ] || fail "bearer POST without an Origin: $got"
pass "a cookie POST needs the server's origin; a bearer POST does not"

# --- paths that try to leave the API
for p in /../../etc/passwd /api/../../etc/passwd /api/partitions/../../../etc/passwd \
	/./api/datasets /api//datasets; do
	got=$(curl_code --path-as-is -H "Authorization: Bearer $TOKEN" "$URL$p")
	case $got in 400|404) ;; *) fail "$p: $got" ;; esac
	! grep -q 'root:' "$T/body" || fail "$p served a file"
	jq -e .error "$T/body" >/dev/null || fail "$p: not a JSON error: $(cat "$T/body")"
done
got=$(curl_code --path-as-is -H "Authorization: Bearer $TOKEN" "$URL/api/partitions/%2e%2e/%2e%2e/etc/passwd")
[ "$got" = 400 ] || fail "encoded ..: $got"
got=$(curl_code "$URL/etc/passwd")
[ "$got" = 404 ] || fail "/etc/passwd: $got"
pass "paths with .. and unknown paths get 400 or 404"

# --- malformed requests never crash it
for body in '' 'null' '[' '{"refs": "raw/date=1"}' '{"refs": [1]}' '{"refs": ["a/../b"]}' \
	'{"refs": []}' "$(printf '{"refs": ["a\\u0001b"]}')"; do
	got=$(api builds -X POST --data "$body")
	[ "$got" = 400 ] || fail "body '$body': $got"
	jq -e .error "$T/body" >/dev/null || fail "body '$body': $(cat "$T/body")"
done
api builds -X POST --data '{"refs": ["a/../b"]}' >/dev/null
jq -e '.error | contains("refs[0]: invalid ref '"'a/../b'"'")' "$T/body" >/dev/null ||
	fail "the error does not name the ref: $(cat "$T/body")"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/big"
got=$(api builds -X POST --data-binary "@$T/big")
[ "$got" = 413 ] || fail "a 2 MB body: $got"
got=$(api taint -X POST --data '{"refs": ["raw/date=1"], "downstream": "yes"}')
[ "$got" = 400 ] || fail "downstream yes: $got"
got=$(api taint -X POST --data '{"refs": ["raw/date=77"]}')
[ "$got" = 404 ] || fail "taint of an unknown partition: $got"
jq -e '.error | contains("'"'raw/date=77'"'")' "$T/body" >/dev/null || fail "$(cat "$T/body")"
hostport=${URL#http://}
exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
printf 'GARBAGE\r\n\r\n' >&3
timeout 10 cat <&3 >"$T/raw" || fail "the server kept a garbage request open"
exec 3<&-
# it closes the connection, with a 400 or without a word
[ ! -s "$T/raw" ] || grep -q '^HTTP/1.1 400' "$T/raw" || fail "garbage: $(cat "$T/raw")"
expect_api 200 datasets
pass "malformed requests get 400, 404 or 413 and the server stays up"

# --- a client that stalls mid-request holds only its own connection
exec 4<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
printf 'POST /api/builds HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"re' >&4
exec 5<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
printf 'GET /api/datasets HTTP/1.1\r\n' >&5
expect_api 200 datasets
expect_api 200 "partitions/raw/date=1"
exec 4<&- 5<&-
pass "stalled clients do not block others"
serve_stop TERM
pass "SIGTERM stops it with exit 0"

# --- where it may listen, the token file's mode
expect_exit 2 db serve --listen 0.0.0.0:0
expect_err "not a loopback address"
expect_err "--allow-remote"
expect_exit 2 db serve --listen nowhere
expect_err "listen address 'nowhere'"
expect_exit 2 db serve --listen 127.0.0.1:99999
expect_err "port '99999'"
expect_exit 2 db serve extra
expect_err "serve: unexpected argument 'extra'"
chmod 644 "$TF"
expect_exit 2 db serve --listen 127.0.0.1:0
expect_err "serve.token"
expect_err "refused"
chmod 600 "$TF"
serve_start --allow-remote
serve_stop
rm -f "$T/serve.out"
"$DATABUILD" serve --listen 0.0.0.0:0 --allow-remote >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
poll_until 20 serve_line
grep -q 'WARNING' "$T/serve.err" || fail "no warning for a remote address: $(cat "$T/serve.err")"
serve_stop
pass "non-loopback needs --allow-remote and warns; an unsafe token file is refused"
