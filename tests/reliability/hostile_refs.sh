#!/usr/bin/env bash
# Refs that try to escape the store, from the command line, from configure
# output (outputs and inputs) and from the graph file's patterns: each is
# refused with exit 2 and an error that names it; nothing is written
# outside the store. Names that only look like tricks (%2e%2e, backslashes,
# unicode dots, quotes) are ordinary names: they stay inside the store.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

long_seg=$(printf 'a%.0s' {1..256})
long_ref=$(for i in {1..6}; do printf 'b%.0s' {1..200}; printf /; done)x
bad_refs=(
	".." "../escaped" "ok/../../escaped" "ok/.." "ok/." "./ok/a" "/etc/passwd" "/"
	"ok//a" "ok/a/" "" "ok/$long_seg" "$long_ref"
	$'ok/a\001' $'ok/a\tb' $'ok/a\nb' $'ok/\177' $'ok/\033[2J'
	$'ok/\300\256\300\256' $'ok/\355\240\200' $'ok/\377'
	".databuild/status" "ok/a.manifest.json" "ok/a.error"
)
n=0
for ref in "${bad_refs[@]}"; do
	for c in build cat plan show path taint lookup configure exec; do
		expect_exit 2 db $c "$ref"
		grep -q "invalid ref\|needs at least one\|usage:" "$T/err" || { cat "$T/err"; fail "$c '$ref': no 'invalid ref' error"; }
		[ "$(wc -l <"$T/err")" -le 2 ] || { cat "$T/err"; fail "$c '$ref': more than a short error"; }
		n=$((n + 1))
	done
done
[ ! -s "$RUNLOG" ] || { cat "$RUNLOG"; fail "a job ran for an invalid ref"; }
[ ! -e "$T/escaped" ] && [ ! -e "$DATABUILD_STORE/escaped" ] && [ ! -e "/escaped" ] || fail "something escaped"
pass "$n command-line uses of ${#bad_refs[@]} bad refs: exit 2, 'invalid ref'"

# names that merely look like tricks are names; they stay in data/
odd_refs=("ok/%2e%2e" "ok/%2e%2e%2fescaped" "ok/..%2fescaped" "ok/a\\..\\..\\escaped" "ok/․․"
	"ok/．．" "ok/a／b" 'ok/q"uote' "ok/a b" "ok/-rf" "ok/a%00b" "ok/$long_seg")
long_seg_ok=${long_seg:1}
odd_refs[11]=ok/$long_seg_ok
expect_exit 0 db build "${odd_refs[@]}"
for ref in "${odd_refs[@]}"; do
	[ "$(cat "$(data "$ref")")" = "ok $ref" ] || fail "'$ref' is not at data/$ref"
	p=$(db path "$ref") && [ "$p" = "$(data "$ref")" ] || fail "databuild path '$ref': $p"
done
[ "$(find "$DATABUILD_STORE/data" -type f | wc -l)" = "${#odd_refs[@]}" ] || fail "unexpected files in data/"
[ ! -e "$T/escaped" ] && [ ! -e "$DATABUILD_STORE/escaped" ] || fail "something escaped"
catalog_agrees || fail "catalog and store disagree"
pass "look-alike names (%2e%2e, backslashes, unicode dots and slashes) stay inside the store"

# configure answers that name escaping outputs or inputs
cfg() { printf 'cat <<"JSON"\n%s\nJSON\n' "$1" >"$STATE/cfg.sh"; }
cfg_cases=(
	'[{"outputs":["cfg/x","../escaped"]}]|[0].outputs[1]'
	'[{"outputs":["cfg/x","/tmp/escaped"]}]|[0].outputs[1]'
	'[{"outputs":["cfg/x","cfg/../../escaped"]}]|[0].outputs[1]'
	'[{"outputs":["cfg/x","cfg/a\u0000b"]}]|\u0000 in a string is not supported'
	'[{"outputs":["cfg/x","cfg/\u0001"]}]|[0].outputs[1]'
	'[{"outputs":["cfg/x"],"inputs":[{"dep_type":"materialize","ref":"../escaped"}]}]|[0].inputs[0].ref'
	'[{"outputs":["cfg/x"],"inputs":[{"dep_type":"query","ref":"/etc/passwd"}]}]|[0].inputs[0].ref'
	'[{"outputs":["cfg/x"],"inputs":[{"dep_type":"materialize","ref":"ok/.."}]}]|[0].inputs[0].ref'
	'[{"outputs":["cfg/x",".databuild/status"]}]|[0].outputs[1]'
)
for c in "${cfg_cases[@]}"; do
	cfg "${c%|*}"
	for cmd in build plan configure; do
		expect_exit 2 db $cmd cfg/x
		expect_err "job 'cfg'"
		expect_err "${c##*|}"
		grep -q "invalid ref\|not supported" "$T/err" || { cat "$T/err"; fail "$cmd: ${c%|*}"; }
	done
done
[ ! -e "$T/escaped" ] && [ ! -e /tmp/escaped ] || fail "something escaped"
[ "$(runs cfg)" = 0 ] || fail "a job ran after an invalid configure answer"
pass "escaping refs in configure output: exit 2 naming the job and the JSON path"

# patterns in the graph file
pat_cases=('../{k}' '/abs/{k}' 'a/../{k}' '{k}/..' 'a//{k}' './{k}' '.databuild/{k}' '{k}/x.manifest.json')
for p in "${pat_cases[@]}"; do
	printf '{"name":"bad","jobs":[{"label":"bad","outputs":["%s"],"configure":["jobs/job.sh","configure","ok"],"exec":["jobs/job.sh","exec"]}]}\n' \
		"$p" >"$T/bad.json"
	expect_exit 2 db --graph "$T/bad.json" build x/y
	expect_err "jobs[0].outputs[0]"
	expect_exit 2 db --graph "$T/bad.json" lookup x/y
	expect_err "jobs[0].outputs[0]"
done
# a pattern value cannot smuggle a '/' or '..' into one segment
expect_exit 2 db lookup "ok/a/b"
expect_exit 2 db build "ok/.."
pass "escaping patterns in the graph file: exit 2 naming the JSON path"

# names looked up through the mount: invalid ones do not exist (and build
# nothing); look-alikes are ordinary partitions; every listed name can be
# looked up (find walks the whole tree without an error)
need_fuse
mount_db
: >"$RUNLOG"
for name in $'a\001' $'a\nb' $'\377' $'\300\256\300\256' $'\355\240\200' a.manifest.json a.error; do
	expect_exit 1 cat "$M/ok/$name"
	grep -q "No such file or directory\|Invalid argument" "$T/err" || { cat "$T/err"; fail "mount lookup of '$name'"; }
done
expect_exit 1 cat "$M/.databuild/nope"
[ ! -s "$RUNLOG" ] || { cat "$RUNLOG"; fail "an invalid name looked up through the mount ran a job"; }
[ "$(cat "$M/ok/%2e%2e")" = "ok ok/%2e%2e" ] || fail "ok/%2e%2e through the mount"
[ "$(cat "$M/ok/$long_seg_ok")" = "ok ok/$long_seg_ok" ] || fail "a 255-byte name through the mount"
find "$M" -printf "%s %p\\n" >"$T/find" 2>"$T/find.err" || { cat "$T/find.err"; fail "find over the mount reported errors"; }
unmount_db
pass "hostile names through the mount: nothing found, nothing built; find walks the tree"
