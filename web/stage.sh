#!/bin/sh
# stage.sh SRC OUT [STAMP]: copies the page (SRC/index.html, *.css, *.svg,
# js/*.js) into OUT and vendors the pinned libraries from SRC/node_modules
# (`npm ci` in web/, which scripts/setup runs) into OUT/vendor/. Files are
# written only when they differ, so a build that changed nothing touches
# nothing. Without node_modules the libraries are replaced by modules that
# throw, and the lineage view says how to fix it; the rest of the page works.
# stage.sh SRC --install DIR: the same into $DESTDIR/DIR (meson install).
set -eu
src=$1
out=$2
stamp=${3:-}
if [ "$out" = --install ]; then
	out=${DESTDIR:-}$3
	stamp=
fi

put() {  # put FROM TO
	mkdir -p "$(dirname "$2")"
	if ! cmp -s "$1" "$2"; then
		cp "$1" "$2.tmp"
		mv -f "$2.tmp" "$2"
	fi
}
put_text() {  # put_text TO TEXT
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1.tmp"
	if cmp -s "$1.tmp" "$1" 2>/dev/null; then rm -f "$1.tmp"; else mv -f "$1.tmp" "$1"; fi
}

for f in "$src"/index.html "$src"/*.css "$src"/*.svg "$src"/js/*.js; do
	[ -f "$f" ] || continue
	put "$f" "$out/${f#"$src"/}"
done

# vendor NAME PACKAGE FILE: node_modules/PACKAGE/FILE as vendor/NAME.mjs
vendor() {
	m=$src/node_modules/$2
	if [ -f "$m/$3" ]; then
		put "$m/$3" "$out/vendor/$1.mjs"
		[ ! -f "$m/LICENSE" ] || put "$m/LICENSE" "$out/vendor/$1.LICENSE.txt"
	else
		echo "stage.sh: warning: $m/$3 is missing (run 'npm ci' in web/ or scripts/setup); the lineage view will say so" >&2
		put_text "$out/vendor/$1.mjs" "throw new Error('the library $2 is not vendored: run \"npm ci\" in web/ (scripts/setup does) and rebuild');"
	fi
}
vendor cytoscape cytoscape dist/cytoscape.esm.min.mjs
vendor cytoscape-dagre cytoscape-dagre dist/cytoscape-dagre.min.mjs

[ -z "$stamp" ] || : >"$stamp"
