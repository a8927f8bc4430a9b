#!/usr/bin/env bash
# Load through a real mount: 1,000 concurrent readers on 100 missing
# partitions all get the right bytes, each job running exactly once; then
# 100,000 sequential open/read/close cycles on live partitions leave the
# daemon's open descriptors and resident memory flat.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
need_fuse
READERS=${READERS:-1000}
PARTS=${PARTS:-100}
READS=${READS:-100000}

refs=()
for ((i = 0; i < PARTS; i++)); do refs+=("ok/p$i"); done

# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default) that would read as growth: keep it empty for this daemon.
if ldd "$DATABUILD" 2>/dev/null | grep -q libasan; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0
fi
mount_db
"$REL/rel_reader" parallel "$READERS" "$M" "${refs[@]}" >"$T/par.out" 2>"$T/par.err" ||
	{ head -20 "$T/par.err"; cat "$T/par.out"; fail "concurrent readers failed"; }
[ "$(wc -l <"$RUNLOG")" = "$PARTS" ] || fail "$(wc -l <"$RUNLOG") job runs for $PARTS partitions"
[ "$(cut -d' ' -f2 "$RUNLOG" | sort -u | wc -l)" = "$PARTS" ] || { sort "$RUNLOG" | uniq -d -f1 | head; fail "a partition was built twice"; }
[ "$(status_field waiters)" = 0 ] || fail "waiters left after every reader returned"
pass "$READERS concurrent readers on $PARTS missing partitions: right bytes, each job ran once"

fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
# Warm up (caches, worker threads, SQLite page caches), then read in ten
# chunks, sampling after each. The worker pool is bounded (8 threads) but
# may still add a thread or two after the warm-up, each with 4 descriptors
# (its catalog connection, WAL, shared memory, splice pipe); a leak shows as
# growth from the first half to the second beyond that, and any leak of one
# descriptor per thousand reads would pass the absolute bound.
"$REL/rel_reader" loop 10000 "$M" "${refs[@]}" >/dev/null || fail "warm-up reads failed"
fd0=$(fds); rss0=$(rss)
fdmax1=0 fdmax2=0 rssmax1=0 rssmax2=0
for ((c = 1; c <= 10; c++)); do
	"$REL/rel_reader" loop $((READS / 10)) "$M" "${refs[@]}" >"$T/loop.out" 2>"$T/loop.err" ||
		{ head -20 "$T/loop.err"; fail "sequential reads failed"; }
	f=$(fds); r=$(rss)
	echo "after $((c * READS / 10)) reads: $f descriptors, VmRSS $r KiB"
	if [ "$c" -le 5 ]; then
		[ "$f" -le "$fdmax1" ] || fdmax1=$f; [ "$r" -le "$rssmax1" ] || rssmax1=$r
	else
		[ "$f" -le "$fdmax2" ] || fdmax2=$f; [ "$r" -le "$rssmax2" ] || rssmax2=$r
	fi
done
echo "daemon: $fd0 descriptors, VmRSS $rss0 KiB after the warm-up"
[ "$fdmax2" -le $((fdmax1 + 8)) ] || fail "descriptors grew: at most $fdmax1, then $fdmax2"
[ "$fdmax2" -le $((fd0 + 40)) ] || fail "descriptors grew from $fd0 to $fdmax2"
[ "$rssmax2" -le $((rssmax1 + rssmax1 / 20 + 1024)) ] || fail "VmRSS grew: at most $rssmax1 KiB, then $rssmax2 KiB"
[ "$rssmax2" -le $((rss0 + rss0 / 5 + 4096)) ] || fail "VmRSS grew from $rss0 to $rssmax2 KiB"
[ "$(wc -l <"$RUNLOG")" = "$PARTS" ] || fail "reads of live partitions ran jobs"
unmount_db
pass "$READS sequential reads: descriptors and memory stay flat"
