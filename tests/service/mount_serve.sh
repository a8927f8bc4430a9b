#!/usr/bin/env bash
# `databuild mount --serve`: the mount daemon also serves the HTTP API,
# over the same store, catalog and executor. The link is printed once the
# mount is up; a build asked over HTTP is readable through the mount at
# once (nothing runs twice) and a read through the mount shows in the API;
# unmounting stops the service too. --listen without --serve is refused.
. "$SOURCE_ROOT/tests/service/lib_service.sh"
need_fuse
M=$T/mnt
mkdir -p "$M"
mount_helpers

expect_exit 2 db mount "$M" --listen 127.0.0.1:0
expect_err "go with --serve"
! is_mounted || fail "mounted without --serve"

db mount "$M" --serve --listen 127.0.0.1:0 >"$T/mount.out" 2>"$T/mount.err" ||
	{ cat "$T/mount.err"; fail "databuild mount --serve failed"; }
is_mounted || fail "not mounted"
DAEMON_PID=$(status_field pid)
URL=$(sed -n 's|^databuild: serving \(http://[^/]*\)/?token=.*|\1|p' "$T/mount.out")
TOKEN=$(sed -n 's|^databuild: serving http://.*/?token=\(.*\)|\1|p' "$T/mount.out")
[ -n "$URL" ] && [ -n "$TOKEN" ] || fail "no link printed: $(cat "$T/mount.out")"
[ "$(stat -c %a "$DATABUILD_STORE/serve.url")" = 600 ] || fail "serve.url is not private"
expect_api 200 datasets
pass "mount --serve prints the link of the service it runs"

expect_api 202 builds -X POST -H 'Content-Type: application/json' -d '{"refs":["top/date=1"]}'
top_live() { [ "$(api "partitions/top/date=1")" = 200 ] && [ "$(jqb .partition.status)" = live ]; }
poll_until 30 top_live
runs_before=$(ls "$DATABUILD_STORE/logs" | wc -l)
[ -n "$(cat "$M/top/date=1")" ] || fail "the partition built over HTTP is empty through the mount"
[ "$(ls "$DATABUILD_STORE/logs" | wc -l)" = "$runs_before" ] || fail "reading it ran a job again"
cat "$M/raw/date=2" >/dev/null || fail "reading raw/date=2 through the mount"
expect_api 200 "partitions/raw/date=2"
expect_jq '.partition.status == "live"'
pass "a build over HTTP and a read through the mount are one catalog"

unmount_db
[ ! -e "$DATABUILD_STORE/serve.url" ] || fail "serve.url outlived the daemon"
if curl -s -o /dev/null --max-time 5 "$URL/api/datasets"; then
	fail "the service still answers after the unmount"
fi
pass "unmounting stops the service"
