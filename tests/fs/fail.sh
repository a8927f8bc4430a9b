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

