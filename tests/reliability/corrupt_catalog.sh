#!/usr/bin/env bash
# A corrupt catalog file: every command that opens the catalog fails with
# exit 2 and an error naming the file — never a crash, never a hang, and the
# mount daemon refuses to start. Damage: random bytes, a catalog cut short,
# zeroed pages in the middle, a directory in its place, a garbage WAL file.
. "$SOURCE_ROOT/tests/reliability/lib_rel.sh"
MANY=300
export MANY

# A real catalog with a few hundred partitions (several pages).
expect_exit 0 db build ok/a 'many/n=0'
expect_exit 0 db build --force ok/a
: >"$RUNLOG"
CAT=$DATABUILD_STORE/catalog.db
# everything into the main file, so that damaging it damages the data
sqlite3 "$CAT" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null || fail "cannot checkpoint the catalog"
rm -f "$CAT-wal" "$CAT-shm"
cp "$CAT" "$T/good.db"
size=$(stat -c %s "$T/good.db")
[ "$size" -ge 16384 ] || fail "the catalog is too small to damage in the middle ($size bytes)"

# every command that reads or writes the catalog
commands=(
	"ls" "ls --json" "show ok/a" "show ok/a --json" "path ok/a" "events" "taint ok/a"
	"build ok/a" "build ok/new" "cat ok/a" "exec ok/a" "plan ok/new" "mount $M"
)

restore() { rm -rf "$CAT" "$CAT-wal" "$CAT-shm"; cp "$T/good.db" "$CAT"; }

# damage KIND: breaks the catalog file.
damage() {
	restore
	case $1 in
	garbage) head -c "$size" /dev/urandom >"$CAT" ;;
	truncated) truncate -s $((size / 3 + 100)) "$CAT" ;;
	header) dd if=/dev/urandom of="$CAT" bs=1 count=80 seek=16 conv=notrunc 2>/dev/null ;;
	middle) # zeroes every page but the first
		dd if=/dev/zero of="$CAT" bs=4096 seek=1 count=$((size / 4096 - 1)) conv=notrunc 2>/dev/null ;;
	directory) rm -f "$CAT"; mkdir "$CAT" ;;
	wal) head -c 40000 /dev/urandom >"$CAT-wal" ;;
	esac
}

n=0
for kind in garbage truncated header middle directory wal; do
	for c in "${commands[@]}"; do
		damage "$kind"
		code=0
		# shellcheck disable=SC2086
		timeout 60 "$DATABUILD" $c >"$T/out" 2>"$T/err" || code=$?
		if [ "$kind" = wal ]; then
			# SQLite ignores a WAL whose checksums do not match: the catalog is intact
			[ "$code" -lt 128 ] || fail "$kind: '$c' crashed or hung (exit $code): $(cat "$T/err")"
			! is_mounted || "$DATABUILD" umount "$M" || fail "umount"
			continue
		fi
		[ "$code" = 2 ] || { cat "$T/out" "$T/err"; fail "$kind: '$c' exited $code, want 2"; }
		grep -qF "catalog '$CAT'" "$T/err" || { cat "$T/err"; fail "$kind: '$c': the error does not name the file"; }
		[ "$(wc -l <"$T/err")" -le 3 ] || { cat "$T/err"; fail "$kind: '$c': more than a short error"; }
		! is_mounted || fail "$kind: mounted on a corrupt catalog"
		[ ! -s "$RUNLOG" ] || fail "$kind: '$c' ran a job on a corrupt catalog"
		n=$((n + 1))
	done
	if [ "$kind" = wal ]; then pass "$kind: ignored by SQLite, no command crashes"; else pass "$kind: every command fails cleanly"; fi
done
restore
expect_exit 0 db build ok/new
catalog_agrees || fail "the restored catalog disagrees with the store"
pass "$n commands on corrupt catalogs: exit 2 naming '$CAT'; the restored catalog works"
