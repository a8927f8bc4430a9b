#!/usr/bin/env bash
# Served bytes are the published bytes: every open checks the data file
# against the identity recorded when it was published (fstat, no rehash).
# Bytes changed in place (even with the mtime put back), a truncated or a
# deleted file are damage: never served, recorded (status damaged, a
# partition_damaged event), and rebuilt like a missing partition, through
# the mount and through the CLI. When the rebuild fails the read fails
# and .error says what was damaged. A store copied with its bytes intact
# is not damage: the file is rehashed once and its new identity recorded.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
data() { echo "$DATABUILD_STORE/data/$1"; }
good() { for i in 3 1 4 1 5 9 2 6; do echo "$1,item$i,$i"; done; }
db build raw/date=t raw/date=u raw/date=d raw/date=c raw/date=e fail/key=k >/dev/null 2>&1 ||
	[ -e "$(data raw/date=t)" ] || fail "building the partitions"

# In-place tamper: same size, the mtime restored.
f=$(data raw/date=t)
touch -r "$f" "$T/stamp"
chmod u+w "$f"
printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
touch -r "$T/stamp" "$f"
chmod 0444 "$f"
[ "$(stat -c %s.%Y "$f")" = "$(stat -c %s "$f").$(stat -c %Y "$T/stamp")" ] || fail "setup"
mount_db
[ "$(cat "$M/raw/date=t")" = "$(good t)" ] || fail "the mount served '$(cat "$M/raw/date=t")'"
[ "$(runs raw t)" = 2 ] || fail "raw/date=t ran $(runs raw t) times, want 2 (rebuilt once)"
db events >"$T/events"
grep '"partition_damaged"' "$T/events" | grep -q '"raw/date=t"' || fail "no partition_damaged event"
pass "bytes changed in place with their mtime restored are rebuilt, never served"

# Truncated: the mount serves the whole rebuilt file, not the old size.
f=$(data raw/date=u)
chmod u+w "$f"; truncate -s 5 "$f"; chmod 0444 "$f"
[ "$(cat "$M/raw/date=u")" = "$(good u)" ] || fail "the mount served '$(cat "$M/raw/date=u")'"
pass "a truncated data file is rebuilt"

# Deleted: `databuild build` brings it back (no longer "0 built"): its
# object is intact, so the run cache restores it without a run.
rm -f "$(data raw/date=d)"
expect_exit 0 db build raw/date=d
expect_out "0 built, 1 restored"
[ "$(cat "$(data raw/date=d)")" = "$(good d)" ] || fail "raw/date=d not rebuilt"
rm -f "$(data raw/date=d)"
[ "$(cat "$M/raw/date=d")" = "$(good d)" ] || fail "the mount served '$(cat "$M/raw/date=d")'"
[ "$(runs raw d)" = 1 ] || fail "raw/date=d ran $(runs raw d) times, want 1 (restored twice)"
pass "a deleted data file is restored by build and by a read"

# A rebuild that fails: EIO, and .error says what was damaged.
: >"$STATE/fixed-k"
db build fail/key=k >/dev/null 2>&1 || fail "building fail/key=k"
# the object goes too, or the run cache would restore it without a run
obj=$(find "$DATABUILD_STORE/objects" -samefile "$(data fail/key=k)")
[ -n "$obj" ] || fail "fail/key=k has no object"
rm -f "$STATE/fixed-k" "$(data fail/key=k)" "$obj"
if cat "$M/fail/key=k" >"$T/read" 2>"$T/read.err"; then
	fail "reading a damaged partition whose rebuild fails succeeded"
fi
grep -q "Input/output error" "$T/read.err" || fail "the read failed with '$(cat "$T/read.err")'"
grep -q "its data was damaged (its data file is missing), and rebuilding it failed" \
	"$M/fail/key=k.error" || fail ".error: '$(cat "$M/fail/key=k.error")'"
pass "a failed rebuild of damaged data answers EIO and .error names the damage"

# The same bytes under a new identity (a copied store): rehashed, resealed.
f=$(data raw/date=c)
cp -p "$f" "$T/copy"; rm -f "$f"; cp -p "$T/copy" "$f"
[ "$(cat "$M/raw/date=c")" = "$(good c)" ] || fail "the mount served '$(cat "$M/raw/date=c")'"
[ "$(runs raw c)" = 1 ] || fail "intact bytes under a new identity were rebuilt"
expect_exit 0 db path raw/date=c
pass "the same bytes under a new identity are rehashed once, not rebuilt"

# The CLI: cat rebuilds damage, path refuses and marks it.
f=$(data raw/date=e)
chmod u+w "$f"; echo extra >>"$f"; chmod 0444 "$f"
unmount_db
expect_exit 1 db path raw/date=e
expect_err "'raw/date=e' is damaged"
expect_err "size"
expect_exit 0 db show raw/date=e
expect_out "damaged"
expect_exit 0 db cat raw/date=e
[ "$(cat "$T/out")" = "$(good e)" ] || fail "databuild cat served '$(cat "$T/out")'"
pass "databuild path refuses damaged data; databuild cat rebuilds it"
