#!/usr/bin/env bash
# Graph reload while mounted: an edit of the graph file (replaced by
# rename, as editors do) adds and removes datasets in `ls` within a second,
# also where the kernel had cached the names; a broken edit is refused with
# the error in .databuild/status and the daemon's log while the old graph
# stays in force; `databuild reload` reloads on demand and reports a
# refusal (exit 2); a build running across reloads finishes under the
# graph it started with. While a reader waits on a slow job,
# .databuild/status shows the build with its job, run and waiting readers.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
LOG=$DATABUILD_STORE/daemon.log

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }
# within_ms MS CMD...: CMD succeeds within MS milliseconds (polled), else fails.
within_ms() {
	local ms=$1 start
	shift
	start=$(now_ms)
	until "$@"; do
		[ $(($(now_ms) - start)) -lt "$ms" ] || fail "not within ${ms} ms: $*"
		sleep 0.02
	done
}
# graph JOBS...: writes the graph with these jobs of lib_fs.sh (label=pattern), by rename.
graph() {
	local sep= j
	{
		printf '{"name":"fs_fixture","jobs":['
		for j in "$@"; do
			printf '%s%s' "$sep" "$(_job "${j%%=*}" "${j#*=}")"
			sep=,
		done
		printf ']}\n'
	} >"$G/databuild.json.new"
	mv "$G/databuild.json.new" "$G/databuild.json"
}
root() { ls "$M" | tr '\n' ' '; }
root_is() { [ "$(root)" = "$1" ]; }
status_has() { grep -qF -- "$1" "$M/.databuild/status"; }
generation() { status_field generation; }
generation_is() { [ "$(generation)" = "$1" ]; }

mount_db
root_is "badconf block fail hangconf many raw reports summary " || fail "the root lists: $(root)"
generation_is 1 || fail "generation $(generation) at mount"
status_has '"error": null' || fail "a reload error at mount: $(cat "$M/.databuild/status")"

# --- progress: a reader waits on a slow job ---------------------------------
cat "$M/block/key=r" >"$T/block.out" 2>&1 &
reader=$!
poll_until 30 test -e "$STATE/block-r.started"
running_shown() {
	tr -d ' \t\n' <"$M/.databuild/status" >"$T/status.flat"
	grep -qF '"ref":"block/key=r","state":"running","waiters":1,"since_us":' "$T/status.flat" &&
		grep -qF '"job":"block","run_id":"' "$T/status.flat" &&
		grep -qF '"run_state":"running"' "$T/status.flat"
}
poll_until 30 running_shown
[ "$(status_field waiters)" = 1 ] || fail "status counts $(status_field waiters) waiting readers, not 1"
pass "the status shows the build a reader waits on: its job, run, state and readers"
# databuild cat on a terminal (script(1) gives it one) says what it waits for
tty_cat=
if command -v script >/dev/null; then
	script -qec "'$DATABUILD' cat block/key=r" /dev/null >"$T/tty_cat.out" 2>&1 &
	tty_cat=$!
	poll_until 30 grep -q "waiting for block/key=r (job block, run [0-9]*: being built elsewhere)" \
		"$T/tty_cat.out"
	pass "databuild cat on a terminal names the build it waits for"
fi

# --- an edit adds and removes datasets --------------------------------------
ls -d "$M/many" >/dev/null || fail "many/ before the edit"      # a positive entry cached
! ls -d "$M/extra" 2>/dev/null || fail "extra/ before the edit"  # a negative entry cached
graph raw='raw/date={date}' summary='summary/date={date}' report='reports/region=eu/date={date}' \
	block='block/key={key}' fail='fail/key={key}' badconf='badconf/key={key}' \
	hangconf='hangconf/key={key}' extra='extra/date={date}'
# the log line comes once the kernel's caches were told (ls sees the new graph a moment earlier)
within_ms 1000 grep -q "graph '$G/databuild.json' reloaded (changed): generation 2" "$LOG"
root_is "badconf block extra fail hangconf raw reports summary " || fail "the root lists: $(root)"
[ -d "$M/extra" ] || fail "extra/ is not a directory after the reload (a stale negative entry?)"
[ ! -e "$M/many" ] || fail "many/ still exists after the reload (a stale entry?)"
generation_is 2 || fail "generation $(generation) after one edit"
pass "an edit of the graph file adds and removes datasets within a second"

# --- a broken edit is refused ------------------------------------------------
printf '{"name":"fs_fixture","jobs":[{"label":"raw",\n' >"$G/databuild.json.new"
mv "$G/databuild.json.new" "$G/databuild.json"
poll_until 10 status_has '"error": "'
status_has "databuild.json" || fail "the status error does not name the file: $(cat "$M/.databuild/status")"
grep -q "graph reload refused (changed), generation 2 stays in force: .*databuild.json" "$LOG" ||
	{ tail -5 "$LOG"; fail "the daemon's log does not say why the reload was refused"; }
root_is "badconf block extra fail hangconf raw reports summary " || fail "after a broken edit the root lists: $(root)"
generation_is 2 || fail "generation $(generation) after a broken edit"
[ "$(cat "$M/raw/date=7" | wc -l)" = 8 ] || fail "cannot read under the old graph after a broken edit"
pass "a broken edit keeps the old graph, with the error in the status and the log"

# --- databuild reload ---------------------------------------------------------
expect_exit 2 db reload "$M"
expect_err "reload of '$M' refused"
expect_err "databuild.json"
expect_err "generation 2"
expect_exit 2 db reload "$T"
expect_err "is not a databuild mount"
graph raw='raw/date={date}' summary='summary/date={date}' block='block/key={key}'
expect_exit 0 db reload "$M"
expect_out "reloaded the graph of '$M': generation"
status_has '"error": null' || fail "the error stays after a good reload: $(cat "$M/.databuild/status")"
within_ms 1000 root_is "block raw summary "
gen=$(generation)
expect_exit 0 db reload "$M"
generation_is $((gen + 1)) || fail "a forced reload of an unchanged file did not reload"
pass "databuild reload reloads on demand and reports a refused graph (exit 2)"

# --- the build that ran across the reloads finishes ----------------------------
graph raw='raw/date={date}'
no_summary() { [ ! -e "$M/summary" ]; }
within_ms 1000 no_summary
: >"$STATE/block-r.go"
wait "$reader" || fail "the reader of a build that ran across reloads failed: $(cat "$T/block.out")"
[ "$(cat "$T/block.out")" = "block r" ] || fail "the reader got '$(cat "$T/block.out")'"
if [ -n "$tty_cat" ]; then
	wait "$tty_cat" || fail "databuild cat on a terminal failed: $(cat "$T/tty_cat.out")"
	grep -q "block r" "$T/tty_cat.out" || fail "databuild cat on a terminal printed: $(cat "$T/tty_cat.out")"
fi
pass "a build running across reloads (its job removed) finishes under its graph"

# --- command domains run again on reload ------------------------------------------
printf '#!/bin/sh\ncat "$STATE/customers"\n' >"$G/jobs/list.sh"
chmod +x "$G/jobs/list.sh"
printf 'a\nb\n' >"$STATE/customers"
gen=$(generation)
{
	printf '{"name":"fs_fixture","domains":{"customer":{"command":["jobs/list.sh"]}},'
	printf '"jobs":[%s,{"label":"cust","outputs":["cust/id={id}"],' "$(_job raw 'raw/date={date}')"
	printf '"partitions":{"id":"customer"},"configure":["jobs/job.sh","configure","cust"],'
	printf '"exec":["jobs/job.sh","exec"],"version":"1.0.0"}]}\n'
} >"$G/databuild.json.new"
mv "$G/databuild.json.new" "$G/databuild.json"
within_ms 1000 grep -q "reloaded (changed): generation $((gen + 1))" "$LOG"
[ "$(ls "$M/cust" | tr '\n' ' ')" = "id=a id=b " ] || fail "cust/ lists: $(ls "$M/cust" | tr '\n' ' ')"
printf 'a\nb\nc\n' >"$STATE/customers"
[ "$(ls "$M/cust" | tr '\n' ' ')" = "id=a id=b " ] || fail "a command domain ran again without a reload"
expect_exit 0 db reload "$M"
[ "$(ls "$M/cust" | tr '\n' ' ')" = "id=a id=b id=c " ] ||
	fail "after a reload cust/ lists: $(ls "$M/cust" | tr '\n' ' ')"
pass "a reload runs command domains again"

# --- a job executable changes: logged, no reload --------------------------------
gen=$(generation)
touch "$G/jobs/job.sh"
poll_until 10 grep -q "job executable '$G/jobs/job.sh' (job 'raw') changed" "$LOG"
generation_is "$gen" || fail "a changed job executable reloaded the graph"
pass "a changed job executable is logged without a reload"
unmount_db
