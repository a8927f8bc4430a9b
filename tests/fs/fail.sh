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
# ... and it does not fail the partitions planned in the same batch.
cat "$M/badconf/key=r" >/dev/null 2>&1 &
bad=$!
cat "$M/raw/date=2024-09-09" >"$T/good" || fail "a good partition failed beside a bad one"
wait "$bad" && fail "badconf/key=r succeeded"
pass "a planning failure -> EIO and a readable .error"

