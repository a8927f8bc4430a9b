# Shared by the executor's shell tests: a graph whose jobs are fixture/job.sh.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
export STATE RUNLOG
mkdir -p "$G/jobs" "$STATE"
: >"$RUNLOG"
cp "$SOURCE_ROOT/tests/executor/fixture/job.sh" "$G/jobs/job.sh"

_job() {  # label [extra json members]
	printf '{"label":"%s","outputs":["%s/{d}"],"configure":["jobs/job.sh","configure","%s"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"%s}' \
		"$1" "$1" "$1" "${2:-}"
}
{
	printf '{"name":"executor_fixture","jobs":['
	sep=
	for k in raw left right top one stdin fail afterfail noout symlink hardlink extra slow block; do
		printf '%s%s' "$sep" "$(_job $k)"
		sep=,
	done
	printf ',%s' "$(_job flaky ',"retries":1')"
	printf ',%s' "$(_job timeout ',"timeout_s":1')"
	printf ',{"label":"multi","outputs":["multi/{part}/{d}"],"configure":["jobs/job.sh","configure","multi"],"exec":["jobs/job.sh","exec"]}'
	printf ']}\n'
} >"$G/databuild.json"

export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store

# runs KIND [D]: how many times job KIND ran (for D).
runs() { grep -c "^$1 ${2:-}" "$RUNLOG" || true; }
data() { echo "$DATABUILD_STORE/data/$1"; }
# staging_empty: no run's staging tree is left; spare trees (store/staging.h)
# hold nothing but directories.
staging_empty() {
	local s=$DATABUILD_STORE/staging
	[ -z "$(ls -A "$s" 2>/dev/null | grep -v '^\.spare-[0-9][0-9]*$')" ] &&
		[ -z "$(find "$s" ! -type d 2>/dev/null)" ]
}
# group_alive PGID: a live (not zombie) process is in the group.
group_alive() { pgrep -g "$1" -r D,R,S,T,t >/dev/null; }
