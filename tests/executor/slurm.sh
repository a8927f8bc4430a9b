#!/usr/bin/env bash
# --executor slurm: configuration errors exit 2; with a cluster (scripts/services),
# each run is a Slurm job with the job protocol intact, --slurm-opt reaches srun,
# logs land in the store, exit statuses, signals, srun errors and timeouts map
# to run failures, and no Slurm job outlives a timed-out run.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
mkdir -p "$G"
cat >"$G/configure.sh" <<'SH'
#!/bin/sh
# configure KIND REF...: one config per ref, args KIND D
kind=$1; shift
printf '['; sep=
for ref in "$@"; do
	printf '%s{"outputs":["%s"],"args":["%s","%s"],"env":{"GREETING":"hi %s"}}' \
		"$sep" "$ref" "$kind" "${ref##*/}" "${ref##*/}"
	sep=,
done
printf ']\n'
SH
cat >"$G/exec.sh" <<'SH'
#!/bin/sh
kind=$1 d=$2
cfg=$(cat)
mkdir -p "$DATABUILD_OUTPUT_DIR/$kind"
o=$DATABUILD_OUTPUT_DIR/$kind/$d
echo "to the log from $kind $d"
case $kind in
env)
	{
		echo "job=${SLURM_JOB_ID:-none}"
		echo "name=${SLURM_JOB_NAME:-none}"
		echo "cpus=${SLURM_CPUS_PER_TASK:-none}"
		echo "greeting=$GREETING"
		echo "run=$DATABUILD_RUN_ID"
		echo "cwd=$(pwd)"
		case $cfg in *'"outputs"'*) echo "stdin=config" ;; *) echo "stdin=$cfg" ;; esac
	} >"$o" ;;
status) exit 3 ;;
signal) echo "last words of $d" >&2; kill -KILL $$ ;;
slow) echo "${SLURM_JOB_ID:-}" >"$STATE/slow-$d.job"; sleep 1000 ;;
esac
SH
chmod +x "$G/configure.sh" "$G/exec.sh"
job() {
	printf '{"label":"%s","outputs":["%s/{d}"],"configure":["./configure.sh","%s"],"exec":["./exec.sh"],"version":"1.0.0"%s}' \
		"$1" "$1" "$1" "${2:-}"
}
printf '{"name":"slurm","jobs":[%s,%s,%s,%s]}\n' "$(job env)" "$(job status)" "$(job signal)" \
	"$(job slow ',"timeout_s":1')" >"$G/databuild.json"
STATE=$T/state
mkdir -p "$STATE"
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store STATE
data() { echo "$DATABUILD_STORE/data/$1"; }

# --- configuration errors: exit 2 before anything runs, naming what is wrong
expect_exit 2 db --executor nosuch build env/a
expect_err "unknown executor 'nosuch'"
DATABUILD_EXECUTOR=nosuch expect_exit 2 db build env/a
expect_err "DATABUILD_EXECUTOR: unknown executor 'nosuch'"
SLURM_CONF=$T/no-such.conf expect_exit 2 db --executor slurm build env/a
grep -qF "no-such.conf" "$T/err" || grep -qF "command 'srun' not found" "$T/err" ||
	{ cat "$T/err"; fail "the Slurm configuration error does not name the file"; }
[ ! -e "$(data env/a)" ] || fail "a build ran despite a configuration error"
pass "configuration errors exit 2"

[ "${DATABUILD_TEST_SLURM:-}" = 1 ] && [ -n "${SLURM_CONF:-}" ] ||
	skip "no Slurm cluster (eval \"\$(scripts/services start)\" sets DATABUILD_TEST_SLURM)"

# --- a run is a Slurm job; the protocol (stdin, env, cwd) is intact; --slurm-opt reaches srun
expect_exit 0 db --executor slurm --slurm-opt --cpus-per-task=2 build env/a
f=$(data env/a)
grep -q '^job=[0-9][0-9]*$' "$f" || { cat "$f"; fail "the run was not a Slurm job"; }
grep -q '^name=databuild-' "$f" || { cat "$f"; fail "the Slurm job is not named after the run"; }
grep -qx 'cpus=2' "$f" || { cat "$f"; fail "--slurm-opt --cpus-per-task=2 did not reach srun"; }
grep -qx 'greeting=hi a' "$f" || { cat "$f"; fail "the config's env did not reach the job"; }
grep -qx 'stdin=config' "$f" || { cat "$f"; fail "the job's stdin was not its JobConfig"; }
grep -qx "cwd=$G" "$f" || { cat "$f"; fail "the job did not run in the graph's directory"; }
run=$(sed -n 's/^run=//p' "$f")
grep -qF "to the log from env a" "$DATABUILD_STORE/logs/$run.log" ||
	fail "the job's stdout is not in its log in the store"
pass "a run is a Slurm job with the job protocol intact"

# DATABUILD_SLURM_OPTS words come first; --slurm-opt adds to them
DATABUILD_SLURM_OPTS="--cpus-per-task=3" expect_exit 0 db --executor slurm build env/b
grep -qx 'cpus=3' "$(data env/b)" || fail "DATABUILD_SLURM_OPTS did not reach srun"

# --- failures map as for local runs
expect_exit 1 db --executor slurm build status/a
expect_err "exited with status 3"
expect_exit 1 db --executor slurm build signal/a
expect_err "killed by signal 9"
expect_exit 1 db --executor slurm --slurm-opt --partition=no-such-partition build env/c
expect_err "could not be run by Slurm"
expect_err "no-such-partition"
[ ! -e "$(data status/a)" ] && [ ! -e "$(data signal/a)" ] && [ ! -e "$(data env/c)" ] ||
	fail "a failed run published"
pass "exit status, signal and srun errors map to failed runs"

# --- the last lines of a job killed by a signal reach its log (srun's own
# forwarding drops them about one time in four), also in a store whose path
# holds the characters of srun's filename patterns
S2="$T/store 100%t %%"
main_catalog=${DATABUILD_CATALOG-}
new_test_catalog   # (a catalog serves one store)
DATABUILD_STORE=$S2 expect_exit 1 db --executor slurm build -j 5 signal/1 signal/2 signal/3 signal/4 signal/5
for d in 1 2 3 4 5; do
	log=$(grep -l "to the log from signal $d\$" "$S2"/logs/*.log) ||
		fail "no log in '$S2/logs' holds the run of signal/$d"
	grep -qx "last words of $d" "$log" || { cat "$log"; fail "the killed job's last line is not in $log"; }
	grep -q "task 0: Killed" "$log" || { cat "$log"; fail "srun's line is not in $log"; }
done
pass "a killed job's last lines are in its log"

# the log link is checked: something else under its name fails the run, named
rm "$S2/logs/.task0"
echo "not a link" >"$S2/logs/.task0"
DATABUILD_STORE=$S2 expect_exit 1 db --executor slurm build env/d
expect_err "$S2/logs/.task0' is not a symlink to '.'"
[ "$(cat "$S2/logs/.task0")" = "not a link" ] || fail "the file in the link's place was changed"
pass "a log link that is not one fails the run, naming it"
[ -z "$main_catalog" ] || DATABUILD_CATALOG=$main_catalog

# --- a timeout ends the Slurm job too
expect_exit 1 db --executor slurm build slow/a
expect_err "timed out after 1 s"
id=$(cat "$STATE/slow-a.job")
[ -n "$id" ] || fail "the timed-out job did not see SLURM_JOB_ID"
slurm_job_gone() { [ -z "$(squeue -h -j "$id" 2>/dev/null)" ]; }
poll_until 60 slurm_job_gone
pass "slurm executor"
