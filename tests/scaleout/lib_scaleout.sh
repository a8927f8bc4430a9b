# Shared by the scale-out tests: several builders (processes, mounts) on one
# catalog and one store. In the default cell they share the SQLite catalog;
# with `meson test --setup postgresql` (or --setup cluster) a PostgreSQL one,
# which is the multi-host set-up of docs/scale-out.md.
. "$SOURCE_ROOT/tests/lib.sh"

G=$T/graph
STATE=$T/state
RUNLOG=$T/runs.log
export STATE RUNLOG
mkdir -p "$G" "$STATE"
: >"$RUNLOG"

# leaf/{k}: a leaf partition; group/{g}: reads leaf/{g}-0 .. leaf/{g}-4;
# hold/{k}: waits for $STATE/go-{k} (a run that can be killed mid-flight).
cat >"$G/configure.sh" <<'SH'
#!/bin/sh
kind=$1; shift
printf '['; sep=
for ref in "$@"; do
	d=${ref#*/}
	ins=
	if [ "$kind" = group ]; then
		for i in 0 1 2 3 4; do
			ins="$ins${ins:+,}{\"dep_type\":\"materialize\",\"ref\":\"leaf/$d-$i\"}"
		done
	fi
	printf '%s{"outputs":["%s"],"inputs":[%s],"args":["%s","%s"]}' "$sep" "$ref" "$ins" "$kind" "$d"
	sep=,
done
printf ']\n'
SH
cat >"$G/exec.sh" <<'SH'
#!/bin/sh
kind=$1 d=$2
echo "$kind $d $DATABUILD_RUN_ID $$" >>"$RUNLOG"
mkdir -p "$DATABUILD_OUTPUT_DIR/$kind"
o=$DATABUILD_OUTPUT_DIR/$kind/$d
case $kind in
leaf) sleep 0.05; echo "leaf $d" >"$o" ;;
group)
	for i in 0 1 2 3 4; do cat "$DATABUILD_INPUT_DIR/leaf/$d-$i"; done >"$o" ;;
hold)
	echo $$ >"$STATE/hold-$d.pid"
	# (or until the test is gone: a run left behind must not spin forever)
	while [ ! -e "$STATE/go-$d" ] && [ -d "$STATE" ]; do sleep 0.01; done
	echo "hold $d" >"$o" ;;
esac
SH
chmod +x "$G/configure.sh" "$G/exec.sh"
job() {
	printf '{"label":"%s","outputs":["%s/{d}"],"configure":["./configure.sh","%s"],"exec":["./exec.sh"],"version":"1.0.0"}' \
		"$1" "$1" "$1"
}
printf '{"name":"scaleout","jobs":[%s,%s,%s]}\n' "$(job leaf)" "$(job group)" "$(job hold)" \
	>"$G/databuild.json"
export DATABUILD_GRAPH=$G/databuild.json DATABUILD_STORE=$T/store

# runs KIND D: how many times job KIND ran for D.
runs() { grep -c "^$1 $2 " "$RUNLOG" || true; }
data() { echo "$DATABUILD_STORE/data/$1"; }
# no_duplicates: no partition's job ran more than once (prints the duplicates).
no_duplicates() {
	local dups
	dups=$(awk '{ print $1 "/" $2 }' "$RUNLOG" | sort | uniq -d)
	[ -z "$dups" ] || { echo "ran more than once: $dups" >&2; return 1; }
}
