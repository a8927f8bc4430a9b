#!/usr/bin/env bash
# docs/filesystem.md, checked on a real mount of the example: the errno of
# every documented case, the listing rules, the sidecars, the extended
# attributes and .databuild/.
. "$SOURCE_ROOT/tests/lib.sh"
need_fuse
command -v python3 >/dev/null || fail "python3 is missing"

# The example, plus a job that always fails (the example has no failure
# inside its domains): broken/date=D.
cat >"$T/broken.sh" <<'SH'
#!/bin/sh
if [ "$1" = configure ]; then
	shift; sep=; printf '['
	for r in "$@"; do printf '%s{"outputs":["%s"]}' "$sep" "$r"; sep=,; done
	printf ']\n'; exit 0
fi
echo "broken: the export of this day is corrupt" >&2
exit 3
SH
chmod +x "$T/broken.sh"
G=$T/databuild.json
python3 - "$BUILD_ROOT/examples/podcast_reviews/databuild.json" "$T/broken.sh" "$G" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
g["jobs"].append({"label": "broken", "outputs": ["broken/date={date}"],
                  "partitions": {"date": "january"},
                  "configure": [sys.argv[2], "configure"], "exec": [sys.argv[2], "exec"]})
json.dump(g, open(sys.argv[3], "w"), indent=1)
PY
S=$T/store
M=$T/mnt
mkdir -p "$M"
expect_exit 0 db --graph "$G" --store "$S" mount "$M"
at_exit "'$DATABUILD' umount '$M'"

d=2024-01-02
# The errors, with the errno names the page uses.
python3 - "$M" "$d" <<'PY' || fail "an operation returned another error than documented"
import errno, os, sys
m, d = sys.argv[1], sys.argv[2]
ok = True
def expect(name, err, fn):
    global ok
    try:
        fn()
    except OSError as e:
        if e.errno == err:
            return
        print(f"{name}: expected {errno.errorcode[err]}, got {errno.errorcode.get(e.errno, e.errno)}")
    else:
        print(f"{name}: expected {errno.errorcode[err]}, got success")
    ok = False

part = f"{m}/leaderboard/date={d}"
with open(part, "rb") as f:          # builds it (8 jobs)
    data = f.read()
assert data.startswith(b"rank\tcategory"), data[:40]
assert os.stat(part).st_size == len(data)
assert os.stat(part).st_mode & 0o777 == 0o444

expect("open O_WRONLY", errno.EROFS, lambda: os.open(part, os.O_WRONLY))
expect("open O_RDWR", errno.EROFS, lambda: os.open(part, os.O_RDWR))
expect("open O_TRUNC", errno.EROFS, lambda: os.open(part, os.O_RDONLY | os.O_TRUNC))
expect("create", errno.EROFS, lambda: os.open(f"{m}/leaderboard/new", os.O_WRONLY | os.O_CREAT, 0o644))
expect("mkdir", errno.EROFS, lambda: os.mkdir(f"{m}/newdir"))
expect("unlink", errno.EROFS, lambda: os.unlink(part))
expect("rmdir", errno.EROFS, lambda: os.rmdir(f"{m}/leaderboard"))
expect("rename", errno.EROFS, lambda: os.rename(part, part + ".x"))
expect("symlink", errno.EROFS, lambda: os.symlink("x", f"{m}/leaderboard/link"))
expect("link", errno.EROFS, lambda: os.link(part, f"{m}/leaderboard/hard"))
expect("chmod", errno.EROFS, lambda: os.chmod(part, 0o644))
expect("truncate", errno.EROFS, lambda: os.truncate(part, 0))
expect("utime", errno.EROFS, lambda: os.utime(part, (0, 0)))
expect("setxattr", errno.EROFS, lambda: os.setxattr(part, "user.x", b"1"))
expect("removexattr", errno.EROFS, lambda: os.removexattr(part, "user.databuild.job"))
expect("unknown dataset", errno.ENOENT, lambda: os.stat(f"{m}/podcasts"))
expect("unknown partition name", errno.ENOENT, lambda: os.stat(f"{m}/leaderboard/day={d}"))
expect("below a file", errno.ENOTDIR, lambda: os.stat(part + "/x"))
expect("failed build", errno.EIO, lambda: open(f"{m}/broken/date={d}", "rb").read())
expect("outside the domain", errno.ENOENT, lambda: os.stat(f"{m}/categorized/category=jazz/date={d}"))
expect("a date outside the domain", errno.ENOENT, lambda: os.stat(f"{m}/leaderboard/date=2024-02-01"))
expect("missing xattr", errno.ENODATA, lambda: os.getxattr(part, "user.databuild.nope"))
expect("xattr of a directory", errno.ENODATA, lambda: os.getxattr(f"{m}/leaderboard", "user.databuild.status"))
expect("non-user xattr", errno.EOPNOTSUPP, lambda: os.getxattr(part, "trusted.x"))

# Extended attributes of a live partition, and of a placeholder.
attrs = {a: os.getxattr(part, a).decode() for a in os.listxattr(part)}
want = {"user.databuild.status", "user.databuild.job", "user.databuild.run_id",
        "user.databuild.build_key", "user.databuild.sha256"}
if set(attrs) != want or attrs["user.databuild.status"] != "live" or attrs["user.databuild.job"] != "leaderboard":
    print("xattrs of a live partition:", attrs); ok = False
ph = f"{m}/leaderboard/date=2024-01-20"
if os.listxattr(ph) != ["user.databuild.status"] or os.getxattr(ph, "user.databuild.status") != b"missing":
    print("xattrs of a placeholder:", os.listxattr(ph)); ok = False
if os.stat(ph).st_size != 0:
    print("a placeholder is not empty"); ok = False
sys.exit(0 if ok else 1)
PY
pass "errors as documented"

# Listing: every partition of the domain, built or not, the built ones
# with their manifests; the root lists the datasets and .databuild.
ls -a "$M" >"$T/root"
for n in .databuild categorized leaderboard reviews summaries weekly; do
	grep -qx "$n" "$T/root" || fail "the root does not list '$n'"
done
ls "$M/leaderboard" >"$T/lb"
{ for i in $(seq -w 1 31); do echo "date=2024-01-$i"; done; echo "date=$d.manifest.json"; } |
	sort | cmp -s - "$T/lb" || { cat "$T/lb"; fail "leaderboard/ lists more or less than documented"; }
ls "$M/summaries" >"$T/sum"
[ "$(wc -l <"$T/sum")" -eq 5 ] || { cat "$T/sum"; fail "summaries/ should list the 5 categories built"; }
pass "listings as documented"

# Sidecars: the manifest parses and names the run; the error sidecar says why.
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["job"] == "leaderboard" and len(m["inputs"]) == 5, m' \
	"$M/leaderboard/date=$d.manifest.json" || fail "the manifest sidecar does not parse"
err=$M/broken/date=$d.error
grep -q "^partition: broken/date=$d" "$err" || fail "no .error sidecar after a failed build"
grep -q "broken: the export of this day is corrupt" "$err" || { cat "$err"; fail "the .error sidecar does not say why"; }
pass "sidecars as documented"

# .databuild/: status is JSON with the documented members; events grows.
python3 - "$M/.databuild/status" <<'PY' || fail ".databuild/status lacks a documented member"
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("pid", "mountpoint", "store", "graph", "freshness", "on_stale", "strict", "max_builds", "cancel_unread_s", "started_us", "partitions", "waiters", "builds"):
    assert k in s, k
assert s["freshness"] == "keys" and s["partitions"]["live"] == 12, s
PY
before=$(wc -l <"$M/.databuild/events")
cat "$M/reviews/date=2024-01-01" >/dev/null
events_grew() { [ "$(wc -l <"$M/.databuild/events")" -gt "$before" ]; }  # read at each poll
poll_until 10 events_grew
grep -q '"type":"job_finished"' "$M/.databuild/events" || fail ".databuild/events has no job events"
# (find lists every domain, and builds nothing; grep -r would read, and so
# build, every partition of every domain)
n_before=$(grep -c '"type":"job_started"' "$M/.databuild/events")
timeout 20 find "$M" >"$T/find" || fail "find over the mount did not terminate"
grep -q "/leaderboard/date=2024-01-31$" "$T/find" || fail "find missed an unbuilt partition"
[ "$(grep -c '"type":"job_started"' "$M/.databuild/events")" = "$n_before" ] || fail "find ran a job"
pass ".databuild/ as documented"
