#!/usr/bin/env bash
# Browsing and reading: ls of the root and of datasets, cat of a missing
# partition with upstreams, sizes, sidecars, xattrs, everyday tools over
# the mount, ENOENT for what no job produces, databuild umount.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db

ls -a "$M" >"$T/root"
for d in .databuild raw summary reports block fail many; do
	grep -qx "$d" "$T/root" || { cat "$T/root"; fail "root does not list '$d'"; }
done
[ -z "$(ls "$M/raw")" ] || fail "raw lists partitions before any build"
[ "$(ls "$M/reports")" = "region=eu" ] || fail "reports does not list its literal dataset region=eu"
pass "ls of the root and of datasets"

# The bytes the jobs write, computed here independently.
for i in 3 1 4 1 5 9 2 6; do echo "2024-01-01,item$i,$i"; done >"$T/raw"
{ echo "report 2024-01-01"; echo "total 31"; sort -t, -k3n "$T/raw"; } >"$T/expected"
cat "$M/reports/region=eu/date=2024-01-01" >"$T/got" || fail "cat of a missing partition failed"
cmp "$T/expected" "$T/got" || fail "cat returned other bytes than the jobs wrote"
[ "$(runs raw)" = 1 ] && [ "$(runs summary)" = 1 ] && [ "$(runs report)" = 1 ] ||
	{ cat "$RUNLOG"; fail "each job should have run once"; }
pass "cat of a missing partition with upstreams returns exactly the jobs' bytes"

P=$M/reports/region=eu/date=2024-01-01
[ "$(stat -c %s "$P")" = "$(wc -c <"$T/expected")" ] || fail "stat size differs from the bytes"
[ "$(stat -c %s "$M/raw/date=2024-01-01")" = "$(wc -c <"$T/raw")" ] || fail "upstream size differs"
cmp "$T/raw" "$M/raw/date=2024-01-01" || fail "upstream bytes differ"
cat "$P" >/dev/null
[ "$(runs report)" = 1 ] || fail "a second read ran the job again"
pass "stat size matches the bytes; a live partition is not rebuilt"

ls "$M/raw" >"$T/ls"
printf 'date=2024-01-01\ndate=2024-01-01.manifest.json\n' | cmp - "$T/ls" ||
	{ cat "$T/ls"; fail "raw should list the partition and its manifest"; }
python3 -m json.tool "$P.manifest.json" >"$T/manifest" || fail "the manifest sidecar does not parse"
grep -q '"run_id"' "$T/manifest" && grep -q '"job": "report"' "$T/manifest" ||
	{ cat "$T/manifest"; fail "the manifest lacks run_id or job"; }
[ "$(stat -c %s "$P.manifest.json")" = "$(wc -c <"$P.manifest.json")" ] ||
	fail "the manifest's stat size differs from its bytes"
pass "the manifest sidecar parses"

[ "$(getfattr --absolute-names --only-values -n user.databuild.status "$P")" = live ] || fail "xattr status"
[ "$(getfattr --absolute-names --only-values -n user.databuild.job "$P")" = report ] || fail "xattr job"
sha=$(sha256sum "$T/expected" | cut -d' ' -f1)
[ "$(getfattr --absolute-names --only-values -n user.databuild.sha256 "$P")" = "$sha" ] || fail "xattr sha256"
getfattr --absolute-names -d "$P" >"$T/xattrs"
for a in status job run_id build_key sha256; do
	grep -q "^user.databuild.$a=" "$T/xattrs" || { cat "$T/xattrs"; fail "listxattr lacks $a"; }
done
[ "$(getfattr --absolute-names --only-values -n user.databuild.status "$M/raw/date=1999-01-01")" = missing ] ||
	fail "xattr status of a buildable missing partition"
pass "extended attributes"

[ "$(awk -F, '{ s += $3 } END { print s }' "$M/raw/date=2024-01-01")" = 31 ] || fail "awk"
sort -t, -k3n "$M/raw/date=2024-01-01" | cmp - <(sort -t, -k3n "$T/raw") || fail "sort"
[ "$(wc -l <"$M/summary/date=2024-01-01")" = 9 ] || fail "wc"
find "$M" >"$T/find" || fail "find over the mount failed"
grep -qx "$P" "$T/find" && grep -qx "$M/.databuild/events" "$T/find" || { cat "$T/find"; fail "find"; }
timeout 60 grep -r "item9" "$M" >"$T/grep" || fail "grep -r over the mount failed or did not end"
grep -q "^$M/raw/date=2024-01-01:2024-01-01,item9,9" "$T/grep" || { cat "$T/grep"; fail "grep -r"; }
pass "awk, sort, wc, find, grep -r over the mount"

python3 -m json.tool "$M/.databuild/status" >/dev/null || fail ".databuild/status is not JSON"
[ "$(status_field live)" = 3 ] || { cat "$M/.databuild/status"; fail "status should count 3 live"; }
grep -q '"partition_published"' "$M/.databuild/events" || fail "events lack partition_published"
while read -r line; do
	python3 -c 'import json,sys; json.loads(sys.argv[1])' "$line" || fail "events line is not JSON: $line"
done <"$M/.databuild/events"
[ "$(stat -c %s "$M/.databuild/events")" = "$(cat "$M/.databuild/events" | wc -c)" ] ||
	fail "events size differs from its bytes"
size=$(stat -c %s "$M/.databuild/events")
cat "$M/raw/date=2024-02-02" >/dev/null
grown=$(stat -c %s "$M/.databuild/events")
[ "$grown" -gt "$size" ] || fail "events did not grow after a build ($size -> $grown)"
tail -c +$((size + 1)) "$M/.databuild/events" >"$T/new-events"
[ "$(wc -c <"$T/new-events")" -ge $((grown - size)) ] || fail "reading from the old end"
grep -q '"partition_published".*raw/date=2024-02-02' "$T/new-events" || { cat "$T/new-events"; fail "new events"; }
head -n 1 "$T/new-events" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' ||
	fail "the first new event does not start at the old size"
tail -c +1 -f "$M/.databuild/events" >"$T/tail" 2>/dev/null &
tailpid=$!
cat "$M/raw/date=2024-03-03" >/dev/null
poll_until 20 grep -q '"partition_published".*raw/date=2024-03-03' "$T/tail"
kill "$tailpid"
pass ".databuild/status and .databuild/events (which grows, and tail -f follows)"

expect_exit 1 cat "$M/nope/x"
expect_err "No such file or directory"
expect_exit 2 ls "$M/nope"
expect_exit 1 stat "$M/raw/not-a-date/x"
expect_exit 1 cat "$M/raw/date=2024-01-01.error"
expect_exit 1 cat "$M/nope.manifest.json"
pass "ENOENT for what no job produces"

unmount_db
pass "databuild umount"
