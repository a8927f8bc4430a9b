#!/usr/bin/env bash
# Partition domains through the mount: ls shows every partition of a
# domain, built or not, without running anything and without adding a row
# to the catalog; the status attribute says missing, then live after a
# read; refs outside the domain are ENOENT; a failing command domain is
# EIO with a line in the daemon's log; listings keep their offsets and the
# daemon's memory does not grow with what it lists.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
command -v getfattr >/dev/null || fail "getfattr is needed (attr)"
command -v perl >/dev/null || fail "perl is needed for telldir/seekdir"

W=$T/weather
mkdir -p "$W/jobs"
cp "$SOURCE_ROOT/tests/fs/fixture/weather.sh" "$W/jobs/weather.sh"
printf '#!/bin/sh\necho "customer list unavailable" >&2\nexit 3\n' >"$W/jobs/customers.sh"
chmod +x "$W/jobs/customers.sh"
_wjob() {  # label pattern partitions
	printf '{"label":"%s","outputs":["%s"],"partitions":%s,"configure":["jobs/weather.sh","configure","%s"],"exec":["jobs/weather.sh","exec"],"version":"1.0.0"}' \
		"$1" "$2" "$3" "$1"
}
{
	printf '{"name":"fs_domains","domains":{'
	printf '"day2024":{"dates":{"start":"2024-01-01","end":"2024-12-31"}},'
	printf '"station":{"values":["north","south","east"]},'
	printf '"shards":{"ints":{"start":0,"end":99999}},'
	printf '"customer":{"command":["jobs/customers.sh"]}},"jobs":['
	printf '%s,' "$(_wjob raw 'raw/station={station}/date={date}' '{"station":"station","date":"day2024"}')"
	printf '%s,' "$(_wjob clean 'clean/station={station}/date={date}' '{"station":"station","date":"day2024"}')"
	printf '%s,' "$(_wjob daily 'daily/date={date}' '{"date":"day2024"}')"
	printf '%s,' "$(_wjob report 'report/date={date}' '{"date":"day2024"}')"
	printf '%s,' "$(_wjob shard 'shard/n={n}' '{"n":"shards"}')"
	printf '%s,' "$(_wjob wide 'wide/n={n}' '{"n":"shards"}')"
	printf '%s,' "$(_wjob cust 'cust/id={id}' '{"id":"customer"}')"
	printf '%s' "$(_wjob notes 'notes/key={key}' '{}')"
	printf ']}\n'
} >"$W/databuild.json"
export DATABUILD_GRAPH=$W/databuild.json

mount_db
catalog_rows() { db ls | wc -l; }
status_of() { getfattr --absolute-names --only-values -n user.databuild.status "$M/$1"; }
daemon_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }

# --- every partition of the domain, without running anything -------------
[ "$(ls "$M" | tr '\n' ' ')" = "clean cust daily notes raw report shard wide " ] ||
	fail "the root lists: $(ls "$M" | tr '\n' ' ')"
[ "$(ls "$M/raw" | tr '\n' ' ')" = "station=east station=north station=south " ] ||
	fail "raw/ lists: $(ls "$M/raw" | tr '\n' ' ')"
[ -d "$M/raw/station=south" ] || fail "raw/station=south is not a directory"
for s in north south east; do
	ls "$M/raw/station=$s" >"$T/ls" || fail "ls raw/station=$s"
	[ "$(wc -l <"$T/ls")" = 366 ] || fail "raw/station=$s lists $(wc -l <"$T/ls") entries, not 366"
done
[ "$(head -n1 "$T/ls")" = date=2024-01-01 ] && [ "$(tail -n1 "$T/ls")" = date=2024-12-31 ] &&
	grep -qx 'date=2024-02-29' "$T/ls" || fail "the dates of 2024 are not all there"
[ "$(ls "$M/report" | wc -l)" = 366 ] || fail "report/ does not list 366 dates"
[ "$(find "$M/raw" -type f | wc -l)" = 1098 ] || fail "find raw/ finds $(find "$M/raw" -type f | wc -l) files, not 3 x 366"
[ "$(ls "$M/daily/" | sort -u | wc -l)" = 366 ] || fail "daily/ does not list 366 distinct dates"
ls "$M/shard" >"$T/shard"
[ "$(wc -l <"$T/shard")" = 100000 ] || fail "shard/ lists $(wc -l <"$T/shard") entries, not 100000"
[ -z "$(sort "$T/shard" | uniq -d)" ] || fail "shard/ lists duplicates"
grep -qx 'n=99999' "$T/shard" && grep -qx 'n=0' "$T/shard" || fail "shard/ lacks n=0 or n=99999"
[ -z "$(ls "$M/notes")" ] || fail "notes/ (open-ended) lists partitions that were never built"
[ ! -s "$RUNLOG" ] || { cat "$RUNLOG"; fail "listing ran a configure or a job"; }
[ "$(catalog_rows)" = 0 ] || fail "listing added rows to the catalog"
pass "ls lists 3 stations, 366 dates and 100,000 shards: no configure, no job, no catalog row"

# Readdir order: the domain's order (values as listed, ints ascending).
[ "$(ls -f "$M/raw" | grep -v '^\.' | tr '\n' ' ')" = "station=north station=south station=east " ] ||
	fail "raw/ is not in the order of its domain: $(ls -f "$M/raw" | tr '\n' ' ')"
[ "$(ls -f "$M/shard" | grep -v '^\.' | head -n 12 | tr '\n' ' ')" = \
	"n=0 n=1 n=2 n=3 n=4 n=5 n=6 n=7 n=8 n=9 n=10 n=11 " ] || fail "shard/ is not in domain order"
pass "readdir returns names in domain order"

# --- status and ENOENT, without building -----------------------------------
[ "$(status_of report/date=2024-03-01)" = missing ] || fail "status of an unbuilt partition"
[ "$(getfattr --absolute-names -d -m - "$M/report/date=2024-03-01" | grep -c '^user')" = 1 ] ||
	fail "an unbuilt partition has other attributes than its status"
[ "$(stat -c %s "$M/shard/n=42")" = 0 ] || fail "a placeholder should have size 0"
for ref in report/date=2025-01-01 report/date=2024-02-30 raw/station=west/date=2024-01-01 \
	shard/n=100000 shard/n=-1 shard/n=007 daily/date=2024-1-1; do
	expect_exit 1 stat "$M/$ref"
	expect_err "No such file or directory"
	expect_exit 1 cat "$M/$ref"
	expect_err "No such file or directory"
done
expect_exit 1 getfattr -n user.databuild.status "$M/report/date=2025-01-01"
expect_exit 2 ls "$M/raw/station=west"
expect_err "No such file or directory"
expect_exit 1 stat "$M/report/date=2025-01-01.manifest.json"
[ ! -s "$RUNLOG" ] || { cat "$RUNLOG"; fail "a lookup ran a configure or a job"; }
pass "status reads missing; refs outside the domain are ENOENT (stat, cat, ls, getfattr)"

# --- reading builds; listing shows what was built ---------------------------
[ "$(head -n1 "$M/report/date=2024-03-01")" = "report 2024-03-01" ] || fail "cannot read report/date=2024-03-01"
[ "$(status_of report/date=2024-03-01)" = live ] || fail "status after the read"
[ "$(grep -c '^exec' "$RUNLOG")" = 8 ] || { cat "$RUNLOG"; fail "the read should have run 8 jobs"; }
[ "$(catalog_rows)" = 8 ] || { db ls; fail "the catalog should hold the 8 built partitions"; }
ls "$M/report" >"$T/ls"
[ "$(wc -l <"$T/ls")" = 367 ] || fail "report/ lists $(wc -l <"$T/ls") entries, not 366 + a manifest"
[ -z "$(sort "$T/ls" | uniq -d)" ] || fail "report/ lists a built partition twice"
grep -qx 'date=2024-03-01.manifest.json' "$T/ls" || fail "report/ lacks the manifest of the built partition"
ls -l "$M/report" >"$T/lsl" || fail "ls -l report/"
grep -q ' date=2024-03-01$' "$T/lsl" && ! grep -q ' 0 [A-Z].* date=2024-03-01$' "$T/lsl" ||
	{ grep '03-01' "$T/lsl"; fail "ls -l shows the built partition with no size"; }
[ "$(ls "$M/raw/station=east" | wc -l)" = 367 ] || fail "raw/station=east after the build"
[ "$(status_of raw/station=east/date=2024-03-01)" = live ] || fail "status of an upstream partition"
[ "$(status_of raw/station=east/date=2024-03-02)" = missing ] || fail "status of its neighbour"
ls -R "$M/raw" >/dev/null && ls "$M/clean"/* >/dev/null || fail "ls -R"
[ "$(catalog_rows)" = 8 ] || fail "listing after the build added rows to the catalog"
[ "$(grep -c '^exec' "$RUNLOG")" = 8 ] || fail "listing after the build ran a job"
db taint report/date=2024-03-01 >/dev/null || fail "databuild taint"
[ "$(status_of report/date=2024-03-01)" = stale ] || fail "a tainted partition should read as stale"
[ "$(cat "$M/notes/key=a")" = notes/key=a ] || fail "cannot build an open-ended partition"
[ "$(ls "$M/notes" | tr '\n' ' ')" = "key=a key=a.manifest.json " ] || fail "notes/ lists: $(ls "$M/notes")"
pass "a read builds the chain; the status is live (stale once tainted); listings show it once"

# A partition the catalog holds outside the domain (built with a graph
# whose domain was wider) is neither listed nor found.
sed 's/"end":99999/"end":100000/' "$W/databuild.json" >"$W/wider.json"
[ "$(db --graph "$W/wider.json" cat shard/n=100000)" = shard/n=100000 ] || fail "cannot build shard/n=100000"
[ "$(catalog_rows)" = 10 ] || { db ls; fail "the catalog should hold 10 partitions"; }
ls "$M/shard" >"$T/ls"
[ "$(wc -l <"$T/ls")" = 100000 ] && ! grep -q 'n=100000' "$T/ls" ||
	fail "shard/ lists the partition outside its domain"
expect_exit 1 stat "$M/shard/n=100000"
expect_exit 1 stat "$M/shard/n=100000.manifest.json"
pass "a catalog row outside the domain is not listed and is ENOENT"

# --- a command domain that fails: EIO and a line in the log ---------------
expect_exit 2 ls "$M/cust"
expect_err "Input/output error"
expect_exit 1 stat "$M/cust/id=1"
expect_err "Input/output error"
grep -q "customer.*status 3" "$DATABUILD_STORE/daemon.log" ||
	{ tail -5 "$DATABUILD_STORE/daemon.log"; fail "the daemon's log does not say why cust/ failed"; }
pass "a failing command domain is EIO, logged"

# --- offsets, and memory that does not grow with the listing -----------------
perl -e '
	my $d = shift;
	opendir(my $h, $d) or die "opendir: $!";
	my @all = readdir($h);
	scalar(@all) == 100002 or die "readdir: " . scalar(@all) . " entries";
	rewinddir($h);
	readdir($h) for 1 .. 50000;
	my $pos = telldir($h);
	my @a = map { scalar readdir($h) } 1 .. 20;
	readdir($h) for 1 .. 3000;
	seekdir($h, $pos);
	my @b = map { scalar readdir($h) } 1 .. 20;
	"@a" eq "@b" or die "seekdir: [@a] != [@b]";
	$a[0] eq "n=49998" or die "entry 50001 is $a[0], not n=49998";
	rewinddir($h);
	my @again = readdir($h);
	"@again" eq "@all" or die "rewinddir gives another listing";
' "$M/shard" || fail "readdir offsets"
pass "telldir/seekdir/rewinddir offsets are stable over a domain listing"

# wide/ is listed here for the first time: a listing that kept a node per
# name would grow the daemon by about 15 MiB.
before=$(daemon_rss_kb)
for i in 1 2 3; do ls -f "$M/wide" >"$T/ls" || fail "ls wide/"; done
after=$(daemon_rss_kb)
[ "$(wc -l <"$T/ls")" = 100002 ] || fail "wide/ lists $(wc -l <"$T/ls") entries"
if ldd "$DATABUILD" 2>/dev/null | grep -q libasan; then
	# AddressSanitizer keeps freed memory in quarantine: RSS says nothing
	pass "listing 100,000 names three times grew the daemon by $((after - before)) KiB (AddressSanitizer: not checked)"
else
	[ $((after - before)) -lt 4096 ] || fail "listing 100,000 names grew the daemon by $((after - before)) KiB"
	pass "listing 100,000 names three times grew the daemon by $((after - before)) KiB"
fi
unmount_db
