#!/usr/bin/env bash
# Keys freshness, the default: every open of a live partition checks the
# fingerprints of what its build key rests on; a job edited while mounted,
# or a file named in a config's args, is noticed on the next read and the
# partition rebuilt with the change named as the reason. A failed rebuild
# keeps serving the last good bytes (EIO under -o strict); -o stale=serve
# serves the old bytes at once and rebuilds in the background.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"

status_of() { getfattr --only-values -n user.databuild.status "$M/$1" 2>/dev/null; }
# reason_for REF: the reason of the newest job_started event of REF's run.
events_with() { db events --since 0 2>/dev/null | grep -F -- "$1"; }

# Files written within a timestamp tick of a check cannot vouch for
# anything yet (core/fingerprint.h): the fixture's are older.
touch -d '1 minute ago' "$G/databuild.json" "$G/jobs/job.sh"
mount_db
[ "$(head -n1 "$M/raw/date=1")" = "1,item3,3" ] || fail "first read of raw/date=1"
[ "$(runs raw 1)" = 1 ] || fail "raw/date=1 ran $(runs raw 1) times, want 1"
for i in 1 2 3 4 5; do cat "$M/raw/date=1" >/dev/null || fail "read $i"; done
[ "$(runs raw 1)" = 1 ] || fail "an unchanged live partition was rebuilt by a later read"
pass "keys by default: an unchanged partition is read again and again without a run"

# A new mount vouches for nothing yet: its first read of a live partition
# plans. A plan that finds it fresh runs nothing and records nothing.
unmount_db
before=$(db events --since 0 | grep -c '"type":"build_requested"')
mount_db
[ "$(head -n1 "$M/raw/date=1")" = "1,item3,3" ] || fail "first read after a remount"
[ "$(runs raw 1)" = 1 ] || fail "a remount rebuilt raw/date=1"
after=$(db events --since 0 | grep -c '"type":"build_requested"')
[ "$after" = "$before" ] || { db events --since 0 | tail -n 4; fail "a read that found the partition fresh recorded a build"; }
pass "a read that finds a live partition fresh leaves no build record"

# An edit of the job while mounted: the next read rebuilds, once.
echo "# edited while mounted" >>"$G/jobs/job.sh"
[ "$(status_of raw/date=1)" = stale ] || fail "status of an edited job's partition: '$(status_of raw/date=1)'"
[ "$(head -n1 "$M/raw/date=1")" = "1,item3,3" ] || fail "read after the edit"
[ "$(runs raw 1)" = 2 ] || fail "the edit was not noticed on the next read (runs $(runs raw 1))"
events_with '"reason":"stale: executable' | grep -qF 'jobs/job.sh' ||
	fail "no event names the edited executable: $(db events --since 0 | grep -F reason | tail -n3)"
cat "$M/raw/date=1" >/dev/null
cat "$M/raw/date=1" >/dev/null
[ "$(runs raw 1)" = 2 ] || fail "rebuilt again without a change (runs $(runs raw 1))"
[ "$(status_of raw/date=1)" = live ] || fail "status after the rebuild: '$(status_of raw/date=1)'"
pass "a job edited while mounted is rebuilt on the next read, the edit named as the reason"

# Downstream: an edit upstream reaches a report read through the mount.
cat "$M/reports/region=eu/date=2" >/dev/null || fail "reading the report"
[ "$(runs report 2)" = 1 ] && [ "$(runs raw 2)" = 1 ] || fail "report chain did not build once"
echo "# edited again" >>"$G/jobs/job.sh"
cat "$M/reports/region=eu/date=2" >/dev/null || fail "reading the report after the edit"
[ "$(runs raw 2)" = 2 ] || fail "the upstream of a report was not rebuilt after its job changed"
pass "an edit upstream is noticed by a read downstream"

# A failed rebuild keeps the last good bytes; .error says why.
: >"$STATE/fixed-g"
[ "$(cat "$M/fail/key=g")" = "fixed g" ] || fail "fail/key=g did not build"
rm -f "$STATE/fixed-g"
echo "# the fail job breaks" >>"$G/jobs/job.sh"
[ "$(cat "$M/fail/key=g")" = "fixed g" ] || fail "a failed rebuild did not serve the last good bytes"
[ "$(runs fail g)" = 2 ] || fail "fail/key=g was not rebuilt (runs $(runs fail g))"
[ "$(status_of fail/key=g)" = stale ] || fail "status of the last good version: '$(status_of fail/key=g)'"
grep -q "boom: the g input is corrupt" "$M/fail/key=g.error" || fail "no .error beside the last good version"
[ "$(cat "$M/fail/key=g")" = "fixed g" ] || fail "a second read of the last good version"
[ "$(runs fail g)" = 2 ] || fail "an unchanged failing job was retried by a read"
pass "a failed rebuild keeps serving the last good bytes, status stale with .error beside"
unmount_db

mount_db -o strict
if cat "$M/fail/key=g" >"$T/read" 2>"$T/read.err"; then
	fail "-o strict served a partition whose rebuild failed: '$(cat "$T/read")'"
fi
grep -q "Input/output error" "$T/read.err" || fail "strict read failed with '$(cat "$T/read.err")'"
[ "$(status_of fail/key=g)" = failed ] || fail "strict status: '$(status_of fail/key=g)'"
unmount_db
pass "-o strict answers EIO for a partition whose rebuild failed"

# A file named in a config's args: changing it makes the partition stale.
cat >"$G/jobs/settings.sh" <<'SH'
#!/bin/sh
set -eu
if [ "$1" = configure ]; then
	shift
	printf '[{"outputs":["%s"],"inputs":[],"args":["settings.txt"]}]\n' "$1"
	exit 0
fi
shift
echo "settings $DATABUILD_RUN_ID" >>"$RUNLOG"
mkdir -p "$DATABUILD_OUTPUT_DIR/tuned"
cat "$1" >"$DATABUILD_OUTPUT_DIR/tuned/v=1"
SH
chmod +x "$G/jobs/settings.sh"
echo "threshold=1" >"$G/settings.txt"
sed -i 's|^{"name":"fs_fixture","jobs":\[|&{"label":"tuned","outputs":["tuned/v={v}"],"configure":["jobs/settings.sh","configure"],"exec":["jobs/settings.sh","exec"],"version":"1.0.0"},|' \
	"$G/databuild.json"
mount_db
[ "$(cat "$M/tuned/v=1")" = "threshold=1" ] || fail "tuned/v=1: '$(cat "$M/tuned/v=1")'"
[ "$(runs settings)" = 1 ] || fail "tuned ran $(runs settings) times"
echo "threshold=2" >"$G/settings.txt"
[ "$(cat "$M/tuned/v=1")" = "threshold=2" ] || fail "a changed args file was not noticed: '$(cat "$M/tuned/v=1")'"
[ "$(runs settings)" = 2 ] || fail "tuned ran $(runs settings) times after its args file changed"
events_with '"reason":"stale: file' | grep -qF 'settings.txt' ||
	fail "no event names the args file: $(db events --since 0 | grep -F reason | tail -n3)"
pass "a changed file named in args makes the partition stale, by path"
unmount_db

# -o stale=serve: the old bytes at once, the rebuild in the background.
mount_db -o stale=serve
# A new mount has no witness yet: this first read is served at once and a
# verifying plan runs in the background. Let it finish before the change,
# or it may see threshold=3 itself and publish it before the next read.
cat "$M/tuned/v=1" >/dev/null
no_builds() { grep -q '"builds": \[\]' "$M/.databuild/status"; }
poll_until 30 no_builds
before=$(runs settings)
echo "threshold=3" >"$G/settings.txt"
got=$(cat "$M/tuned/v=1" 2>&1) || true
[ "$got" = "threshold=2" ] ||
	fail "stale=serve did not serve the old bytes at once: read '$got', runs of settings $before -> $(runs settings)"
rebuilt() { [ "$(cat "$M/tuned/v=1")" = "threshold=3" ]; }
poll_until 30 rebuilt
[ "$(runs settings)" = $((before + 1)) ] || fail "stale=serve rebuilt $(( $(runs settings) - before )) times"
unmount_db
pass "-o stale=serve serves the old bytes at once and rebuilds in the background"
