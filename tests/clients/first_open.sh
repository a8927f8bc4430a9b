#!/usr/bin/env bash
# The first open of a partition that had to be built behaves like any
# later open: shared read-only mmap works (Python mmap, numpy.memmap),
# fstat on the open file gives the real size, and many concurrent first
# readers (read(2) of every size, mmap, dd) all get every byte.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
need_python numpy python3-numpy
mount_db -j 2

# mmap MODE PATH: maps PATH shared and read-only; prints "SIZE SHA256" of
# what it saw (fstat on the open file for the size).
cat >"$T/map.py" <<'PY'
import hashlib, mmap, os, sys
with open(sys.argv[1], "rb") as f:
    size = os.fstat(f.fileno()).st_size
    with mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ) as m:
        print(size, hashlib.sha256(m).hexdigest())
PY
expect_big a >"$T/big.a"
want="$(wc -c <"$T/big.a") $(sha256sum <"$T/big.a" | cut -d' ' -f1)"
got=$("$PY" "$T/map.py" "$M/big/n=a" 2>"$T/err") || { cat "$T/err"; fail "mmap of a partition built by its open failed"; }
[ "$got" = "$want" ] || fail "mmap on the first open saw '$got', want '$want'"
got=$("$PY" "$T/map.py" "$M/big/n=a") || fail "mmap of the live partition failed"
[ "$got" = "$want" ] || fail "mmap of the live partition saw '$got'"
pass "Python mmap (MAP_SHARED, PROT_READ) on the first open, with fstat's real size"

"$PY" - "$M/vectors/n=3" "$COUNT" >"$T/np" 2>&1 <<'PY' || { cat "$T/np"; fail "numpy.memmap on the first open failed"; }
import sys, numpy as np
a = np.memmap(sys.argv[1], dtype="<f8", mode="r")
n = int(sys.argv[2])
assert a.shape == (n,), a.shape
assert (a == np.arange(n) * 0.5 + 3).all()
print("ok")
PY
pass "numpy.memmap on the first open"

# Many first readers of one partition, gathered on its build: cat, dd with
# large and odd block sizes, Python read() and mmap; each gets every byte.
# Several rounds, each a partition of its own.
readers=16
for round in 1 2 3; do
	k=r$round
	expect_big "$k" >"$T/want.$k"
	size=$(wc -c <"$T/want.$k")
	sum=$(sha256sum <"$T/want.$k" | cut -d' ' -f1)
	hold big "$k"
	: >"$T/pids"
	for i in $(seq "$readers"); do
		f=$M/big/n=$k
		case $((i % 4)) in
		0) (cat "$f" | sha256sum | cut -d' ' -f1 | sed "s/^/$size /") ;;
		1) (dd if="$f" bs=1M status=none | sha256sum | cut -d' ' -f1 | sed "s/^/$size /") ;;
		2) (dd if="$f" bs=4097 status=none | sha256sum | cut -d' ' -f1 | sed "s/^/$size /") ;;
		3) "$PY" "$T/map.py" "$f" ;;
		esac >"$T/got.$k.$i" 2>"$T/err.$k.$i" &
		echo $! >>"$T/pids"
	done
	waiting() { [ "$(status_field waiters)" = "$readers" ]; }
	poll_until 30 waiting
	release big "$k"
	for pid in $(cat "$T/pids"); do wait "$pid" || fail "a first reader failed: $(cat "$T"/err.$k.*)"; done
	for i in $(seq "$readers"); do
		[ "$(cat "$T/got.$k.$i")" = "$size $sum" ] ||
			fail "round $round, reader $i got '$(cat "$T/got.$k.$i")', want '$size $sum'"
	done
	[ "$(runs big "$k")" = 1 ] || fail "$readers readers of big/n=$k ran the job $(runs big "$k") times"
	[ "$(stat -c %s "$M/big/n=$k")" = "$size" ] || fail "stat after the build: $(stat -c %s "$M/big/n=$k")"
done
pass "$readers concurrent first readers (read, dd, mmap) x 3 rounds: every byte, one run each"
