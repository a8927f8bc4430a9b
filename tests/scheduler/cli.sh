#!/usr/bin/env bash
# `databuild schedules` lists schedules (cron, time zone, catch-up, last
# and next tick), freshness policies and eager jobs, as text and JSON;
# mistakes in them are configuration errors naming the JSON path (exit 2).
. "$SOURCE_ROOT/tests/scheduler/lib_sched.sh"

REPORT_EAGER=true write_graph ',"schedules":[
  {"name":"nightly","cron":"0 2 * * *","timezone":"Europe/Berlin","start":"2024-03-05",
   "build":["report/date={today-1d}"],"catch_up":"all"},
  {"name":"hourly","cron":"@hourly","build":["raw/date={today:%Y%m%d}"]}],
  "freshness":{"raw":{"max_age":"26h"}}'
set_now 2024-03-03T03:00:00Z
# no store yet: no last tick, nothing is created
expect_exit 0 db schedules
[ ! -e "$DATABUILD_STORE" ] || fail "schedules created the store"
expect_out "nightly"
expect_out "0 2 * * *"
expect_out "Europe/Berlin"
# the first tick not before start: 2024-03-05 02:00 in Berlin
expect_out "2024-03-05T01:00:00Z"
expect_out "2024-03-03T04:00:00Z"
expect_out "raw                              26h"
expect_out "eager jobs: report"
expect_exit 0 db schedules --json
jq -e '.schedules[0] == {"name":"nightly","cron":"0 2 * * *","timezone":"Europe/Berlin",
  "start":"2024-03-05","catch_up":"all","build":["report/date={today-1d}"],
  "last_tick":null,"next_tick":"2024-03-05T01:00:00Z","next_refs":["report/date=2024-03-04"]}' \
	"$T/out" >/dev/null || { cat "$T/out"; fail "unexpected JSON"; }
jq -e '.schedules[1].timezone == "UTC" and .schedules[1].catch_up == "latest" and
  .schedules[1].next_refs == ["raw/date=20240303"]' "$T/out" >/dev/null ||
	{ cat "$T/out"; fail "unexpected JSON defaults"; }
jq -e '.freshness == [{"dataset":"raw","max_age":"26h","max_age_s":93600}] and
  .eager == ["report"]' "$T/out" >/dev/null || { cat "$T/out"; fail "unexpected policies"; }

# the last tick comes from the catalog
daemon_start a
poll_until 30 runs_at_least raw/date=20240303 1
daemon_stop a
expect_exit 0 db schedules --json
jq -e '.schedules[1].last_tick == "2024-03-03T03:00:00Z" and .schedules[0].last_tick == null' \
	"$T/out" >/dev/null || { cat "$T/out"; fail "no last tick"; }

# bad_graph EXTRA MESSAGE: the graph with EXTRA is refused with MESSAGE
bad_graph() {
	write_graph "$1"
	expect_exit 2 db schedules
	expect_err "$2"
}
# sched MEMBERS: a schedules array of one schedule with MEMBERS (and
# defaults for the members not given)
sched() {
	local m=$1
	case $m in *'"name"'*) ;; *) m="$m,\"name\":\"s\"" ;; esac
	case $m in *'"cron"'*) ;; *) m="$m,\"cron\":\"0 2 * * *\"" ;; esac
	case $m in *'"build"'*) ;; *) m="$m,\"build\":[\"report/date={today}\"]" ;; esac
	printf ',"schedules":[{%s}]' "${m#,}"
}
bad_graph "$(sched '"cron":"0 25 * * *"')" \
	"schedules[0].cron: cron '0 25 * * *': hour '25' is outside 0-23"
bad_graph "$(sched '"cron":"0 2 * *"')" "schedules[0].cron: expected 5 fields"
bad_graph "$(sched '"cron":"*/0 2 * * *"')" "schedules[0].cron: cron '*/0 2 * * *': minute: expected"
bad_graph "$(sched '"cron":"0 0 31 2 *"')" "schedules[0].cron: cron '0 0 31 2 *' never fires"
bad_graph "$(sched '"timezone":"Mars/Olympus"')" \
	"schedules[0].timezone: unknown time zone 'Mars/Olympus'"
bad_graph "$(sched '"timezone":"../../etc/passwd"')" \
	"schedules[0].timezone: invalid time zone '../../etc/passwd'"
bad_graph "$(sched '"build":["report/date={yesterday}"]')" \
	"schedules[0].build[0]: unknown placeholder '{yesterday}'"
bad_graph "$(sched '"build":["report/date={today"]')" "schedules[0].build[0]: unclosed '{'"
bad_graph "$(sched '"build":["nothing/date={today}"]')" \
	"schedules[0].build[0]: no job produces 'nothing/date="
bad_graph "$(sched '"catch_up":"some"')" \
	"schedules[0].catch_up: expected \"latest\" or \"all\", got 'some'"
bad_graph "$(sched '"start":"March"')" "schedules[0].start: expected a date like 2024-03-01"
bad_graph "$(sched '"name":"no way"')" "schedules[0].name: invalid schedule name 'no way'"
write_graph ',"schedules":[{"name":"s","cron":"@daily","build":["raw/date={today}"]},
  {"name":"s","cron":"@daily","build":["raw/date={today}"]}]'
expect_exit 2 db schedules
expect_err "schedules[1].name: duplicate schedule name 's' (also schedules[0])"
bad_graph ',"freshness":{"raw":{"max_age":"26 hours"}}' \
	"freshness.raw.max_age: expected a duration like 26h"
bad_graph ',"freshness":{"nothing":{"max_age":"1h"}}' \
	"freshness.nothing: no job produces partitions of dataset 'nothing'"
REPORT_EAGER='"yes"' bad_graph '' 'jobs[1].eager: expected true or false, got a string'
# a daemon refuses to start with them too
expect_exit 2 db serve --listen 127.0.0.1:0
expect_err "jobs[1].eager: expected true or false"
pass "databuild schedules, and mistakes in triggers"
