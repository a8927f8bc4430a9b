#!/usr/bin/env bash
# FUSE passthrough (docs/design/fs.md, "Read throughput"): where the kernel
# offers it and the daemon runs as root, an open partition is read and
# mapped straight from its store file, so reads go on while the daemon is
# stopped; a partition rebuilt while a reader holds its old bytes is served
# to new readers through the daemon (direct I/O, mmap still works) and the
# old reader keeps its bytes; -o passthrough=off serves every read through
# the daemon, first opens and mmap included. Where passthrough cannot work
# here (not root, kernel before 6.10) the test checks that the mount says
# so and serves every read through the daemon.
. "$SOURCE_ROOT/tests/lib.sh"
need_fuse

G=$T/graph
M=$T/mnt
mkdir -p "$G/jobs" "$M"
export DATABUILD_GRAPH=$G/databuild.json
export DATABUILD_STORE=$T/store
# stamp/k=K: 3 MiB of K, then the run's id (every build different bytes)
cat >"$G/jobs/stamp.sh" <<'SH'
#!/bin/sh
set -eu
if [ "$1" = configure ]; then
	shift
	printf '['; sep=
	for ref in "$@"; do
		printf '%s{"outputs":["%s"],"inputs":[],"args":["%s"]}' "$sep" "$ref" "${ref##*=}"
		sep=,
	done
	printf ']\n'
	exit 0
fi
mkdir -p "$DATABUILD_OUTPUT_DIR/stamp"
{ head -c 3145728 /dev/zero | tr '\0' "$2"; echo; echo "$DATABUILD_RUN_ID"; } \
	>"$DATABUILD_OUTPUT_DIR/stamp/k=$2"
SH
chmod +x "$G/jobs/stamp.sh"
cat >"$G/databuild.json" <<'JSON'
{"name": "passthrough", "jobs": [{"label": "stamp", "outputs": ["stamp/k={k}"],
  "configure": ["jobs/stamp.sh", "configure"], "exec": ["jobs/stamp.sh", "exec"]}]}
JSON
mount_helpers

# read.py PATH SIZE OUT [HOLD]: opens PATH, writes "open" to OUT.open, reads
# it with read(2) and maps it shared with mmap(2), then writes "READ_SHA
# MAP_SHA" to OUT. SIZE 0: the size is fstat's; otherwise neither stat nor
# anything else that may need the daemon is called. With HOLD it first
# reads 4 KiB and waits for the file HOLD before reading the rest.
cat >"$T/read.py" <<'PY'
import ctypes, hashlib, os, sys, time
path, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
fd = os.open(path, os.O_RDONLY)
open(out + ".open", "w").write("open")
if not size:
    size = os.fstat(fd).st_size
h = hashlib.sha256()
if len(sys.argv) > 4:
    h.update(os.read(fd, 4096))
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.01)
while True:
    b = os.read(fd, 1 << 20)
    if not b:
        break
    h.update(b)
addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
if addr in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap: " + os.strerror(ctypes.get_errno()))
tmp = out + ".tmp"
open(tmp, "w").write(h.hexdigest() + " " + hashlib.sha256(ctypes.string_at(addr, size)).hexdigest() + "\n")
os.rename(tmp, out)
os.close(fd)
PY

store_sha() { sha256sum <"$(db path "stamp/k=$1")" | cut -d' ' -f1; }
store_size() { stat -c %s "$(db path "stamp/k=$1")"; }
log_says() { grep -q "$1" "$DATABUILD_STORE/daemon.log"; }

expect_on=0
kernel=$(uname -r)
kmaj=${kernel%%.*}
kmin=${kernel#*.}
kmin=${kmin%%[!0-9]*}
if [ "$(id -u)" = 0 ] && { [ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "$kmin" -ge 10 ]; }; }; then
	expect_on=1
fi

mount_db -o no_cache  # a removed partition is built again, not restored
if [ "$expect_on" = 1 ]; then
	log_says "passthrough on" || { cat "$DATABUILD_STORE/daemon.log"; fail "root on Linux $kernel: the mount did not turn passthrough on"; }
else
	log_says "passthrough off" || fail "without passthrough (uid $(id -u), Linux $kernel) the mount should say so"
fi

# First opens: the open waits for the build, then read(2) and mmap see every byte.
python3 "$T/read.py" "$M/stamp/k=a" 0 "$T/a" ||
	fail "reading and mapping stamp/k=a on the open that built it failed"
want="$(store_sha a) $(store_sha a)"
[ "$(cat "$T/a")" = "$want" ] || fail "first open of stamp/k=a saw '$(cat "$T/a")', want '$want'"
cmp "$M/stamp/k=a" "$(db path stamp/k=a)" || fail "cat of the live stamp/k=a differs from its store file"
pass "first open: read(2) and shared mmap see the store file's bytes"

# read_stopped K: an open of stamp/k=K is read and mapped while the daemon
# is stopped (SIGSTOP after the open returned); fails if it cannot finish.
read_stopped() {
	rm -f "$T/s" "$T/s.open"
	python3 "$T/read.py" "$M/stamp/k=$1" "$(store_size "$1")" "$T/s" &
	local pid=$!
	poll_until 30 test -e "$T/s.open"
	kill -STOP "$DAEMON_PID"
	local done=0 i
	for ((i = 0; i < 1000; i++)); do
		[ -e "$T/s" ] && { done=1; break; }
		sleep 0.02
	done
	kill -CONT "$DAEMON_PID"
	wait "$pid" || fail "reader of stamp/k=$1 failed"
	[ "$done" = 1 ] || fail "with the daemon stopped, reading open stamp/k=$1 did not finish: reads are not passed through"
	[ "$(cat "$T/s")" = "$(store_sha "$1") $(store_sha "$1")" ] || fail "passthrough read of stamp/k=$1 saw other bytes"
}
if [ "$expect_on" = 1 ]; then
	read_stopped a
	pass "passthrough: an open partition is read and mapped while the daemon is stopped"
fi

# A rebuild while a reader holds the old bytes: the holder keeps them,
# new readers get the new ones (read and mmap), and once the holder is
# gone opens pass through again.
old=$(store_sha a)
rm -f "$T/h" "$T/h.open" "$T/go"
python3 "$T/read.py" "$M/stamp/k=a" 0 "$T/h" "$T/go" &
holder=$!
poll_until 30 test -e "$T/h.open"
db build --force stamp/k=a >"$T/build.out" 2>&1 || { cat "$T/build.out"; fail "build --force stamp/k=a failed"; }
new=$(store_sha a)
[ "$new" != "$old" ] || fail "the rebuild of stamp/k=a wrote the same bytes; the test needs new ones"
python3 "$T/read.py" "$M/stamp/k=a" 0 "$T/n" || fail "reading the rebuilt stamp/k=a beside an old reader failed"
[ "$(cat "$T/n")" = "$new $new" ] || fail "a new reader beside an old one saw '$(cat "$T/n")', want '$new $new'"
touch "$T/go"
wait "$holder" || fail "the reader holding the old stamp/k=a failed"
[ "$(cut -d' ' -f1 "$T/h")" = "$old" ] || fail "the reader that held stamp/k=a across its rebuild did not read its old bytes"
if [ "$expect_on" = 1 ]; then
	log_says "rebuilt while read through inode" ||
		fail "the open beside the old reader was not moved to a new inode (daemon.log)"
fi
pass "a rebuild beside an open reader: it keeps the old bytes, new readers read and map the new ones"

# The same when the mount itself rebuilds: the partition is removed while
# a reader holds it, and the next open waits for the build and then reads
# and maps the new bytes.
old=$(store_sha a)
rm -f "$T/h" "$T/h.open" "$T/go" "$T/n"
python3 "$T/read.py" "$M/stamp/k=a" 0 "$T/h" "$T/go" &
holder=$!
poll_until 30 test -e "$T/h.open"
db rm stamp/k=a >"$T/rm.out" 2>&1 || { cat "$T/rm.out"; fail "rm stamp/k=a failed"; }
python3 "$T/read.py" "$M/stamp/k=a" 0 "$T/n" || fail "the open that rebuilt stamp/k=a beside an old reader failed"
new=$(store_sha a)
[ "$new" != "$old" ] || fail "the mount's rebuild of stamp/k=a wrote the same bytes"
[ "$(cat "$T/n")" = "$new $new" ] || fail "the open that waited for the rebuild saw '$(cat "$T/n")', want '$new $new'"
touch "$T/go"
wait "$holder" || fail "the reader holding stamp/k=a across its removal failed"
[ "$(cut -d' ' -f1 "$T/h")" = "$old" ] || fail "the reader that held stamp/k=a across its rebuild by the mount lost its bytes"
if [ "$expect_on" = 1 ]; then
	[ "$(grep -c "rebuilt while read through inode" "$DATABUILD_STORE/daemon.log")" -ge 2 ] ||
		fail "the waiting open beside the old reader was not moved to a new inode (daemon.log)"
fi
pass "a rebuild by the mount beside an open reader: the waiting open gets the new bytes, the holder the old"
if [ "$expect_on" = 1 ]; then
	read_stopped a
	pass "once the old reader closed, opens of the rebuilt partition pass through again"
fi
unmount_db

# -o passthrough=off: every read goes through the daemon, first opens too.
mount_db -o passthrough=off
log_says "passthrough off" || fail "-o passthrough=off: the mount's log does not say passthrough is off"
python3 "$T/read.py" "$M/stamp/k=b" 0 "$T/b" || fail "-o passthrough=off: reading stamp/k=b on its first open failed"
[ "$(cat "$T/b")" = "$(store_sha b) $(store_sha b)" ] || fail "-o passthrough=off: first open of stamp/k=b saw other bytes"
cmp "$M/stamp/k=a" "$(db path stamp/k=a)" || fail "-o passthrough=off: stamp/k=a differs from its store file"
pass "-o passthrough=off: first open, read(2) and mmap through the daemon"
unmount_db
db mount "$M" -o passthrough=maybe 2>"$T/err" && fail "-o passthrough=maybe was accepted"
grep -q "passthrough=maybe" "$T/err" || { cat "$T/err"; fail "the error does not name the bad option"; }
pass "-o passthrough=maybe is refused, naming it"
