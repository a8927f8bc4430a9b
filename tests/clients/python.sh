#!/usr/bin/env bash
# Python clients, each on a live partition and on one it is the first to
# open: the csv module, mmap, pandas.read_csv (plain and memory_map=True)
# and numpy.memmap.
. "$SOURCE_ROOT/tests/clients/lib_clients.sh"
need_python numpy python3-numpy pandas python3-pandas
mount_db

cat >"$T/client.py" <<'PY'
import csv, hashlib, mmap, os, sys
kind, path, rows, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
want = sum((i * 7) % 1000 for i in range(rows))
if kind == "csv":
    with open(path, newline="") as f:
        got = [int(r["value"]) for r in csv.DictReader(f)]
    assert len(got) == rows and sum(got) == want, (len(got), sum(got))
elif kind == "mmap":
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        assert len(m) == os.fstat(f.fileno()).st_size
        lines = m[:].decode().splitlines()
    assert len(lines) == rows + 1 and sum(int(l.rsplit(",", 1)[1]) for l in lines[1:]) == want
elif kind in ("pandas", "pandas_mmap"):
    import pandas as pd
    df = pd.read_csv(path, memory_map=(kind == "pandas_mmap"))
    assert df.shape == (rows, 3) and int(df["value"].sum()) == want, (df.shape, df["value"].sum())
elif kind == "numpy":
    import numpy as np
    a = np.memmap(path, dtype="<f8", mode="r")
    v = float(path.rsplit("=", 1)[1])
    assert a.shape == (count,) and (a == np.arange(count) * 0.5 + v).all(), a.shape
PY
# client KIND REF: runs the client on MNT/REF
client() {
	"$PY" "$T/client.py" "$1" "$M/$2" "$ROWS" "$COUNT" >"$T/out" 2>&1 ||
		{ cat "$T/out"; fail "$1 on $2"; }
}
clients=(csv mmap pandas pandas_mmap)

db build sizes/day=live vectors/n=1 >"$T/build.out" 2>&1 || { cat "$T/build.out"; fail "databuild build"; }
for k in "${clients[@]}"; do client "$k" sizes/day=live; done
client numpy vectors/n=1
pass "csv, mmap, pandas.read_csv (memory_map off and on), numpy.memmap on live partitions"

for k in "${clients[@]}"; do
	client "$k" "sizes/day=$k"
	[ "$(runs csv "$k ")" = 1 ] || fail "sizes/day=$k: $(runs csv "$k ") runs"
done
client numpy vectors/n=2
[ "$(runs bin 2)" = 1 ] || fail "vectors/n=2: $(runs bin 2) runs"
pass "csv, mmap, pandas.read_csv (memory_map off and on), numpy.memmap on partitions they build"
