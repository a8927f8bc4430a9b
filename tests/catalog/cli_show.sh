#!/usr/bin/env bash
# databuild show: status plus the full manifest, human and JSON; failures.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S"
b_hash=$(sha256sum "$S/data/b/x=1" | cut -d' ' -f1)
d_hash=$(sha256sum "$S/data/d/x=1" | cut -d' ' -f1)

expect_exit 0 db --store "$S" show d/x=1
expect_out "d/x=1"
expect_out "  status      live"
expect_out "  size        14 bytes"
expect_out "  sha256      $d_hash"
expect_out "  data        $S/data/d/x=1"
expect_out "manifest (run 4)"
expect_out "  job         jd 1.0.0"
expect_out "  duration    2.500 s"
expect_out "  args        --date 'two words'"
expect_out "  env         MODE=test"
expect_out "  inputs      b/x=1 (materialize) sha256 $b_hash, run 2"
expect_out "c/x=1 (materialize) sha256"
expect_out "  outputs     d/x=1 sha256 $d_hash, 14 bytes"
expect_out "  log         $S/logs/4.log"
grep -Eq '^  started     [0-9-]{10}T[0-9:]{8}Z$' "$T/out" || fail "show: no start time"
pass "show prints the manifest"

expect_exit 0 db --store "$S" show d/x=1 --json
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "show --json: one line expected"
expect_out '{"partition":{"ref":"d/x=1","status":"live"'
expect_out '"manifest":{"run_id":"4","job":"jd","version":"1.0.0"'
expect_out "{\"ref\":\"b/x=1\",\"dep_type\":\"materialize\",\"sha256\":\"$b_hash\",\"run_id\":\"2\"}"
expect_out '"args":["--date","two words"],"env":{"MODE":"test"}'
expect_out '"run":null}'
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["manifest"]["outputs"][0]["size"] == 14' \
    <"$T/out" || fail "show --json is not the expected JSON"
fi
pass "show --json"

expect_exit 0 db --store "$S" show e/x=1
expect_out "  status      failed"
expect_out "  error       exit status 3: boom"
expect_out "run 5 (failed)"
expect_out "  exit        status 3"
expect_exit 0 db --store "$S" show e/x=1 --json
expect_out '"manifest":null,"run":{"run_id":"5"'
expect_out '"status":"failed"'
pass "show of a failed partition"

expect_exit 0 db --store "$S" show f/x=1
expect_out "  status      building"
expect_out "run 6 (running)"
pass "show of a partition being built"

expect_exit 1 db --store "$S" show nope/x=1
expect_err "databuild: 'nope/x=1' is not in the catalog (status: missing)"
expect_exit 2 db --store "$S" show 'a//b'
expect_err "invalid ref 'a//b'"
expect_exit 2 db --store "$S" show
expect_err "show: missing REF"
expect_exit 2 db --store "$S" show a/x=1 b/x=1
expect_err "show: one REF only"
expect_exit 2 db --store "$S" show a/x=1 --bogus
expect_err "show: unknown option '--bogus'"
expect_exit 0 db show --help
expect_out "usage: databuild show REF [--json]"
pass "show errors"
