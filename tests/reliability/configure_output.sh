#!/usr/bin/env bash
# Hostile configure output: huge (100 MB), deeply nested (100,000 '['),
# not UTF-8 (in a ref and in a plain string), a lone surrogate escape,
# output that never ends (fast: the 256 MiB output limit; slow: the
# configure timeout), and a configure that exits while a child still holds
# its stdout. Each is an error naming the job (exit 2) with a short
# message, or — for valid JSON — a successful build.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

cfg() { printf '%s\n' "$1" >"$STATE/cfg.sh"; }
VALID='[{"outputs":["cfg/x"],"args":["ok","cfg/x"]}]'
short_err() { [ "$(wc -c <"$T/err")" -lt 8192 ] || fail "$1: the error is $(wc -c <"$T/err") bytes long"; }

# 100 MB of whitespace before a valid answer: it is JSON, the build works
cfg "head -c 100000000 /dev/zero | tr '\\0' ' '; echo '$VALID'"
expect_exit 0 db build cfg/x
[ "$(cat "$(data cfg/x)")" = "ok cfg/x" ] || fail "cfg/x after a 100 MB answer"
# 100 MB that is not JSON: one short error with the position
cfg "head -c 100000000 /dev/zero | tr '\\0' 'x'"
expect_exit 2 db build --force cfg/x
expect_err "job 'cfg': configure for 'cfg/x' printed an invalid answer: line 1, column 1: "
short_err "100 MB of garbage"
# 100 MB inside one string of a valid answer: an ordinary (large) config
pass "a 100 MB configure answer"

# deeply nested
cfg "printf '[%.0s' \$(seq 100000)"
expect_exit 2 db build cfg/y
expect_err "job 'cfg': configure for 'cfg/y' printed an invalid answer: line 1, column 1001: nested deeper than 1000 levels"
short_err "100k ["
cfg "printf '[{\"outputs\":[\"cfg/y\"],\"env\":%s1' \"\$(printf '{\"a\":%.0s' \$(seq 100000))\""
expect_exit 2 db build cfg/y
expect_err "nested deeper than 1000 levels"
pass "deeply nested configure answers"

# not UTF-8: in a ref, in an argument, in an env value, in a member name;
# a lone surrogate escape
for bad in '"outputs":["cfg/y\377"]' '"outputs":["cfg/y"],"args":["\300\257"]' \
	'"outputs":["cfg/y"],"env":{"A":"\355\240\200"}' '"outputs":["cfg/y"],"\377":1' \
	'"outputs":["cfg/y"],"args":["\\ud800"]'; do
	cfg "printf '[{$bad}]'"
	expect_exit 2 db build cfg/y
	expect_err "job 'cfg': configure for 'cfg/y' printed an invalid answer: "
	grep -q "UTF-8\|surrogate\|invalid" "$T/err" || { cat "$T/err"; fail "not UTF-8: $bad"; }
	short_err "$bad"
done
[ "$(runs cfg cfg/y)" = 0 ] || fail "a job ran after an answer that is not UTF-8"
pass "configure answers that are not UTF-8"

# never ends, fast: stopped by the output limit, promptly
cfg "exec yes"
start=$SECONDS
expect_exit 2 db build cfg/z
expect_err "job 'cfg': configure for 'cfg/z' printed more than 268435456 bytes"
[ $((SECONDS - start)) -lt 120 ] || fail "the output limit took $((SECONDS - start)) s"
short_err "yes"
# never ends, slowly: stopped by the configure timeout; no process survives
cfg "echo \$\$ >\"\$STATE/cfg.pid\"; while :; do echo; sleep 0.05; done"
expect_exit 2 db plan --timeout 1 cfg/z
expect_err "job 'cfg': configure for 'cfg/z' timed out after 1 s"
expect_exit 2 db configure --timeout 1 cfg/z
expect_err "timed out after 1 s"
pgid=$(cat "$STATE/cfg.pid")
group_gone() { ! pgrep -g "$pgid" -r D,R,S,T,t >/dev/null; }
poll_until 10 group_gone
pass "configure output that never ends"

# exits with a valid answer while a background child keeps stdout open
cfg "sleep 1000 & echo \$! >\"\$STATE/bg.pid\"; echo '$VALID'"
start=$SECONDS
expect_exit 0 db build --force cfg/x
[ $((SECONDS - start)) -lt 30 ] || fail "build waited $((SECONDS - start)) s for a configure's child"
kill "$(cat "$STATE/bg.pid")" 2>/dev/null || true
pass "a configure's lingering child does not hold up the build"
catalog_agrees || fail "catalog and store disagree"

# an input that no job produces: the error says which job's config asked for it
cfg "printf '[{\"outputs\":[\"%s\"],\"inputs\":[{\"dep_type\":\"materialize\",\"ref\":\"nowhere/x\"}],\"args\":[\"ok\",\"%s\"]}]' \"\$1\" \"\$1\""
expect_exit 2 db build cfg/needs-nowhere
expect_err "no job produces 'nowhere/x'"
expect_err "'nowhere/x' is an input of job 'cfg', in its config for 'cfg/needs-nowhere'"
pass "an input no job produces names the job and the config that asked for it"
