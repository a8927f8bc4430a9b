# Shared by the scheduler's shell tests: a graph whose jobs are
# fixture/job.sh (raw/date=D, report/date=D reading raw), a clock file
# that every databuild process reads (DATABUILD_NOW=@FILE, core/clock.h),
# and `databuild serve` daemons on free loopback ports.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G/jobs"
cp "$SOURCE_ROOT/tests/scheduler/fixture/job.sh" "$G/jobs/job.sh"
export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store
export COUNT=$T/count
export DATABUILD_NOW=@$T/now
export BLOCK_DIR=$T/block
mkdir -p "$BLOCK_DIR"
: >"$COUNT"

# JOBS: the graph's "jobs" array; report is eager when REPORT_EAGER=true.
jobs_json() {
	printf '[{"label":"raw","outputs":["raw/date={d}"],"configure":["jobs/job.sh","configure"],"exec":["jobs/job.sh","exec"]},'
	printf '{"label":"report","outputs":["report/date={d}"],"configure":["jobs/job.sh","configure"],"exec":["jobs/job.sh","exec"],"eager":%s}]' \
		"${REPORT_EAGER:-false}"
}
# write_graph EXTRA: the graph with EXTRA (top-level members, with a leading comma).
write_graph() {
	printf '{"name":"sched","jobs":%s%s}\n' "$(jobs_json)" "$1" >"$DATABUILD_GRAPH"
}
# set_now TIME: moves every process's clock (written then renamed: no half line).
set_now() { echo "$1" >"$T/now.tmp" && mv "$T/now.tmp" "$T/now"; }
# runs REF: how many times REF's job ran.
runs() { grep -cxF -- "$1" "$COUNT" || true; }
runs_at_least() { [ "$(runs "$1")" -ge "$2" ]; }
# expect_runs REF N
expect_runs() {
	local got
	got=$(runs "$1")
	[ "$got" -eq "$2" ] || { cat "$COUNT"; fail "$1 ran $got times, expected $2"; }
}
# events_of TYPE: the events of TYPE, one JSON line each.
events_of() { "$DATABUILD" events | grep -F "\"type\":\"$1\"" || true; }
nevents() { events_of "$1" | grep -c . || true; }
nevents_at_least() { [ "$(nevents "$1")" -ge "$2" ]; }

# daemon_start NAME: `databuild serve` in the background (pid in PID_NAME),
# returns once it serves.
declare -A PIDS=()
daemon_up() { grep -qs '^databuild: serving http://' "$T/$1.out"; }
daemon_start() {
	rm -f "$T/$1.out"
	"$DATABUILD" serve --listen 127.0.0.1:0 >"$T/$1.out" 2>"$T/$1.err" &
	PIDS[$1]=$!
	poll_until 20 daemon_up "$1"
}
# daemon_stop NAME: SIGTERM; fails unless it exits 0.
daemon_stop() {
	local rc=0
	kill -TERM "${PIDS[$1]}"
	wait "${PIDS[$1]}" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/$1.err"; fail "daemon $1 exited $rc"; }
	unset "PIDS[$1]"
}
_cleanup_daemons() {
	local n
	for n in "${!PIDS[@]}"; do kill -TERM "${PIDS[$n]}" 2>/dev/null; done
	wait 2>/dev/null
}
at_exit _cleanup_daemons
