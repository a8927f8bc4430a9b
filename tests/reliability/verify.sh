#!/usr/bin/env bash
# databuild verify: rehashes published data against the catalog and names
# every kind of damage (changed bytes with the mtime put back, a truncated
# file, a deleted one, a link, a writable file); --repair marks them
# damaged, and the next build rebuilds exactly those.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

refs=(ok/a ok/b ok/c ok/d ok/e ok/f)
expect_exit 0 db build "${refs[@]}"
expect_exit 0 db verify
expect_out "verified 6 partitions (48 bytes): 0 damaged"
pass "an intact store verifies"

# in place, same size, the mtime put back: only the bytes tell
python3 - "$(data ok/a)" <<'PY'
import os, sys
p = sys.argv[1]
st = os.stat(p)
os.chmod(p, 0o644)
with open(p, "r+b") as f:
    f.write(b"KO")
os.chmod(p, 0o444)
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
chmod u+w "$(data ok/b)" && : >"$(data ok/b)" && chmod 0444 "$(data ok/b)"
rm -f "$(data ok/c)"
echo secret >"$T/secret"
rm -f "$(data ok/d)" && ln -s "$T/secret" "$(data ok/d)"
chmod 0644 "$(data ok/e)"

expect_exit 1 db verify
expect_out "damaged  ok/a: its bytes changed (sha256 "
expect_out "damaged  ok/b: its data file has 0 bytes, its manifest says 8"
expect_out "damaged  ok/c: its data file is missing"
expect_out "damaged  ok/d: its data file, or a directory above it, is a symbolic link"
expect_out "damaged  ok/e: its data file is writable (mode 0644"
! grep -q "ok/f" "$T/out" || fail "ok/f is intact but reported"
expect_out "verified 6 partitions (48 bytes): 5 damaged"
pass "every kind of damage is named"

expect_exit 1 db verify ok/c ok/f
expect_out "verified 2 partitions"
expect_exit 0 db verify ok/f
expect_exit 1 db verify --json ok/
python3 - "$T/out" <<'PY' || fail "verify --json"
import json, sys
rows = {r["ref"]: r for r in map(json.loads, open(sys.argv[1]))}
assert set(rows) == {"ok/a", "ok/b", "ok/c", "ok/d", "ok/e", "ok/f"}, rows
want = {"ok/a": "bytes", "ok/b": "size", "ok/c": "missing", "ok/d": "link", "ok/e": "permissions"}
for ref, kind in want.items():
    assert not rows[ref]["intact"] and rows[ref]["damage"] == kind, rows[ref]
assert rows["ok/f"]["intact"] and "damage" not in rows["ok/f"], rows["ok/f"]
PY
pass "prefixes and --json"

# Without --repair nothing changes in the catalog; with it, the damaged
# partitions are marked, with an event each, and rebuilt by the next build.
expect_exit 0 db ls --status damaged
[ ! -s "$T/out" ] || fail "verify without --repair changed the catalog"
expect_exit 1 db verify --repair
expect_out "5 damaged, marked for rebuilding"
expect_exit 0 db ls --status damaged
[ "$(wc -l <"$T/out")" = 5 ] || { cat "$T/out"; fail "expected 5 damaged partitions"; }
expect_exit 0 db show ok/a
expect_out "damaged"
expect_exit 0 db events
[ "$(grep -c '"partition_damaged"' "$T/out")" = 5 ] || fail "expected 5 partition_damaged events"
before=$(runs ok)
expect_exit 0 db build "${refs[@]}"
# changed bytes, size or mode: the job runs; a missing file or a link: the
# intact object of its version is restored (the run cache), no run
[ "$(($(runs ok) - before))" = 3 ] || fail "the build ran $(($(runs ok) - before)) jobs, expected 3 of the 5 damaged"
expect_out "3 built, 2 restored"
[ "$(cat "$T/secret")" = secret ] || fail "the link's target was written"
expect_exit 0 db verify
expect_out "0 damaged"
pass "--repair marks damage; the next build rebuilds exactly the damaged partitions"
