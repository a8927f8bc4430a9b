#!/usr/bin/env bash
# Everything that would write fails with EROFS, on partitions, placeholders,
# sidecars, datasets and the control files.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
mount_db
P=$M/raw/date=2024-01-01
cat "$P" >/dev/null || fail "cannot build a partition"

# erofs CMD...: CMD fails with "Read-only file system".
erofs() {
	local got=0
	"$@" >"$T/out" 2>"$T/err" || got=$?
	[ "$got" -ne 0 ] || fail "succeeded on a read-only mount: $*"
	grep -q "Read-only file system" "$T/err" || { cat "$T/err"; fail "not EROFS: $*"; }
}
erofs touch "$M/raw/new"
erofs touch "$P"
erofs touch "$M/raw/date=2024-02-02"
erofs mkdir "$M/newdir"
erofs mkdir "$M/raw/newdir"
erofs rm -f "$P"
erofs rm -f "$P.manifest.json"
erofs rmdir "$M/raw"
erofs rm -rf "$M/summary"
erofs mv "$P" "$M/raw/date=2024-03-03"
erofs mv "$M/raw" "$M/raw2"
erofs sh -c "echo x >'$P'"
erofs sh -c "echo x >>'$P'"
erofs sh -c "echo x >'$M/raw/new'"
erofs sh -c "echo x >'$M/.databuild/status'"
erofs truncate -s 0 "$P"
erofs chmod 0644 "$P"
erofs chmod 0755 "$M/raw"
erofs chown 1:1 "$P"
erofs setfattr -n user.databuild.status -v live "$P"
erofs setfattr -x user.databuild.status "$P"
erofs ln "$P" "$M/raw/hard"
erofs ln -s "$P" "$M/raw/soft"
erofs mknod "$M/raw/fifo" p
erofs dd if=/dev/zero of="$P" bs=1 count=1 conv=notrunc status=none
pass "EROFS for every write path"

cmp "$P" <(for i in 3 1 4 1 5 9 2 6; do echo "2024-01-01,item$i,$i"; done) ||
	fail "the partition changed"
[ "$(runs raw)" = 1 ] || fail "a write attempt ran a job"
pass "nothing changed"
