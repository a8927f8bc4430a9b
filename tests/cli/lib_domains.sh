# Shared by the status and backfill tests: a graph with partition domains
# whose jobs are fixture/job.sh.
#   ingest  raw/station={station}/date={date}   station: values north, south, east
#                                               date: day2024 (dates 2024-01-01..2024-12-31)
#   report  report/date={date}                  reads the three stations' raw of its date
#   shards  shard/n={n}                         n: ints 0..99999 (1000 refs a run)
#   free    free/key={key}                      open-ended
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
export STATE RUNLOG
mkdir -p "$G/jobs" "$STATE"
: >"$RUNLOG"
cp "$SOURCE_ROOT/tests/cli/fixture/job.sh" "$G/jobs/job.sh"

_job() {  # label output partitions
	printf '{"label":"%s","outputs":["%s"],"partitions":%s,"configure":["jobs/job.sh","configure","%s"],"exec":["jobs/job.sh","exec"],"version":"1.0.0"}' \
		"$1" "$2" "$3" "$1"
}
cat >"$G/databuild.json" <<JSON
{"name": "domains_fixture",
 "domains": {
   "day2024": {"dates": {"start": "2024-01-01", "end": "2024-12-31"}},
   "station": {"values": ["north", "south", "east"]},
   "shard": {"ints": {"start": 0, "end": 99999}}
 },
 "jobs": [
  $(_job ingest 'raw/station={station}/date={date}' '{"station": "station", "date": "day2024"}'),
  $(_job report 'report/date={date}' '{"date": "day2024"}'),
  $(_job shards 'shard/n={n}' '{"n": "shard"}'),
  $(_job free 'free/key={key}' '{}')
 ]}
JSON

export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store

# runs KIND REF: how many times REF was built by job KIND.
runs() { grep -cxF "$1 $2" "$RUNLOG" || true; }
