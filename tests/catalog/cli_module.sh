#!/usr/bin/env bash
# The PostgreSQL backend is a module loaded on demand: the binary does not
# link libpq, and a missing module fails a postgresql:// catalog with exit
# 2, naming the catalog (password masked), the module's path and why.
. "$SOURCE_ROOT/tests/lib.sh"

if ldd "$DATABUILD" | grep -q 'libpq\.so'; then
	fail "databuild links libpq: $(ldd "$DATABUILD" | grep libpq)"
fi
pass "databuild does not link libpq"

mkdir -p "$T/empty" "$T/p"
cat >"$T/p/databuild.json" <<'JSON'
{"name": "m", "jobs": [{"label": "a", "outputs": ["a/x={x}"], "configure": ["/bin/true"],
  "exec": ["/bin/true"], "version": "1.0.0"}]}
JSON
url='postgresql://u:secret@127.0.0.1:1/x'
DATABUILD_MODULE_DIR=$T/empty expect_exit 2 db --graph "$T/p/databuild.json" --catalog "$url" ls
expect_err "catalog 'postgresql://u:***@127.0.0.1:1/x': cannot load the backend module '$T/empty/databuild-postgres.so': "
expect_err "No such file or directory"
! grep -q secret "$T/err" || fail "the password shows: $(cat "$T/err")"
pass "a missing module names the catalog, the module and the reason"

echo "not a shared object" >"$T/empty/databuild-postgres.so"
DATABUILD_MODULE_DIR=$T/empty expect_exit 2 db --graph "$T/p/databuild.json" --catalog "$url" ls
expect_err "cannot load the backend module '$T/empty/databuild-postgres.so': "
pass "an unloadable module is an error, exit 2"

# SQLite catalogs never load it
DATABUILD_MODULE_DIR=$T/empty expect_exit 0 db --graph "$T/p/databuild.json" --catalog "sqlite:$T/c.db" ls
pass "a SQLite catalog does not need the module"
