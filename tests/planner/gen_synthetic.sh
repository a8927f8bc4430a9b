#!/usr/bin/env bash
# Writes a synthetic graph for planner benchmarks and scale tests.
# usage: gen_synthetic.sh DIR [LEVELS [WIDTH [EDGES]]]
#        (default 10 levels x 10000 = 100,000 partitions, 200,000 edges)
# Job lK produces lK/p={p} for p in 0..WIDTH-1; each partition of level
# K > 0 reads 2 or 3 partitions of level K-1 (EDGES in all). Configure is
# one awk process per call that computes the configs; exec writes the
# ref's name. DIR/refs.txt lists the top level, whose plan covers every
# partition: `databuild --graph DIR/databuild.json plan $(cat DIR/refs.txt)`.
set -euo pipefail
dir=${1:?usage: gen_synthetic.sh DIR [LEVELS [WIDTH [EDGES]]]}
levels=${2:-10}
width=${3:-10000}
edges=${4:-$(( (levels - 1) * width * 2 + (levels - 1) * width * 2 / 9 ))}
[ "$levels" -ge 1 ] && [ "$width" -ge 1 ] || { echo "need LEVELS >= 1 and WIDTH >= 1" >&2; exit 2; }
consumers=$(( (levels - 1) * width ))
[ "$consumers" -eq 0 ] || [ "$edges" -le $(( consumers * (width < 8 ? width : 8) )) ] ||
  { echo "too many edges for that width" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

cat >"$dir/configure" <<CONF
#!/bin/sh
# configure REF...: the synthetic graph's configs, computed.
exec awk -v W=$width -v C=$consumers -v E=$edges '
BEGIN {
	printf "["
	for (a = 1; a < ARGC; a++) {
		ref = ARGV[a]
		slash = index(ref, "/")
		k = substr(ref, 2, slash - 2) + 0
		i = substr(ref, slash + 3) + 0
		printf "%s{\"outputs\":[\"%s\"],\"inputs\":[", (a > 1 ? "," : ""), ref
		if (k > 0) {
			j = (k - 1) * W + i
			n = int((j + 1) * E / C) - int(j * E / C)
			for (m = 0; m < n; m++)
				printf "%s{\"dep_type\":\"materialize\",\"ref\":\"l%d/p=%d\"}", (m ? "," : ""), k - 1, (i + m * 7919) % W
		}
		printf "],\"args\":[\"%s\"]}", ref
	}
	print "]"
	exit 0
}' "\$@"
CONF
cat >"$dir/exec" <<'EXEC'
#!/bin/sh
# exec REF: writes the ref's name as its data.
mkdir -p "$DATABUILD_OUTPUT_DIR/$(dirname "$1")"
printf '%s\n' "$1" >"$DATABUILD_OUTPUT_DIR/$1"
EXEC
chmod +x "$dir/configure" "$dir/exec"
{
  printf '{"name": "synthetic", "jobs": ['
  for ((k = 0; k < levels; k++)); do
    printf '%s{"label": "l%d", "outputs": ["l%d/p={p}"], "configure": ["./configure"], "exec": ["./exec"]}' \
      "$([ "$k" -gt 0 ] && echo ', ')" "$k" "$k"
  done
  printf ']}\n'
} >"$dir/databuild.json"
awk -v W="$width" -v K=$((levels - 1)) 'BEGIN { for (i = 0; i < W; i++) printf "l%d/p=%d\n", K, i }' >"$dir/refs.txt"
echo "$dir: $((levels * width)) partitions, $edges edges"
