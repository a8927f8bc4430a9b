#!/usr/bin/env bash
# tar, cp -r, rsync -a, find and du over the mount, on live partitions and
# on partitions they are the first to open: every archive and copy holds
# the partitions' exact bytes; find and du build nothing.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
need_tool tar tar
need_tool rsync rsync
mount_db

# same DIR: DIR/sizes/day=D holds the bytes of sizes/day=D for each D given.
same() {
	local dir=$1 d
	shift
	for d in "$@"; do
		expect_csv "$d" | cmp - "$dir/sizes/day=$d" || fail "$dir/sizes/day=$d differs"
	done
}

db build sizes/day=L1 sizes/day=L2 >"$T/build.out" 2>&1 || { cat "$T/build.out"; fail "databuild build"; }
[ "$(runs csv)" = 2 ] || fail "setup: $(runs csv) runs"
mkdir "$T/tar" "$T/cp" "$T/rsync"
tar -cf "$T/live.tar" -C "$M" sizes || fail "tar of a dataset failed"
tar -xf "$T/live.tar" -C "$T/tar" && same "$T/tar" L1 L2
cp -r "$M/sizes" "$T/cp/" || fail "cp -r of a dataset failed"
same "$T/cp" L1 L2
rsync -a "$M/sizes" "$T/rsync/" || fail "rsync -a of a dataset failed"
same "$T/rsync" L1 L2
[ "$(runs csv)" = 2 ] || fail "reading live partitions ran $(runs csv) jobs"
pass "tar, cp -r, rsync -a of live partitions"

# First opens: each tool is given a partition nobody built yet.
rm -rf "$T/tar" "$T/cp" "$T/rsync"
mkdir -p "$T/tar" "$T/cp/sizes" "$T/rsync/sizes"
tar -cf "$T/new.tar" -C "$M" sizes/day=T1 || fail "tar of an unbuilt partition failed"
tar -xf "$T/new.tar" -C "$T/tar" && same "$T/tar" T1
cp "$M/sizes/day=C1" "$T/cp/sizes/" || fail "cp of an unbuilt partition failed"
same "$T/cp" C1
rsync -a "$M/sizes/day=R1" "$T/rsync/sizes/" || fail "rsync -a of an unbuilt partition failed"
same "$T/rsync" R1
for d in T1 C1 R1; do [ "$(runs csv "$d")" = 1 ] || fail "sizes/day=$d: $(runs csv "$d") runs"; done
pass "tar, cp, rsync -a build a partition they are the first to open, and copy its bytes"

# A domain lists its unbuilt partitions: find and du see them without
# building; cp -r and tar of the directory build every one.
[ "$(find "$M/daily" -type f | wc -l)" = 3 ] || fail "find daily: $(find "$M/daily" -type f)"
du -a "$M/daily" >"$T/du" || fail "du failed"
[ "$(awk '{ s += $1 } END { print s }' "$T/du")" = 0 ] || { cat "$T/du"; fail "du counts unbuilt partitions"; }
[ "$(runs csv 2024-02-0)" = 0 ] || fail "find or du built something"
pass "find and du over unbuilt partitions build nothing"

cp -r "$M/daily" "$T/cp/" || fail "cp -r of a directory of unbuilt partitions failed"
for d in 2024-02-01 2024-02-02 2024-02-03; do
	expect_csv "$d" | cmp - "$T/cp/daily/day=$d" || fail "cp -r: daily/day=$d differs"
	[ "$(runs csv "$d")" = 1 ] || fail "daily/day=$d: $(runs csv "$d") runs"
done
du -ab "$M/daily" >"$T/du"
for d in 2024-02-01 2024-02-02 2024-02-03; do
	[ "$(awk -v f="$M/daily/day=$d" '$2 == f { print $1 }' "$T/du")" = "$(expect_csv "$d" | wc -c)" ] ||
		{ cat "$T/du"; fail "du -b of daily/day=$d"; }
done
[ "$(find "$M/daily" -type f -name 'day=*' ! -name '*.json' -size +1k | wc -l)" = 3 ] || fail "find -size once built"
pass "cp -r of a directory of unbuilt partitions builds them; du and find see their sizes"
