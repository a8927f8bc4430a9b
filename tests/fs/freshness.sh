#!/usr/bin/env bash
# --freshness keys: a live partition whose job changed is rebuilt on open;
# presence (the default) serves it as is. The mount and `databuild build`
# share the catalog.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
db build raw/date=1 >/dev/null 2>&1 || fail "databuild build failed"
mount_db --freshness keys
[ "$(head -n1 "$M/raw/date=1")" = "1,item3,3" ] || fail "read under keys"
cat "$M/raw/date=1" >/dev/null
[ "$(runs raw)" = 1 ] || fail "an unchanged partition was rebuilt under keys"
unmount_db
pass "keys: an unchanged partition built by databuild build is served without a run"

echo "# a change to the job" >>"$G/jobs/job.sh"
mount_db -o freshness=presence
cat "$M/raw/date=1" >/dev/null
[ "$(runs raw)" = 1 ] || fail "presence rebuilt a live partition"
unmount_db
pass "presence: a live partition is served although its job changed"

mount_db --freshness keys
[ "$(head -n1 "$M/raw/date=1")" = "1,item3,3" ] || fail "read of a stale partition under keys"
[ "$(runs raw)" = 2 ] || fail "keys did not rebuild the partition of a changed job"
cat "$M/raw/date=1" >/dev/null
[ "$(runs raw)" = 2 ] || fail "keys rebuilt twice"
pass "keys: a stale partition is rebuilt once on open"
