#!/usr/bin/env bash
# databuild path: the data file of a live partition; exit 1 otherwise.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S"

expect_exit 0 db --store "$S" path a/x=1
[ "$(cat "$T/out")" = "$S/data/a/x=1" ] || fail "path: got '$(cat "$T/out")'"
[ "$(cat "$(cat "$T/out")")" = "data of a/x=1" ] || fail "path: wrong data"
expect_exit 0 db --store "$S" path --json d/x=1
[ "$(cat "$T/out")" = "{\"ref\":\"d/x=1\",\"path\":\"$S/data/d/x=1\"}" ] || fail "path --json"
pass "path of live partitions"

expect_exit 1 db --store "$S" path f/x=1
expect_err "databuild: 'f/x=1' is not live (status: building)"
expect_exit 1 db --store "$S" path e/x=1
expect_err "'e/x=1' is not live (status: failed)"
expect_exit 1 db --store "$S" path zz/x=1
expect_err "'zz/x=1' is not live (status: missing)"
[ ! -s "$T/out" ] || fail "path printed a path for a missing partition"
expect_exit 0 db --store "$S" taint a/x=1
expect_exit 1 db --store "$S" path a/x=1
expect_err "'a/x=1' is not live (status: tainted)"
pass "path of partitions that are not live"

expect_exit 2 db --store "$S" path
expect_err "path: missing REF"
expect_exit 2 db --store "$S" path /abs
expect_err "invalid ref '/abs'"
expect_exit 2 db --store "$S" path a b
expect_err "path: one REF only, got 'a' and 'b'"
expect_exit 0 db path --help
expect_out "usage: databuild path REF"
pass "path usage errors"
