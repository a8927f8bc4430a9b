# Shared by the filesystem tests: a graph whose jobs are fixture/job.sh,
# a store and a mountpoint in the test's own temp dir, and mount helpers
# that always unmount at exit.
. "$SOURCE_ROOT/tests/lib.sh"
need_fuse

G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
M=$T/mnt
MANY=${MANY:-3}
export STATE RUNLOG MANY
mkdir -p "$G/jobs" "$STATE" "$M"
: >"$RUNLOG"
cp "$SOURCE_ROOT/tests/fs/fixture/job.sh" "$G/jobs/job.sh"

_job() {  # label pattern
	printf '{"label":"%s","outputs":["%s"],"configure":["jobs/job.sh","configure","%s"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"}' \
		"$1" "$2" "$1"
}
{
	printf '{"name":"fs_fixture","jobs":[%s' "$(_job raw 'raw/date={date}')"
	printf ',%s' "$(_job summary 'summary/date={date}')"
	printf ',%s' "$(_job report 'reports/region=eu/date={date}')"
	printf ',%s' "$(_job block 'block/key={key}')"
	printf ',%s' "$(_job fail 'fail/key={key}')"
	printf ',%s' "$(_job many 'many/n={n}')"
	printf ',%s' "$(_job badconf 'badconf/key={key}')"
	printf ',%s' "$(_job hangconf 'hangconf/key={key}')"
	printf ']}\n'
} >"$G/databuild.json"

export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store

# runs KIND [D]: how many times job KIND ran (for D).
runs() { grep -c "^$1 ${2:-}" "$RUNLOG" || true; }
mount_helpers
