#!/usr/bin/env bash
# One job with 10,000 outputs publishes them all (the mount's daemon runs
# the job and publishes), and the mount lists each with its manifest. The
# run holds one lease descriptor per output; the descriptor limit leaves
# room for those but not for a second descriptor per output, so the
# outputs must not all be open at once while they are published.
MANY=10000
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"
ulimit -n 12288 || fail "cannot lower the descriptor limit"
mount_db

[ "$(cat "$M/many/n=9999")" = 9999 ] || { tail -5 "$DATABUILD_STORE/daemon.log"; fail "cannot build many/n=9999"; }
[ "$(runs many)" = 1 ] || fail "one run should have built every many/n=K"
ls "$M/many" >"$T/ls"
[ "$(wc -l <"$T/ls")" = $((2 * MANY)) ] || fail "ls lists $(wc -l <"$T/ls") entries, not $((2 * MANY))"
[ "$(status_field live)" = "$MANY" ] || fail ".databuild/status counts $(status_field live) live, not $MANY"
[ "$(cat "$M/many/n=0")" = 0 ] || fail "many/n=0"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert len(m["outputs"]) == 10000, len(m["outputs"])' \
	"$M/many/n=5000.manifest.json" || fail "the manifest does not name 10,000 outputs"
[ "$(stat -c %a "$DATABUILD_STORE/data/many/n=1234")" = 444 ] || fail "published data is not read-only"
pass "$MANY outputs of one job published under a limit of 12288 descriptors and listed"
