# Shared by the real-client tests: the filesystem tests' helpers
# (tests/fs/lib_fs.sh: a store, a mountpoint, mount_db, unmounted at exit)
# over this suite's own graph (fixture/job.sh), and need_tool.
. "$SOURCE_ROOT/tests/fs/lib_fs.sh"

ROWS=${ROWS:-2000}
COUNT=${COUNT:-65536}
BIG_KB=${BIG_KB:-1024}
export ROWS COUNT BIG_KB
cp "$SOURCE_ROOT/tests/clients/fixture/job.sh" "$G/jobs/client.sh"
_cjob() {  # label kind pattern [partitions]
	printf '{"label":"%s","outputs":["%s"],"configure":["jobs/client.sh","configure","%s"],"exec":["jobs/client.sh","exec"],"version":"1.0.0"%s}' \
		"$1" "$3" "$2" "${4:+,\"partitions\":$4}"
}
{
	printf '{"name":"clients","jobs":[%s' "$(_cjob csv csv 'sizes/day={day}')"
	# a domain: its unbuilt partitions are listed
	printf ',%s' "$(_cjob daily csv 'daily/day={day}' \
		'{"day":{"dates":{"start":"2024-02-01","end":"2024-02-03"}}}')"
	printf ',%s' "$(_cjob bin bin 'vectors/n={n}')"
	# a domain: sqlite3 looks up NAME-journal and NAME-wal, here ENOENT (a
	# placeholder, of size 0, would do too: SQLite takes an empty file as none)
	printf ',%s' "$(_cjob db db 'dbs/name={name}' '{"name":{"values":["live","fresh","ro","mmap"]}}')"
	printf ',%s' "$(_cjob big big 'big/n={n}')"
	printf ',%s' "$(_cjob broken broken 'broken/key={key}')"
	printf ']}\n'
} >"$G/databuild.json"

# need_tool CMD PACKAGE: CMD must be on PATH. In CI (CI set) a missing tool
# fails the test; elsewhere it skips it (exit 77) naming the package.
need_tool() {
	command -v "$1" >/dev/null && return 0
	[ -z "${CI:-}" ] || fail "$1 missing (scripts/setup installs $2)"
	skip "$1 missing (apt-get install $2, or scripts/setup)"
}

# need_python MODULE PACKAGE...: sets PY to a python3 that imports every
# MODULE (the first on PATH, else Debian's /usr/bin/python3, which has the
# python3-* packages when PATH leads to another one), as need_tool does.
need_python() {
	local py list mods=() pkgs=()
	while [ $# -gt 0 ]; do mods+=("$1"); pkgs+=("$2"); shift 2; done
	list=$(IFS=,; echo "${mods[*]}")
	for py in python3 /usr/bin/python3; do
		command -v "$py" >/dev/null || continue
		if "$py" -c "import $list" 2>/dev/null; then PY=$py; return 0; fi
	done
	[ -z "${CI:-}" ] || fail "python3 lacks ${mods[*]} (scripts/setup installs ${pkgs[*]})"
	skip "python3 lacks ${mods[*]} (apt-get install ${pkgs[*]}, or scripts/setup)"
}

# The bytes the jobs write, computed here independently.
expect_csv() {  # DAY
	awk -v d="$1" -v n="$ROWS" 'BEGIN { print "day,id,value"; for (i = 0; i < n; i++) printf "%s,%d,%d\n", d, i, (i * 7) % 1000 }'
}
expect_big() {  # N
	awk -v n="$1" -v kb="$BIG_KB" 'BEGIN { for (i = 0; i < kb * 16; i++) printf "%s line %09d of the big partition, for fio and many readers\n", n, i }'
}
# hold KIND V / release KIND V: a run of KIND V waits between the two.
hold() { : >"$STATE/hold-$1-$2"; }
release() { rm -f "$STATE/hold-$1-$2"; }
