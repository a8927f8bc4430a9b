#!/usr/bin/env bash
# The layering of docs/design/architecture.md: each folder includes only
# itself and the folders below it,
#   cli → fs, service, scheduler → executor → planner → catalog → model → store
#   → core
# read from every #include "folder/..." of every .c and .h file. fs/ and
# service/ are peers (two faces over the same engine), and scheduler/ (hosted
# by both daemons) is their peer: none includes another.
. "$SOURCE_ROOT/tests/lib.sh"

layers=(core store model catalog planner executor fs service scheduler cli)
rank() {
	local i
	[ "$1" = service ] && set -- fs  # a peer of fs/
	[ "$1" = scheduler ] && set -- fs  # a peer of fs/ too
	for i in "${!layers[@]}"; do
		[ "${layers[i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}

bad=0
checked=0
for dir in "${layers[@]}"; do
	mine=$(rank "$dir")
	for f in "$SOURCE_ROOT/$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		while IFS= read -r line; do
			to=${line#*\"}
			to=${to%%/*}
			r=$(rank "$to")
			checked=$((checked + 1))
			if [ "$r" -lt 0 ] || [ "$r" -gt "$mine" ] ||
				{ [ "$r" -eq "$mine" ] && [ "$to" != "$dir" ]; }; then
				echo "FAIL: ${f#"$SOURCE_ROOT"/}: '$line' reaches up from $dir to $to" >&2
				bad=1
			fi
		done < <(grep -E '^#include "[a-z]+/' "$f")
	done
done
[ "$checked" -gt 100 ] || fail "only $checked includes found: is SOURCE_ROOT right?"
[ "$bad" = 0 ] || exit 1
pass "$checked includes, none reaches a layer above its own"
