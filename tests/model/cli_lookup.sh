#!/usr/bin/env bash
# databuild lookup: the real binary against the graphs in tests/model/fixtures.
. "$SOURCE_ROOT/tests/lib.sh"
F=$SOURCE_ROOT/tests/model/fixtures
TAB=$'\t'

# one line per ref, in the order given, duplicates once
expect_exit 0 db --graph "$F/basic/databuild.json" lookup \
  reviews/date=2024-01-01 summaries/category=comedy/date=2024-01-01 reviews/date=2024-01-01
printf 'reviews/date=2024-01-01\tingest_reviews\nsummaries/category=comedy/date=2024-01-01\tdaily_summary\n' > "$T/want"
cmp -s "$T/want" "$T/out" || { diff "$T/want" "$T/out"; fail "lookup output"; }
[ ! -s "$T/err" ] || fail "lookup printed to stderr: $(cat "$T/err")"
pass "lookup prints REF<TAB>LABEL"

# --json groups refs per job; options may follow refs
expect_exit 0 db --graph "$F/basic/databuild.json" lookup reviews/date=1 \
  summaries/category=a/date=1 reviews/date=2 --json
cat > "$T/want" <<'JSON'
{
  "ingest_reviews": [
    "reviews/date=1",
    "reviews/date=2"
  ],
  "daily_summary": [
    "summaries/category=a/date=1"
  ]
}
JSON
cmp -s "$T/want" "$T/out" || { diff "$T/want" "$T/out"; fail "lookup --json output"; }
pass "lookup --json"

# the graph is found through $DATABUILD_GRAPH and in the current directory
DATABUILD_GRAPH=$F/basic/databuild.json expect_exit 0 db lookup reviews/date=3
expect_out "reviews/date=3${TAB}ingest_reviews"
(cd "$F/basic" && expect_exit 0 db lookup reviews/date=4) || exit 1
pass "graph from env and cwd"

# help and usage errors
expect_exit 0 db lookup --help
expect_out "usage: databuild lookup [--json] [--timeout SECONDS] REF..."
expect_exit 0 db --graph /nonexistent lookup -h
expect_out "usage: databuild lookup"
expect_exit 2 db --graph "$F/basic/databuild.json" lookup --bogus reviews/date=1
expect_err "databuild: lookup: unknown option '--bogus' (see 'databuild lookup --help')"
expect_exit 2 db --graph "$F/basic/databuild.json" lookup
expect_err "databuild: no REF given"
expect_exit 2 db --graph "$F/basic/databuild.json" lookup --timeout 0 reviews/date=1
expect_err "option '--timeout': expected an integer from 1 to 86400, got '0'"
expect_exit 2 db --graph "$F/basic/databuild.json" lookup --timeout
expect_err "option '--timeout' needs a value"
pass "help and usage errors"

# invalid refs: every one is reported
expect_exit 2 db --graph "$F/basic/databuild.json" lookup 'a//b' reviews/date=1 '/x' 'a/../b'
expect_err "databuild: invalid ref 'a//b': empty segment at byte 2"
expect_err "databuild: invalid ref '/x'"
expect_err "databuild: invalid ref 'a/../b'"
[ ! -s "$T/out" ] || fail "stdout not empty"
# '--' ends options
expect_exit 2 db --graph "$F/basic/databuild.json" lookup -- --json
expect_err "databuild: no job produces '--json'"
pass "invalid refs"

# no job / two jobs
expect_exit 2 db --graph "$F/basic/databuild.json" lookup nothing/here reviews/date=1 both/same
expect_err "databuild: no job produces 'nothing/here' (patterns: reviews/date={date}, summaries/category={category}/date={date}, broken/{what}, both/{x}, {y}/same)"
expect_err "ref 'both/same' is claimed by 2 jobs: left (both/{x}), right ({y}/same)"
[ ! -s "$T/out" ] || fail "stdout not empty"
pass "missing and ambiguous lookups"

# a lookup executable replaces pattern matching (data/raw_x matches both patterns)
expect_exit 0 db --graph "$F/lookup/databuild.json" lookup data/raw_x data/y data/raw_z
printf 'data/raw_x\traw\ndata/y\tclean\ndata/raw_z\traw\n' > "$T/want"
cmp -s "$T/want" "$T/out" || { diff "$T/want" "$T/out"; fail "lookup executable output"; }
expect_exit 2 db --graph "$F/lookup/databuild.json" lookup data/y other/q
expect_err "databuild: lookup for 'data/y', 'other/q' exited with status 5"
expect_err "    lookup: do not know 'other/q'"
pass "lookup executable"

# bad graph files: exit 2 with the file, the JSON path and what is wrong
mkdir -p "$T/g/jobs"
printf '#!/bin/sh\necho []\n' > "$T/g/jobs/c"
chmod +x "$T/g/jobs/c"
bad_graph() {  # bad_graph JSON MESSAGE
  printf '%s\n' "$1" > "$T/g/databuild.json"
  (cd "$T/g" && expect_exit 2 db lookup a/b && expect_err "$2") || exit 1
}
bad_graph '{"name": "x", "jobs": [{"label": "a", "outputs": ["a/{b}"], "configure": ["jobs/c"], "exec": ["jobs/c"], "version": "1.2"}]}' \
  "databuild: databuild.json: jobs[0].version: expected semver MAJOR.MINOR.PATCH, got '1.2'"
bad_graph $'{\n  "name": "x",\n  "jobs": [\n    {"label" "a"}]}' \
  "databuild: databuild.json: line 4, column 14: expected ':' after the member name, got '\"'"
bad_graph '{"name": "x", "jobs": [{"label": "a", "outputs": ["a/{b}"], "configure": ["jobs/nope"], "exec": ["jobs/c"]}]}' \
  "databuild: databuild.json: jobs[0].configure[0]: job 'a' configure executable '$(cd "$T/g" && pwd -P)/jobs/nope' does not exist"
bad_graph '{"name": "x", "jobs": [{"label": "a", "outputs": ["a/{b}"], "configure": ["jobs/c"], "exec": ["jobs/c"]}, {"label": "a", "outputs": ["b/{b}"], "configure": ["jobs/c"], "exec": ["jobs/c"]}]}' \
  "databuild: databuild.json: jobs[1].label: duplicate label 'a' (also jobs[0])"
bad_graph '{"name": "x", "jobs": [{"label": "a", "outputs": ["a/{b}"], "configure": ["jobs/c"], "exec": ["jobs/c"]}, {"label": "b", "outputs": ["a/{c}"], "configure": ["jobs/c"], "exec": ["jobs/c"]}]}' \
  "databuild: databuild.json: jobs[1].outputs[0]: pattern 'a/{c}' is also an output of job 'a' ('a/{b}')"
rm "$T/g/databuild.json"
(cd "$T/g" && expect_exit 2 db lookup a/b && expect_err "databuild: no graph file: 'databuild.json' not found in the current directory") || exit 1
expect_exit 2 db --graph "$T/g/missing.json" lookup a/b
expect_err "databuild: cannot read graph file '$T/g/missing.json': No such file or directory"
pass "bad graph files"
