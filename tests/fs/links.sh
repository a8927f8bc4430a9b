#!/usr/bin/env bash
# A partition's data file replaced by a symbolic link is never followed:
# the mount answers EIO (logged), `databuild cat` and `databuild path` exit
# 1 naming the ref, and no byte of the link's target is served.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
echo "the secret bytes" >"$T/secret"
chmod 600 "$T/secret"
db build raw/date=a summary/date=b >/dev/null || fail "building the partitions"
data=$DATABUILD_STORE/data/raw/date=a
rm -f "$data"
ln -s "$T/secret" "$data"

expect_exit 1 db cat raw/date=a
grep -q secret "$T/out" && fail "databuild cat served the link's target"
grep -q "'raw/date=a'.*symbolic link" "$T/err" || fail "databuild cat: '$(cat "$T/err")'"
expect_exit 1 db path raw/date=a
grep -q "'raw/date=a'.*symbolic link" "$T/err" || fail "databuild path: '$(cat "$T/err")'"
pass "databuild cat and path refuse a symlinked data file"

mount_db
if timeout 30 cat "$M/raw/date=a" >"$T/read" 2>"$T/read.err"; then
	fail "reading a symlinked partition through the mount succeeded: '$(cat "$T/read")'"
fi
grep -q secret "$T/read" && fail "the mount served the link's target"
grep -q "Input/output error" "$T/read.err" || fail "the mount answered '$(cat "$T/read.err")'"
grep -q "'raw/date=a': its data file is a symbolic link" "$DATABUILD_STORE/daemon.log" ||
	fail "the daemon did not log the link"

# A link on the way (a dataset directory) is not followed either.
mkdir -p "$T/elsewhere/summary"
cp "$T/secret" "$T/elsewhere/summary/date=b"
rm -rf "$DATABUILD_STORE/data/summary"
ln -s "$T/elsewhere/summary" "$DATABUILD_STORE/data/summary"
timeout 30 cat "$M/summary/date=b" >"$T/read" 2>/dev/null
grep -q secret "$T/read" && fail "the mount served through a symlinked directory"
expect_exit 1 db cat summary/date=b
grep -q secret "$T/out" && fail "databuild cat served through a symlinked directory"
pass "the mount answers EIO for a symlinked data file and logs it"
