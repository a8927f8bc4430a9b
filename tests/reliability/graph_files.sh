#!/usr/bin/env bash
# Bad graph files: duplicate labels, overlapping patterns (two jobs whose
# patterns can match one ref), missing executables (the error names the
# path), files that are not executable, a directory, an executable file
# that cannot be executed. Every command that loads the graph fails with
# exit 2 and the graph file's JSON path; the mount refuses to start.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
cd "$G"

j() {  # label pattern [configure] [exec]
	printf '{"label":"%s","outputs":["%s"],"configure":["%s","configure","ok"],"exec":["%s","exec"]}' \
		"$1" "$2" "${3:-jobs/job.sh}" "${4:-jobs/job.sh}"
}
graph() { local IFS=,; printf '{"name":"g","jobs":[%s]}\n' "$*" >"$G/g.json"; }
cp jobs/job.sh jobs/noexec.sh
chmod -x jobs/noexec.sh
mkdir jobs/adir
printf 'this is not a program\n' >jobs/garbage
chmod +x jobs/garbage

cases=(
	"$(j a 'x/{k}'),$(j a 'y/{k}')|jobs[1].label: duplicate label 'a' (also jobs[0])"
	"$(j a 'x/{k}'),$(j b 'x/{j}')|jobs[1].outputs[0]: pattern 'x/{j}' is also an output of job 'a' ('x/{k}')"
	"$(j a 'x/{k}'),$(j b 'x/{k}')|jobs[1].outputs[0]: pattern 'x/{k}' is also an output of job 'a' ('x/{k}')"
	"$(j a 'x/{k}' jobs/missing)|jobs[0].configure[0]: job 'a' configure executable '$G/jobs/missing' does not exist"
	"$(j a 'x/{k}' jobs/job.sh /nonexistent/bin/tool)|jobs[0].exec[0]: job 'a' exec executable '/nonexistent/bin/tool' does not exist"
	"$(j a 'x/{k}' jobs/job.sh jobs/noexec.sh)|jobs[0].exec[0]: job 'a' exec executable '$G/jobs/noexec.sh' is not executable"
	"$(j a 'x/{k}' jobs/noexec.sh)|jobs[0].configure[0]: job 'a' configure executable '$G/jobs/noexec.sh' is not executable"
	"$(j a 'x/{k}' jobs/adir)|jobs[0].configure[0]: job 'a' configure executable '$G/jobs/adir'"
	"$(j a 'x/{k}' no-such-tool-in-path)|jobs[0].configure[0]: job 'a' configure executable 'no-such-tool-in-path' not found in PATH"
)
for c in "${cases[@]}"; do
	graph "${c%%|*}"
	for cmd in "build x/1" "cat x/1" "plan x/1" "lookup x/1" "configure x/1" "exec x/1" "mount $M"; do
		# shellcheck disable=SC2086
		expect_exit 2 db --graph "$G/g.json" $cmd
		expect_err "databuild: $G/g.json: ${c#*|}"
		! is_mounted || fail "mounted a bad graph"
	done
done
[ ! -s "$RUNLOG" ] || fail "a job ran from a bad graph"
pass "duplicate labels, overlapping patterns, missing and non-executable programs"

# patterns that only overlap for some refs: the ambiguous ref is an error
# that names both candidates; the others work
graph "$(j a 'x/{k}')" "$(j b '{d}/1')"
expect_exit 2 db --graph "$G/g.json" build x/1
expect_err "ref 'x/1' is claimed by 2 jobs: a (x/{k}), b ({d}/1)"
expect_exit 0 db --graph "$G/g.json" build x/2 y/1
pass "refs matched by two patterns name both jobs"

# an executable file that is not a program: the job fails saying why
graph "$(j a 'x/{k}' jobs/job.sh jobs/garbage)"
expect_exit 1 db --graph "$G/g.json" build x/3
expect_err "jobs/garbage"
expect_err "Exec format error"
staging_empty || fail "staging not cleaned"
pass "an executable that cannot be executed"
