#!/usr/bin/env bash
# The catalog can be lost and rebuilt from the store alone. Store and
# catalog carry one store id: an emptied (deleted, 0-byte) or foreign
# catalog is refused (exit 2) naming `databuild recover`, instead of
# reporting every partition as never built. `databuild recover` rebuilds
# partitions, runs and manifests from <store>/manifests/, losing no live
# partition (verify passes, nothing is rebuilt); a manifest whose outputs
# never arrived leaves the older bytes live; data matching no manifest is
# marked damaged (exit 1) and rebuilt by the next build.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"

# lose_catalog: the catalog is gone (SQLite: its files deleted; PostgreSQL:
# an empty database in its place).
lose_catalog() {
	if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = postgresql ]; then
		new_test_catalog
	else
		rm -f "$DATABUILD_STORE"/catalog.db*
	fi
}
# state: every partition's ref, status and hash, and the runs that made them
state() {
	db ls --json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(r["ref"], r["status"], r["sha256"], r["published_run"])' | sort
}

expect_exit 0 db build ok/a ok/b many/n=0
expect_exit 0 db taint ok/a
expect_exit 0 db build ok/a   # a second manifest for ok/a
state >"$T/before"
[ "$(wc -l <"$T/before")" = 5 ] || fail "setup: $(cat "$T/before")"
[ "$(ls "$DATABUILD_STORE/manifests" | wc -l)" = 4 ] ||
	fail "one manifest per publish expected in the store: $(ls "$DATABUILD_STORE/manifests")"
[ "$(stat -c %a "$DATABUILD_STORE/manifests")" = 700 ] || fail "manifests/ is not private"
pass "every publish writes its manifest into the store"

lose_catalog
expect_exit 2 db ls
expect_err "is empty or was replaced"
expect_err "databuild recover"
expect_exit 2 db build ok/a
expect_exit 2 db cat ok/b
[ "$(runs ok)" = 3 ] || fail "a job ran against the lost catalog"
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = sqlite ]; then
	: >"$DATABUILD_STORE/catalog.db"
	expect_exit 2 db ls
	expect_err "databuild recover"
	rm -f "$DATABUILD_STORE/catalog.db"
fi
pass "an emptied catalog is refused with the recovery command"

expect_exit 0 db recover
expect_out "recovered 5 partitions from 4 manifests"
state >"$T/after"
diff "$T/before" "$T/after" || fail "recover lost or changed partitions"
expect_exit 0 db verify
expect_exit 0 db build ok/a ok/b many/n=0
[ "$(runs ok)" = 3 ] || fail "a recovered partition was rebuilt"
expect_exit 0 db cat ok/b
[ "$(cat "$T/out")" = "ok ok/b" ] || fail "cat after recover: $(cat "$T/out")"
expect_exit 0 db show --json ok/a
expect_out "\"job\":\"ok\""
expect_exit 0 db recover
expect_out "4 already known"
state >"$T/again"
diff "$T/before" "$T/again" || fail "a second recover changed the catalog"
pass "recover rebuilds the catalog from the store; nothing is lost or rebuilt"

# A manifest whose output never arrived (the machine stopped between the
# manifest and the rename): the older bytes stay live, its run is abandoned.
last=$(ls "$DATABUILD_STORE/manifests" | sed 's/\.json$//' | sort -n | tail -n1)
python3 - "$DATABUILD_STORE/manifests/$last.json" "$DATABUILD_STORE/manifests/999.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["run_id"] = "999"
for o in m["outputs"]:
    o["sha256"] = "0" * 64
json.dump(m, open(sys.argv[2], "w"))
PY
rm -f "$(data ok/b)"   # and a data file lost with the catalog
lose_catalog
expect_exit 1 db recover
expect_out "damaged  ok/b: its data file is missing"
expect_out "1 abandoned, 1 damaged"
expect_exit 0 db ls --status damaged
expect_out "ok/b"
grep -v '^ok/b ' "$T/before" >"$T/want"
state | grep -v '^ok/b ' >"$T/after"
diff "$T/want" "$T/after" || fail "the unfinished manifest replaced live bytes"
expect_exit 0 db build ok/b
expect_out "1 restored"   # its object is intact: the run cache
expect_exit 0 db verify
pass "a manifest whose outputs never arrived is abandoned; lost data is damaged and rebuilt"

# A catalog of another store is refused.
other=$T/other
new_test_catalog
DATABUILD_STORE=$other db build ok/z >/dev/null 2>&1 || fail "building in the other store"
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" = sqlite ]; then
	expect_exit 2 db --catalog "sqlite:$other/catalog.db" ls
else
	expect_exit 2 db ls
fi
expect_err "belongs to another store"
pass "a foreign catalog is refused"
