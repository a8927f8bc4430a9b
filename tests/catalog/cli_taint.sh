#!/usr/bin/env bash
# databuild taint: one partition, downstream through a diamond, errors.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S"

expect_exit 0 db --store "$S" taint b/x=1
[ "$(cat "$T/out")" = "tainted  b/x=1" ] || fail "taint b: $(cat "$T/out")"
expect_exit 0 db --store "$S" ls --status live
[ "$(awk '{print $4}' "$T/out" | tr '\n' ' ')" = "a/x=1 c/x=1 d/x=1 " ] || fail "after taint b: $(cat "$T/out")"
pass "taint one partition"

# a -> b, a -> c, (b, c) -> d: everything downstream of a becomes stale
expect_exit 0 db --store "$S" taint a/x=1 --downstream
printf 'tainted  a/x=1\nstale    c/x=1\nstale    d/x=1\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "taint a --downstream"
expect_exit 0 db --store "$S" ls --status stale,tainted
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "expected 4 stale or tainted: $(cat "$T/out")"
expect_exit 0 db --store "$S" events --json
expect_out '"type":"partition_tainted","ref":"a/x=1"'
expect_out '"type":"partition_stale","ref":"d/x=1"'
pass "taint --downstream through a diamond"

# again: nothing changes, nothing printed
expect_exit 0 db --store "$S" taint a/x=1 --downstream --json
[ ! -s "$T/out" ] || fail "second taint printed: $(cat "$T/out")"

new_test_catalog  # a second store: its own catalog
fill_store "$T/s2"
expect_exit 0 db --store "$T/s2" taint --json --downstream c/x=1
printf '{"ref":"c/x=1","status":"tainted"}\n{"ref":"d/x=1","status":"stale"}\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "taint --json"
pass "taint --json"

expect_exit 2 db --store "$T/s2" taint a/x=1 nope/x=1
expect_err "databuild: 'nope/x=1' is not in the catalog"
expect_exit 0 db --store "$T/s2" ls --status live a/
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "a failed taint changed a/x=1"
expect_exit 2 db --store "$T/s2" taint
expect_err "taint: missing REF"
expect_exit 2 db --store "$T/s2" taint 'x/../y'
expect_err "invalid ref 'x/../y'"
expect_exit 2 db --store "$T/s2" taint a/x=1 --upstream
expect_err "taint: unknown option '--upstream'"
expect_exit 0 db taint --help
expect_out "usage: databuild taint REF... [--downstream]"
pass "taint errors"
