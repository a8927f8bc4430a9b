#!/usr/bin/env bash
# sqlite3 over the mount, on live partitions and on ones it is the first to
# open: .import of a CSV partition; an SQLite database partition opened
# read-only (a URI with mode=ro), with immutable=1, and with mmap_size.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
need_tool sqlite3 sqlite3
mount_db
want_sum=$(awk -v n="$ROWS" 'BEGIN { for (i = 0; i < n; i++) s += (i * 7) % 1000; print s }')

# import REF: .import of the CSV partition REF into a fresh database
import() {
	rm -f "$T/imp.db"
	sqlite3 "$T/imp.db" ".import --csv $M/$1 t" "SELECT count(*), sum(value) FROM t" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail ".import of $1"; }
	[ "$(cat "$T/out")" = "$ROWS|$want_sum" ] || fail ".import of $1 gave '$(cat "$T/out")'"
}
# query NAME URIARGS [PRAGMA]: the database partition dbs/name=NAME
query() {
	sqlite3 "file:$M/dbs/name=$1?$2" ${3:+"$3"} "SELECT count(*), sum(value) FROM t" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail "sqlite3 on dbs/name=$1?$2 $3"; }
	[ "$(tail -n 1 "$T/out")" = "$ROWS|$want_sum" ] || fail "dbs/name=$1?$2 $3 gave '$(cat "$T/out")'"
}

db build sizes/day=live dbs/name=live >"$T/build.out" 2>&1 || { cat "$T/build.out"; fail "databuild build"; }
import sizes/day=live
query live mode=ro
query live immutable=1
query live mode=ro "PRAGMA mmap_size=268435456"
pass "sqlite3: .import, and a database opened with mode=ro, immutable=1, mmap_size (live)"

import sizes/day=new
[ "$(runs csv new)" = 1 ] || fail "sizes/day=new: $(runs csv new) runs"
query fresh mode=ro
query ro immutable=1
query mmap mode=ro "PRAGMA mmap_size=268435456"
for name in fresh ro mmap; do
	[ "$(runs db "$name")" = 1 ] || fail "dbs/name=$name: $(runs db "$name") runs"
done
[ "$(runs db)" = 4 ] || fail "sqlite3 built other databases: $(cat "$RUNLOG")"
pass "sqlite3: .import, mode=ro, immutable=1, mmap_size on partitions it is the first to open"
