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

# a FIFO, a directory or a device as the graph file: refused at once, never
# waited on (a FIFO would block an open for reading until a writer came)
mkfifo "$G/fifo.json"
mkdir "$G/dir.json"
for c in "fifo.json|a FIFO" "dir.json|a directory" "/dev/null|a device"; do
	f=${c%%|*}
	expect_exit 2 timeout 10 "$DATABUILD" --graph "$f" plan x/1
	expect_err "databuild: cannot read graph file '$f': not a regular file (${c#*|})"
	expect_exit 2 timeout 10 "$DATABUILD" --graph "$f" mount "$M"
	! is_mounted || fail "mounted a graph file that is not a regular file"
done
pass "a graph file that is not a regular file is refused, not waited on"

# bounds on retries and timeout_s, with the JSON path
graph "$(j a 'x/{k}' | sed 's/}$/,"retries":100000000}/')"
expect_exit 2 db --graph "$G/g.json" build x/4
expect_err "databuild: $G/g.json: jobs[0].retries: expected an integer from 0 to 100, got 100000000"
graph "$(j a 'x/{k}' | sed 's/}$/,"timeout_s":99999999}/')"
expect_exit 2 db --graph "$G/g.json" plan x/4
expect_err "jobs[0].timeout_s: expected an integer from 0 to 2592000, got 99999999"
pass "retries and timeout_s are bounded"
