#!/usr/bin/env bash
# databuild configure: the real binary running real configure executables.
. "$SOURCE_ROOT/tests/lib.sh"
F=$SOURCE_ROOT/tests/model/fixtures
G=(--graph "$F/basic/databuild.json")

# grouped per job, each job's configure run once with all of its refs
export CALLS_LOG=$T/calls
expect_exit 0 db "${G[@]}" configure summaries/category=comedy/date=2024-01-01 \
  reviews/date=2024-01-01 summaries/category=drama/date=2024-01-01
cat > "$T/want" <<'JSON'
{
  "daily_summary": [
    {
      "outputs": [
        "summaries/category=comedy/date=2024-01-01"
      ],
      "inputs": [
        {
          "dep_type": "materialize",
          "ref": "reviews/date=2024-01-01"
        }
      ],
      "args": [
        "2024-01-01"
      ],
      "env": {
        "CATEGORY": "comedy"
      }
    },
    {
      "outputs": [
        "summaries/category=drama/date=2024-01-01"
      ],
      "inputs": [
        {
          "dep_type": "materialize",
          "ref": "reviews/date=2024-01-01"
        }
      ],
      "args": [
        "2024-01-01"
      ],
      "env": {
        "CATEGORY": "drama"
      }
    }
  ],
  "ingest_reviews": [
    {
      "outputs": [
        "reviews/date=2024-01-01"
      ],
      "inputs": [],
      "args": [
        "--date",
        "2024-01-01"
      ],
      "env": {}
    }
  ]
}
JSON
cmp -s "$T/want" "$T/out" || { diff "$T/want" "$T/out"; fail "configure output"; }
printf '%s\n' "daily_summary summaries/category=comedy/date=2024-01-01 summaries/category=drama/date=2024-01-01" \
  "ingest_reviews reviews/date=2024-01-01" > "$T/want-calls"
cmp -s "$T/want-calls" "$T/calls" || { diff "$T/want-calls" "$T/calls"; fail "configure calls"; }
pass "configure groups refs per job and calls each configure once"

# help and usage errors
expect_exit 0 db configure --help
expect_out "usage: databuild configure [--timeout SECONDS] REF..."
expect_exit 2 db "${G[@]}" configure -x reviews/date=1
expect_err "databuild: configure: unknown option '-x' (see 'databuild configure --help')"
expect_exit 2 db "${G[@]}" configure
expect_err "databuild: no REF given"
expect_exit 2 db "${G[@]}" configure 'reviews/date=1/' reviews/date=2
expect_err "databuild: invalid ref 'reviews/date=1/': trailing '/'"
expect_exit 2 db "${G[@]}" configure nowhere/1
expect_err "databuild: no job produces 'nowhere/1'"
expect_exit 2 db "${G[@]}" configure both/same
expect_err "databuild: ref 'both/same' is claimed by 2 jobs: left (both/{x}), right ({y}/same)"
pass "usage and lookup errors"

# configure failures: exit 2, the job, the refs, the JSON path, the stderr tail
expect_exit 2 db "${G[@]}" configure broken/fail
expect_err "databuild: job 'broken': configure for 'broken/fail' exited with status 3"
expect_err "  stderr:"
expect_err "    reading catalog"
expect_err "    fatal: no such category"
[ ! -s "$T/out" ] || fail "stdout not empty on failure"
expect_exit 2 db "${G[@]}" configure broken/malformed
expect_err "databuild: job 'broken': configure for 'broken/malformed' printed an invalid answer: line 1, column 35: expected a member after ',', got '}'"
expect_exit 2 db "${G[@]}" configure broken/badtype
expect_err "databuild: job 'broken': configure for 'broken/badtype' printed an invalid answer: [0].inputs[0].dep_type: expected \"materialize\" or \"query\", got 'maybe'"
expect_exit 2 db "${G[@]}" configure broken/omit
expect_err "databuild: job 'broken': configure for 'broken/omit': no config produces 'broken/omit'"
expect_exit 2 db "${G[@]}" configure broken/twice
expect_err "databuild: job 'broken': configure for 'broken/twice': [1].outputs[0]: 'broken/twice' is also an output of config [0]"
start=$SECONDS
expect_exit 2 db "${G[@]}" configure --timeout 1 broken/hang
expect_err "databuild: job 'broken': configure for 'broken/hang' timed out after 1 s"
[ $((SECONDS - start)) -lt 20 ] || fail "a hanging configure was not killed"
pass "configure failures"

# with a lookup executable
expect_exit 0 db --graph "$F/lookup/databuild.json" configure data/raw_1 data/2
expect_out '"raw": ['
expect_out '"data/raw_1"'
expect_out '"clean": ['
pass "configure through a lookup executable"
