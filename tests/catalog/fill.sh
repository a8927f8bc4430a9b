# Sourced by the catalog's shell tests, after tests/lib.sh.
# fill_store DIR: a store whose catalog holds a diamond a -> b, c -> d, a
# failed partition, one being built, and `bulk` more live partitions
# bulk/k=0000000... (default 0).
FILL="$BUILD_ROOT/tests/catalog/catalog_fill"
[ -x "$FILL" ] || fail "catalog_fill not built: $FILL"

fill_store() {
  local dir=$1 bulk=${2:-0}
  {
    echo "publish ja a/x=1"
    echo "publish jb b/x=1 a/x=1"
    echo "publish jc c/x=1 a/x=1"
    echo "publish jd d/x=1 b/x=1,c/x=1"
    echo "fail je e/x=1 exit status 3: boom"
    echo "building jf f/x=1"
    if [ "$bulk" -gt 0 ]; then echo "bulk bulk/k= $bulk"; fi
  } | "$FILL" "$dir" >"$T/fill.out" || fail "catalog_fill failed"
}
