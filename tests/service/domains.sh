#!/usr/bin/env bash
# GET /api/datasets counts a dataset over its domain: what the catalog
# holds by status, the rest missing, also before anything is built; an
# open-ended dataset counts what the catalog holds.
. "$SOURCE_ROOT/tests/service/lib_service.sh"

# the fixture's jobs, raw bound to a domain of three dates
cat >"$G/databuild.json" <<'JSON'
{"name": "service_domains",
 "domains": {"days": {"dates": {"start": "2024-01-01", "end": "2024-01-03"}}},
 "jobs": [
  {"label": "raw", "outputs": ["raw/date={d}"], "partitions": {"d": "days"},
   "configure": ["jobs/job.sh", "configure", "raw"], "exec": ["jobs/job.sh", "exec"]},
  {"label": "left", "outputs": ["left/date={d}"],
   "configure": ["jobs/job.sh", "configure", "left"], "exec": ["jobs/job.sh", "exec"]}]}
JSON
serve_start
expect_api 200 datasets
expect_jq '.datasets | map(select(.name == "raw")) | .[0] | .partitions == 3 and .counts.missing == 3 and .counts.live == 0'
expect_exit 0 db build raw/date=2024-01-02 left/date=2024-01-02
expect_api 200 datasets
expect_jq '.datasets | map(select(.name == "raw")) | .[0] | .partitions == 3 and .counts.missing == 2 and .counts.live == 1'
expect_jq '.datasets | map(select(.name == "left")) | .[0] | .partitions == 1 and .counts.live == 1'
serve_stop
pass "datasets are counted over their domains"
