#!/usr/bin/env bash
# databuild rm: --downstream through a diamond, --json, a partition being
# built refused, history kept.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S"

# a -> b, a -> c, (b, c) -> d: removing b --downstream takes d, not a or c
expect_exit 0 db --store "$S" rm --dry-run --downstream b/x=1
printf 'would remove b/x=1\nwould remove d/x=1\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "rm --dry-run --downstream"
expect_exit 0 db --store "$S" ls --status live
[ "$(wc -l <"$T/out")" = 4 ] || fail "--dry-run removed something: $(cat "$T/out")"
expect_exit 0 db --store "$S" rm --json --downstream b/x=1
printf '{"ref":"b/x=1","removed":true}\n{"ref":"d/x=1","removed":true}\n' >"$T/want"
diff -u "$T/want" "$T/out" || fail "rm --json --downstream"
expect_exit 0 db --store "$S" ls --status live
[ "$(awk '{print $4}' "$T/out" | tr '\n' ' ')" = "a/x=1 c/x=1 " ] || fail "after rm: $(cat "$T/out")"
expect_exit 0 db --store "$S" history d/x=1
expect_out "Z "
pass "rm --downstream through a diamond; the versions stay"

# f/x=1 is being built by a run of a live process (catalog_fill's row):
# its lease is free, but the catalog refuses it, naming the run
expect_exit 2 db --store "$S" rm 'f/*'
expect_err "cannot remove 'f/x=1': run"
expect_exit 0 db --store "$S" show f/x=1
expect_out "building"
expect_exit 2 db --store "$S" rm a/x=1 nope/x=1
expect_err "no partition 'nope/x=1' in the catalog"
expect_exit 0 db --store "$S" show a/x=1
expect_out "live"
expect_exit 2 db --store "$S" rm 'a/../b'
expect_err "invalid ref 'a/../b'"
expect_exit 2 db --store "$S" rm --downstream
expect_err "rm: missing REF"
pass "rm errors change nothing"
