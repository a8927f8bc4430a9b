#!/usr/bin/env bash
# A partition's data file replaced by a symbolic link is damage, never
# followed: `databuild path` refuses it (exit 1, naming the ref) and marks
# it damaged; `databuild cat` and the mount rebuild it (the run cache
# restores its intact object) and serve the rebuilt bytes; a link on the way (a dataset directory) cannot be
# published through, so the read fails. No byte of a link's target is
# ever served.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
echo "the secret bytes" >"$T/secret"
chmod 600 "$T/secret"
db build raw/date=a raw/date=m summary/date=b >/dev/null || fail "building the partitions"
want=$(cat "$DATABUILD_STORE/data/raw/date=a")
data=$DATABUILD_STORE/data/raw/date=a
rm -f "$data"
ln -s "$T/secret" "$data"

expect_exit 1 db path raw/date=a
grep -q "'raw/date=a' is damaged.*symbolic link" "$T/err" || fail "databuild path: '$(cat "$T/err")'"
expect_exit 0 db ls --status damaged raw/
expect_out "raw/date=a"
expect_exit 0 db cat raw/date=a
grep -q secret "$T/out" && fail "databuild cat served the link's target"
[ "$(cat "$T/out")" = "$want" ] || fail "databuild cat served '$(cat "$T/out")'"
[ -f "$data" ] && [ ! -L "$data" ] || fail "the link was not replaced by the rebuilt data"
# the object of its version is intact: the run cache restores it, no run
[ "$(runs raw a)" = 1 ] || fail "raw/date=a ran $(runs raw a) times, want 1 (restored)"
db events --json | grep '"partition_restored"' | grep -q '"raw/date=a"' ||
	fail "raw/date=a was not restored from the run cache"
pass "databuild path refuses a symlinked data file; databuild cat restores it"

data=$DATABUILD_STORE/data/raw/date=m
rm -f "$data"
ln -s "$T/secret" "$data"
mount_db
timeout 30 cat "$M/raw/date=m" >"$T/read" 2>"$T/read.err" || fail "reading: $(cat "$T/read.err")"
grep -q secret "$T/read" && fail "the mount served the link's target"
[ "$(cat "$T/read")" = "$(sed s/^a,/m,/ <<<"$want")" ] || fail "the mount served '$(cat "$T/read")'"
grep -q "'raw/date=m' is damaged, not served: its data file is a symbolic link" \
	"$DATABUILD_STORE/daemon.log" || fail "the daemon did not log the link"

# A link on the way (a dataset directory) is not followed either, and
# nothing is published through it: the read fails and .error says why.
mkdir -p "$T/elsewhere/summary"
cp "$T/secret" "$T/elsewhere/summary/date=b"
rm -rf "$DATABUILD_STORE/data/summary"
ln -s "$T/elsewhere/summary" "$DATABUILD_STORE/data/summary"
if timeout 30 cat "$M/summary/date=b" >"$T/read" 2>/dev/null; then
	fail "a read through a symlinked directory succeeded: '$(cat "$T/read")'"
fi
grep -q secret "$T/read" && fail "the mount served through a symlinked directory"
grep -q "its data was damaged" "$M/summary/date=b.error" ||
	fail ".error: '$(cat "$M/summary/date=b.error")'"
grep -q "symbolic link" "$M/summary/date=b.error" ||
	fail ".error does not name the link: '$(cat "$M/summary/date=b.error")'"
[ "$(cat "$T/elsewhere/summary/date=b")" = "the secret bytes" ] ||
	fail "a publish wrote through the symlinked directory"
expect_exit 1 db cat summary/date=b
grep -q secret "$T/out" && fail "databuild cat served through a symlinked directory"
pass "the mount rebuilds a symlinked data file, and never serves through a link"
