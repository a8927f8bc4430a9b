#!/usr/bin/env bash
# fio, sequential and random reads, on a live partition and on one it is
# the first to open. fio sizes its jobs from a stat before any open, so an
# unbuilt partition (size 0 until built) needs --size, as an empty file
# does (fio then says it refuses to extend the read-only file, and reads).
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
need_tool fio fio
mount_db
size=$((BIG_KB * 1024))

# run NAME FILE RW [ARGS...]: fio reads FILE; checks it read $size bytes
run() {
	local name=$1 file=$2 rw=$3
	shift 3
	fio --name="$name" --filename="$file" --readonly --rw="$rw" --bs=64k --ioengine=psync \
		--invalidate=0 --output-format=json --output="$T/$name.json" "$@" >"$T/$name.err" 2>&1 ||
		{ cat "$T/$name.err"; fail "fio $name failed"; }
	"${PY:-python3}" - "$T/$name.json" "$size" <<'PY' || fail "fio $name read other than $size bytes"
import json, sys
text = open(sys.argv[1]).read()  # fio may put its notices before the JSON
j = json.loads(text[text.index("{"):])["jobs"][0]
assert j["error"] == 0 and j["read"]["io_bytes"] == int(sys.argv[2]), (j["error"], j["read"]["io_bytes"])
PY
}

db build big/n=L >/dev/null 2>&1 || fail "databuild build"
run seq-live "$M/big/n=L" read
run rand-live "$M/big/n=L" randread --randrepeat=1
pass "fio sequential and random reads of a live partition"

run seq-new "$M/big/n=S" read --size="$size"
run rand-new "$M/big/n=R" randread --size="$size" --randrepeat=1
for k in S R; do
	[ "$(runs big "$k")" = 1 ] || fail "big/n=$k: $(runs big "$k") runs"
	expect_big "$k" | cmp - "$M/big/n=$k" || fail "big/n=$k differs"
done
pass "fio sequential and random reads of partitions it is the first to open"
