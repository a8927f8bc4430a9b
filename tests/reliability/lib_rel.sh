# Shared by the reliability tests: a graph whose jobs are fixture/job.sh
# (one job per way of misbehaving), a store and a mountpoint in the test's
# own temp dir, and mount helpers that always unmount at exit.
. "$SOURCE_ROOT/tests/lib.sh"

REL=${BUILD_ROOT:?}/tests/reliability
G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
M=$T/mnt
MANY=${MANY:-3}
export STATE RUNLOG MANY
mkdir -p "$G/jobs" "$STATE" "$M"
: >"$RUNLOG"
cp "$SOURCE_ROOT/tests/reliability/fixture/job.sh" "$G/jobs/job.sh"

_job() {  # label pattern [extra members] [exec argv]
	printf '{"label":"%s","outputs":["%s"],"configure":["jobs/job.sh","configure","%s"],"exec":%s,"version":"1.0.0"%s}' \
		"$1" "$2" "$1" "${4:-[\"jobs/job.sh\",\"exec\"]}" "${3:-}"
}
write_graph() {
	local sep= k
	printf '{"name":"reliability_fixture","jobs":['
	for k in ok block sig fill fifo dir dev cfg escape escape_noenv; do
		printf '%s%s' "$sep" "$(_job $k "$k/{k}")"
		sep=,
	done
	printf ',%s' "$(_job hang 'hang/{k}' ',"timeout_s":1')"
	printf ',%s' "$(_job many 'many/n={n}')"
	printf ',%s' "$(_job fds 'fds/{k}' '' "[\"$REL/rel_fds\"]")"
	printf ']}\n'
}
write_graph >"$G/databuild.json"

export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store

# runs KIND [REF]: how many times job KIND ran (for REF).
runs() { grep -c "^$1 ${2:-}" "$RUNLOG" || true; }
data() { echo "$DATABUILD_STORE/data/$1"; }
# staging_empty: no run's staging tree is left; spare trees (store/staging.h)
# hold nothing but directories.
staging_empty() {
	local s=$DATABUILD_STORE/staging
	[ -z "$(ls -A "$s" 2>/dev/null | grep -v '^\.spare-[0-9][0-9]*$')" ] &&
		[ -z "$(find "$s" ! -type d 2>/dev/null)" ]
}

# catalog_agrees: every live partition's bytes (at <store>/data/REF) hash as
# its catalog row says, and `databuild path` of a few of them (all with
# AGREE_PATHS=all) names that file. Prints what differs.
catalog_agrees() {
	"$DATABUILD" ls --status live --json >"$T/live.jsonl" || { echo "ls failed"; return 1; }
	python3 - "$T/live.jsonl" "$DATABUILD" "$DATABUILD_STORE/data" "${AGREE_PATHS:-some}" <<'PY'
import hashlib, json, random, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
bad = 0
for i, r in enumerate(rows):
    path = sys.argv[3] + "/" + r["ref"]
    try:
        got = hashlib.sha256(open(path, "rb").read()).hexdigest()
    except OSError as e:
        got = str(e)
    if r["status"] != "live" or got != r["sha256"]:
        print(f"{r['ref']}: {r['status']}, data {got}, catalog {r['sha256']}"); bad = 1
    if sys.argv[4] == "all" or i < 2 or random.random() < 0.05:
        p = subprocess.run([sys.argv[2], "path", r["ref"]], capture_output=True, text=True)
        if p.returncode != 0 or p.stdout.rstrip("\n") != path:
            print(f"{r['ref']}: databuild path says {p.stdout!r} {p.stderr!r}"); bad = 1
sys.exit(bad)
PY
}

# Mounting (only for the tests that need it).
mount_helpers
