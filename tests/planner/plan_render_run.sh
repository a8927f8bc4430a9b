#!/usr/bin/env bash
# The bash and ninja renderings of a plan, run by bash and by ninja, write
# byte-identical partitions to those `databuild build` publishes; quoting
# survives refs, args and env values with spaces, quotes and dollars.
. "$SOURCE_ROOT/tests/lib.sh"
. "$SOURCE_ROOT/tests/planner/common.sh"
command -v ninja >/dev/null || fail "ninja missing (scripts/setup installs ninja-build)"

G=$T/graph
mkgraph "$G" "raw=raw/{d} mid=mid/{name} pair=pair/{side} top=top/{d} ref=ref/{d}"
entry "$G" "raw/1" ""
entry "$G" "raw/2" "" -x "two"
entry "$G" "ref/1" "" -x "reference data"
ENTRY_ENV='{"FIXTURE_SALT": "it'"'"'s \"salty\" $HOME `x` \\ ok\nsecond line\n", "odd-name": "1"}' \
  entry "$G" "mid/a b'c\"d\$e" "m:raw/1;m:raw/2" -x "arg with spaces" -x "it's \"quoted\"" \
  -x '$HOME $(echo no) `no` \n \c %s' -x $'two\nlines\n\n' -x $'\r'
entry "$G" "pair/left;pair/right" "m:raw/2"
entry "$G" "top/1" "m:mid/a b'c\"d\$e;m:pair/left;m:pair/right;q:ref/1" -x "top"
cd "$G"

refs=("top/1" "raw/1")
expect_exit 0 db build ref/1
expect_exit 0 db build "${refs[@]}"
store_data=$G/.databuild/data
outputs=("raw/1" "raw/2" "mid/a b'c\"d\$e" "pair/left" "pair/right" "top/1")
for r in "${outputs[@]}"; do [ -f "$store_data/$r" ] || fail "build did not publish '$r'"; done

# a plan rendered for a data dir ignores what the store holds: every job runs
for fmt in bash ninja; do
  D="$T/out $fmt/data dir"
  mkdir -p "$D/ref"
  cp "$store_data/ref/1" "$D/ref/1"
  expect_exit 0 db plan --format "$fmt" --data-dir "$D" "${refs[@]}"
  cp "$T/out" "$T/plan.$fmt"
  case $fmt in
    bash)
      head -1 "$T/plan.bash" | grep -qx '#!/usr/bin/env bash' || fail "no shebang"
      grep -qx 'set -euo pipefail' "$T/plan.bash" || fail "no strict mode"
      expect_exit 0 bash "$T/plan.bash"
      ;;
    ninja)
      expect_exit 0 ninja -f "$T/plan.ninja"
      expect_exit 0 ninja -f "$T/plan.ninja"
      expect_out "no work to do"
      ;;
  esac
  for r in "${outputs[@]}"; do
    cmp -- "$store_data/$r" "$D/$r" || fail "$fmt: '$r' differs from databuild build"
  done
  [ -z "$(ls -A "$D/.databuild/" 2>/dev/null | grep -v '^ninja$')" ] || fail "$fmt left staging behind: $(ls -A "$D/.databuild")"
  pass "$fmt plan output is byte-identical to databuild build"
done

# the bash script takes another data dir as its argument; a missing query input stops it
D2=$T/elsewhere
expect_exit 1 bash "$T/plan.bash" "$D2"
expect_err "needs 'ref/1' (query), which is not in $D2"
mkdir -p "$D2/ref" && cp "$store_data/ref/1" "$D2/ref/1"
expect_exit 0 bash "$T/plan.bash" "$D2"
cmp "$store_data/top/1" "$D2/top/1" || fail "bash with a data dir argument differs"
pass "bash data dir argument, query input check"

# a job that exits 0 without its output, and a failing job, stop both scripts
entry "$G" "raw/3" "" -fail
printf 'raw/4\t{"outputs": ["raw/4"], "args": ["-o", "raw/4x"]}\n' >>"$G/table.tsv"
for ref in raw/3 raw/4; do
  for fmt in bash ninja; do
    D3=$T/fail-$fmt-${ref//\//-}
    expect_exit 0 db plan --format "$fmt" --data-dir "$D3" "$ref"
    cp "$T/out" "$T/fail.$fmt"
    if [ "$fmt" = bash ]; then expect_exit 1 bash "$T/fail.bash"; else expect_exit 1 ninja -f "$T/fail.ninja"; fi
    case $ref in
      raw/3) grep -q "failing as asked" "$T/err" "$T/out" || fail "$fmt: job stderr not shown" ;;
      raw/4) grep -q "did not write output 'raw/4'" "$T/err" "$T/out" || fail "$fmt: missing output not reported" ;;
    esac
    [ ! -e "$D3/$ref" ] || fail "$fmt published '$ref' of a failed job"
  done
done
pass "failed jobs and missing outputs stop the scripts"
