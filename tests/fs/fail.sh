#!/usr/bin/env bash
# A failing job: EIO for every reader, a readable .error beside the
# partition, a retry on the next open; a planning error fails alone.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db

expect_exit 1 cat "$M/fail/key=x"
expect_err "Input/output error"
[ "$(runs fail x)" = 1 ] || fail "the failing job ran $(runs fail x) times"
ls "$M/fail" >"$T/ls"
grep -qx "key=x.error" "$T/ls" || { cat "$T/ls"; fail "no key=x.error in the listing"; }
E=$M/fail/key=x.error
cat "$E" >"$T/error" || fail "cannot read the error sidecar"
for want in "partition: fail/key=x" "job: fail" "run_id: " "exit_status: 3" "log: " \
	"boom: the x input is corrupt"; do
	grep -qF "$want" "$T/error" || { cat "$T/error"; fail "the error sidecar lacks '$want'"; }
done
[ "$(stat -c %s "$E")" = "$(wc -c <"$T/error")" ] || fail "the error sidecar's size differs from its bytes"
log=$(sed -n 's/^log: //p' "$T/error")
[ -f "$log" ] || fail "the log '$log' named by the error sidecar does not exist"
[ "$(getfattr --absolute-names --only-values -n user.databuild.status "$M/fail/key=x")" = failed ] ||
	fail "xattr status of a failed partition"
expect_exit 1 cat "$M/fail/key=x.manifest.json"
pass "a failing job -> EIO and a readable .error"

# Concurrent readers of a failing partition: one run, EIO for all.
for i in 1 2 3 4 5; do cat "$M/fail/key=y" >/dev/null 2>"$T/y.$i" & done
for i in 1 2 3 4 5; do wait -n || true; done
for i in 1 2 3 4 5; do grep -q "Input/output error" "$T/y.$i" || fail "reader $i of fail/key=y"; done
[ "$(runs fail y)" -le 5 ] || fail "too many runs"

expect_exit 1 cat "$M/fail/key=x"
[ "$(runs fail x)" = 2 ] || fail "the next open did not retry (runs: $(runs fail x))"
pass "the next open retries"

# Once the job is fixed, the next open succeeds and the .error is gone.
: >"$STATE/fixed-x"
[ "$(cat "$M/fail/key=x")" = "fixed x" ] || fail "the fixed job's partition"
[ ! -e "$M/fail/key=x.error" ] || fail "the .error outlived a successful build"
ls "$M/fail" >"$T/ls"
grep -qx "key=x" "$T/ls" && grep -qx "key=x.manifest.json" "$T/ls" && ! grep -qx "key=x.error" "$T/ls" ||
	{ cat "$T/ls"; fail "the listing after the fix"; }
pass "the .error lasts until the next successful build"

# A planning failure (configure exits 4): EIO, and .error says why.
expect_exit 1 cat "$M/badconf/key=q"
expect_err "Input/output error"
cat "$M/badconf/key=q.error" >"$T/error" || fail "no error sidecar after a planning failure"
grep -qF "configure cannot read its settings" "$T/error" || { cat "$T/error"; fail "the planning error lacks configure's stderr"; }
# ... and it does not fail a good partition read at the same time, nor
# wait for it, nor for four blocked jobs (each request's job is its own
# batch on its own thread).
for k in h1 h2 h3 h4; do
	cat "$M/block/key=$k" >"$T/hold.$k" &
	poll_until 30 test -e "$STATE/block-$k.started"
done
cat "$M/badconf/key=r" >/dev/null 2>"$T/bad.err" &
bad=$!
cat "$M/raw/date=2024-09-09" >"$T/good" 2>"$T/good.err" &
good=$!
wait "$good" || { cat "$T/good.err"; fail "a good partition failed beside a bad one"; }
[ "$(head -n1 "$T/good")" = "2024-09-09,item3,3" ] || fail "the good partition's bytes: '$(head -n1 "$T/good")'"
wait "$bad" && fail "badconf/key=r succeeded"
grep -q "Input/output error" "$T/bad.err" || { cat "$T/bad.err"; fail "badconf/key=r did not fail with EIO"; }
grep -qF "configure cannot read its settings" "$M/badconf/key=r.error" || fail "the .error of badconf/key=r"
[ "$(runs raw 2024-09-09)" = 1 ] || fail "raw 2024-09-09 ran $(runs raw 2024-09-09) times"
: >"$STATE/block-h1.go"; : >"$STATE/block-h2.go"; : >"$STATE/block-h3.go"; : >"$STATE/block-h4.go"
wait
for k in h1 h2 h3 h4; do [ "$(cat "$T/hold.$k")" = "block $k" ] || fail "block $k"; done
pass "a planning failure -> EIO and a readable .error; a good partition read beside it gets its data"

# .databuild/status counts the partitions of every status (live: fail/key=x,
# raw/date=2024-09-09, block/key=h1..h4; failed: fail/key=y and the
# planning failures badconf/key=q, badconf/key=r).
cat "$M/fail/key=x" >/dev/null
db taint block/key=h1 >/dev/null || fail "databuild taint"
counts_are() {  # live failed tainted
	[ "$(status_field live)" = "$1" ] && [ "$(status_field failed)" = "$2" ] &&
		[ "$(status_field tainted)" = "$3" ] && [ "$(status_field stale)" = 0 ] &&
		[ "$(status_field building)" = 0 ]
}
counts_are 5 3 1 || { cat "$M/.databuild/status"; fail "the partition counts of .databuild/status"; }
[ "$(status_field live)" = "$(db ls --status live 2>/dev/null | wc -l)" ] ||
	{ db ls --status live; fail "status and databuild ls disagree on live"; }
pass ".databuild/status counts partitions by status"
