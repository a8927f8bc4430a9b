#!/usr/bin/env bash
# The page (docs/web.md) in a real headless browser: Debian's chromium
# driven by playwright-core (web/node_modules, `npm ci` in web/; both
# installed by scripts/setup). Screenshots go to $BUILD_ROOT/screenshots/.
. "$SOURCE_ROOT/tests/service/lib_service.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM SOURCE_ROOT
[ -x "$CHROMIUM" ] || skip "chromium missing ($CHROMIUM; scripts/setup installs it)"
[ -f "$SOURCE_ROOT/web/node_modules/playwright-core/package.json" ] ||
	skip "web/node_modules missing (scripts/setup runs 'npm ci' in web/)"
command -v node >/dev/null || fail "node missing (scripts/setup installs nodejs)"
[ -f "$BUILD_ROOT/web/index.html" ] || fail "the page is not staged in $BUILD_ROOT/web"
SHOTS=$BUILD_ROOT/screenshots
mkdir -p "$SHOTS"

# The page's files, plus a link that points out of them: served from a copy.
cp -r "$BUILD_ROOT/web" "$T/web"
ln -s /etc/passwd "$T/web/passwd.js"
ln -s / "$T/web/root"
export DATABUILD_WEB_DIR=$T/web

# (the fixture job writes refs into JSON unescaped: no quotes in this one)
EVIL='raw/date=<img src=x onerror=alert(1)>&amp;<b>'
: >"$STATE/go-date=2024-01-01"
: >"$STATE/go-date=2024-01-03"
expect_exit 0 db build block/date=2024-01-01 block/date=2024-01-03 \
	report/region=north/date=2024-01-01 raw/date=2024-01-05 "$EVIL"
expect_exit 1 db build fail/date=2024-01-01
serve_start

# --- static files: types, headers, and nothing outside the directory
# status PATH [CURL ARGS]: the status of GET PATH (body in $T/body, headers in $T/headers)
status() {
	local p=$1; shift
	curl -sS --path-as-is -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$URL$p"
}
header() { grep -i "^$1: " "$T/headers" | tr -d '\r' | cut -d' ' -f2-; }
[ "$(status /)" = 200 ] || fail "/: $(cat "$T/body")"
[ "$(header Content-Type)" = "text/html; charset=utf-8" ] || fail "/: $(header Content-Type)"
header Content-Security-Policy | grep -q "default-src 'self'" || fail "/ without a CSP"
cmp -s "$T/body" "$T/web/index.html" || fail "/ is not index.html"
for f in style.css:text/css js/app.js:text/javascript vendor/cytoscape.mjs:text/javascript \
	favicon.svg:image/svg+xml; do
	[ "$(status "/assets/${f%%:*}")" = 200 ] || fail "/assets/${f%%:*}: $(cat "$T/body")"
	header Content-Type | grep -q "^${f##*:}" || fail "/assets/${f%%:*}: $(header Content-Type)"
	cmp -s "$T/body" "$T/web/${f%%:*}" || fail "/assets/${f%%:*} differs from the file"
done
grep -q 'export' "$T/web/vendor/cytoscape-dagre.mjs" || fail "cytoscape-dagre is not vendored"
for p in /assets/../../../etc/passwd /assets/%2e%2e/%2e%2e/etc/passwd /assets/./index.html \
	/assets//etc/passwd /assets/passwd.js /assets/root/etc/passwd /assets/.hidden /assets/ \
	/assets/nosuch.js '/assets/js%2f..%2f..%2fetc/passwd' /index.html /etc/passwd; do
	got=$(status "$p")
	case $got in 400|404) ;; *) fail "$p: $got" ;; esac
	! grep -q 'root:' "$T/body" || fail "$p served a file outside the page"
done
[ "$(status /assets/style.css -X POST)" = 405 ] || fail "POST /assets/: not 405"
pass "static files: types, CSP, nothing outside the page's directory"

# --- the page, in the browser
node "$SOURCE_ROOT/tests/service/page.mjs" flow "$URL" "$TOKEN" "$SHOTS" "$STATE" ||
	fail "the page flow failed (screenshots so far in $SHOTS)"
expect_exit 0 db ls --json
grep -q '"block/date=2024-01-02"' "$T/out" || fail "the build from the page is not in the catalog"
pass "datasets, a dataset, build from the page, live via the event stream, its log"
serve_stop

# --- 100,000 partitions: the grid's render time (in the default cell only:
# the other cells' catalog and executor do not change what the page does)
if [ "${DATABUILD_TEST_CATALOG:-sqlite}" != sqlite ] || [ "${DATABUILD_TEST_EXECUTOR:-local}" != local ]; then
	exit 0
fi
. "$SOURCE_ROOT/tests/catalog/fill.sh"
new_test_catalog
fill_store "$T/bulk" 100000
export DATABUILD_STORE=$T/bulk
serve_start
node "$SOURCE_ROOT/tests/service/page.mjs" grid "$URL" "$TOKEN" "$SHOTS" 100000 |
	tee "$T/grid.out" || fail "the 100,000-partition grid failed"
grep -q '^grid: ' "$T/grid.out" || fail "no timing from the grid"
serve_stop
pass "the grid of 100,000 partitions (time above)"
