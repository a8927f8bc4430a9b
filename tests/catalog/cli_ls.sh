#!/usr/bin/env bash
# databuild ls: listing, paging across pages, filters, JSON, usage errors,
# and a corrupt catalog.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/catalog/fill.sh"

S=$T/store
fill_store "$S" 2500

expect_exit 0 db --store "$S" ls
[ "$(wc -l <"$T/out")" -eq 2506 ] || fail "ls: expected 2506 lines, got $(wc -l <"$T/out")"
grep -Eq '^live +14  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  a/x=1$' "$T/out" || {
  head -3 "$T/out"; fail "ls: bad line for a/x=1"; }
expect_out "failed"
pass "ls lists everything"

# paged in 1000s: 2500 rows cross two page boundaries, in order, no repeats
expect_exit 0 db --store "$S" ls bulk/
[ "$(wc -l <"$T/out")" -eq 2500 ] || fail "ls bulk/: $(wc -l <"$T/out") lines"
awk '{print $4}' "$T/out" >"$T/refs"
sort -c "$T/refs" || fail "ls bulk/: not in ref order"
[ "$(sort -u "$T/refs" | wc -l)" -eq 2500 ] || fail "ls bulk/: duplicates"
[ "$(head -1 "$T/refs")" = bulk/k=0000000 ] && [ "$(tail -1 "$T/refs")" = bulk/k=0002499 ] ||
  fail "ls bulk/: wrong first/last"
pass "ls pages through a prefix"

expect_exit 0 db --store "$S" ls bulk/ --limit 1500
[ "$(wc -l <"$T/out")" -eq 1500 ] || fail "--limit 1500: $(wc -l <"$T/out") lines"
[ "$(tail -1 "$T/out" | awk '{print $4}')" = bulk/k=0001499 ] || fail "--limit: wrong last"
pass "ls --limit"

expect_exit 0 db --store "$S" ls --status failed,building
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "--status: $(cat "$T/out")"
expect_out "e/x=1"
expect_out "f/x=1"
expect_exit 0 db --store "$S" ls --status=live b/
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "--status=live b/"
pass "ls --status"

expect_exit 0 db --store "$S" ls --json a/
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "--json: one line expected"
expect_out '{"ref":"a/x=1","status":"live","size":14,"sha256":"'
expect_out '"job":"ja","run_id":"1","published_run":"1"'
expect_exit 0 db --store "$S" ls --json --status failed
expect_out '"status":"failed"'
expect_out '"error":"exit status 3: boom"'
pass "ls --json"

expect_exit 0 db --store "$S" ls nothing/
[ ! -s "$T/out" ] || fail "ls nothing/ printed something"
[ ! -s "$T/err" ] || fail "ls nothing/, piped: said something on stderr: $(cat "$T/err")"
# on a terminal: no header, and stderr names what matched nothing
on_tty() { script -qec "$(printf '%q ' "$DATABUILD" --store "$S" ls "$@")" /dev/null </dev/null | tr -d '\r'; }
on_tty nothing/ >"$T/tty"
[ "$(cat "$T/tty")" = "databuild: ls: no partition in the catalog starts with 'nothing/'" ] ||
  fail "ls nothing/ on a terminal: $(cat "$T/tty")"
on_tty --status stale,failed a/ >"$T/tty"
[ "$(cat "$T/tty")" = "databuild: ls: no partition in the catalog with status failed,stale starts with 'a/'" ] ||
  fail "ls --status stale,failed a/ on a terminal: $(cat "$T/tty")"
on_tty a/ >"$T/tty"
[ "$(head -1 "$T/tty" | tr -s ' ')" = "STATUS SIZE UPDATED REF" ] && grep -q ' a/x=1$' "$T/tty" &&
  ! grep -q "no partition" "$T/tty" || fail "ls a/ on a terminal: $(cat "$T/tty")"
pass "an empty listing on a terminal names what matched nothing"

expect_exit 0 db ls --help
expect_out "usage: databuild ls"
expect_exit 2 db --store "$S" ls --status bogus
expect_err "ls: option '--status': unknown status 'bogus'"
expect_exit 2 db --store "$S" ls --status missing
expect_err "unknown status 'missing'"
expect_exit 2 db --store "$S" ls --limit -3
expect_err "option '--limit'"
expect_exit 2 db --store "$S" ls --limit
expect_err "ls: option '--limit' needs a value"
expect_exit 2 db --store "$S" ls a b
expect_err "ls: one PREFIX at most, got 'a' and 'b'"
expect_exit 2 db --store "$S" ls --frobnicate
expect_err "ls: unknown option '--frobnicate'"
pass "ls usage errors"

# a catalog that is not a database: a clear error naming the file, exit 2
B=$T/bad
mkdir -p "$B"
head -c 8192 /dev/urandom >"$B/catalog.db"
expect_exit 2 db --store "$B" ls
expect_err "databuild: catalog '$B/catalog.db': file is not a database"
# a real catalog cut short
cp "$S/catalog.db" "$T/cut.db"
truncate -s 2000 "$T/cut.db"
expect_exit 2 db --store "$S" --catalog "sqlite:$T/cut.db" ls
expect_err "databuild: catalog '$T/cut.db': "
pass "ls on a corrupt catalog"
