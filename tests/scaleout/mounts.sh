#!/usr/bin/env bash
# Two mounts (separate daemons and mount points) and a `databuild build` on
# one catalog and one store: concurrent reads of one partition through both
# mounts build it once; what any of them publishes is listed in every mount.
. "$SOURCE_ROOT/tests/scaleout/lib_scaleout.sh"
need_fuse

M1=$T/m1 M2=$T/m2
mkdir -p "$M1" "$M2"
umount_all() {
	local m
	for m in "$M1" "$M2"; do
		if grep -qF " $m fuse.databuild " /proc/self/mounts; then
			"$DATABUILD" umount "$m" >/dev/null 2>&1 || fusermount3 -u -z "$m" 2>/dev/null
		fi
	done
	true
}
at_exit umount_all
at_exit 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null'
db mount -j 4 "$M1" || fail "mount $M1 failed"
db mount -j 4 "$M2" || fail "mount $M2 failed"

tok=m$$x$RANDOM
# concurrent readers of one partition (and its five inputs) through both mounts
for i in 1 2 3; do
	cat "$M1/group/$tok" >"$T/r1-$i" 2>"$T/r1-$i.err" &
	cat "$M2/group/$tok" >"$T/r2-$i" 2>"$T/r2-$i.err" &
done
rc=0
for p in $(jobs -p); do wait "$p" || rc=1; done
[ "$rc" = 0 ] || { cat "$T"/r*.err; fail "a reader failed"; }
for f in "$T"/r1-* "$T"/r2-*; do
	case $f in *.err) continue ;; esac
	[ "$(wc -l <"$f")" = 5 ] || { cat "$f"; fail "reader $f got incomplete bytes"; }
done
no_duplicates || fail "a job ran more than once across two mounts"
[ "$(runs group "$tok")" = 1 ] || fail "group/$tok ran $(runs group "$tok") times"
pass "concurrent reads through two mounts built once"

# what one mount built, the other lists and serves without a run
cat "$M1/leaf/$tok-solo" >/dev/null || fail "reading leaf/$tok-solo through $M1 failed"
listed() { ls "$1/leaf" 2>/dev/null | grep -qx "$tok-solo"; }
poll_until 30 listed "$M2"
grep -qx "leaf $tok-solo" "$M2/leaf/$tok-solo" || fail "$M2 does not serve what $M1 built"
[ "$(runs leaf "$tok-solo")" = 1 ] || fail "reading through $M2 ran the job again"

# what a separate build process publishes, both mounts list
expect_exit 0 db build "leaf/$tok-cli"
in_both() { ls "$M1/leaf" | grep -qx "$tok-cli" && ls "$M2/leaf" | grep -qx "$tok-cli"; }
poll_until 30 in_both
[ "$(runs leaf "$tok-cli")" = 1 ] || fail "leaf/$tok-cli ran more than once"
pass "ls in every mount shows what the others published"
