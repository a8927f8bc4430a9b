#!/usr/bin/env bash
# The bash completion, driven the way readline drives it: COMP_WORDS split
# at COMP_WORDBREAKS, COMP_CWORD, COMP_LINE and COMP_POINT set, then the
# completion function called and COMPREPLY checked.
. "$SOURCE_ROOT/tests/lib.sh"

G=$BUILD_ROOT/examples/podcast_reviews/databuild.json
S=$T/store
expect_exit 0 db --graph "$G" --store "$S" build reviews/date=2024-01-01 reviews/date=2024-01-02 \
	leaderboard/date=2024-01-02

# complete LINE: splits LINE like bash does with the default COMP_WORDBREAKS
# (a trailing space starts a new, empty word), completes the last word, and
# prints COMPREPLY one per line, sorted.
cat >"$T/complete.bash" <<'SH'
. "$SOURCE_ROOT/docs/databuild.bash-completion"
complete_line() {
	local line=$1 w
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMP_WORDS=()
	local rest=$line word=""
	while [ -n "$rest" ]; do
		local c=${rest:0:1}
		rest=${rest:1}
		case $c in
		' ') [ -n "$word" ] && COMP_WORDS+=("$word"); word="" ;;
		'='|':') [ -n "$word" ] && COMP_WORDS+=("$word"); COMP_WORDS+=("$c"); word="" ;;
		*) word+=$c ;;
		esac
	done
	if [ -n "$word" ] || [ "${line: -1}" = " " ]; then
		COMP_WORDS+=("$word")
	fi
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_databuild databuild "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]-}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
SH

# check LINE EXPECTED...: the replies to LINE are exactly EXPECTED (sorted).
check() {
	local line=$1
	shift
	PATH=$(dirname "$DATABUILD"):$PATH bash -c '. "$1"; complete_line "$2"' _ \
		"$T/complete.bash" "$line" >"$T/got" 2>"$T/stderr" || fail "completion of '$line' failed"
	printf '%s\n' "$@" | sort >"$T/want"
	if ! cmp -s "$T/want" "$T/got"; then
		echo "--- want"; cat "$T/want"; echo "--- got"; cat "$T/got"; cat "$T/stderr"
		fail "completion of '$line'"
	fi
	[ ! -s "$T/stderr" ] || { cat "$T/stderr"; fail "completion of '$line' wrote to stderr"; }
}

[ "$(basename "$DATABUILD")" = databuild ] || fail "DATABUILD must be named databuild"
gs="databuild --graph $G --store $S"

check "databuild bu" build
check "databuild --graph $G p" path plan
check "databuild --ver" --verbose --version
check "databuild build --k" --keep-going
check "databuild build -" -j --jobs -k --keep-going --freshness --force --no-cache --missing --stale --failed -n --dry-run --events -h --help
check "databuild plan --format m" mermaid
check "databuild plan --format=" text json mermaid dot bash ninja
check "databuild build --freshness " presence keys
check "databuild ls --status f" failed
check "databuild --executor " local slurm
check "databuild --executor=s" slurm
check "databuild --executor slurm --slurm-opt --mem=1G bu" build
# refs complete a segment at a time, like paths
check "$gs cat " categorized/ leaderboard/ reviews/ summaries/
check "$gs cat rev" reviews/
check "$gs cat reviews/" reviews/date=2024-01-01 reviews/date=2024-01-02
check "$gs cat reviews/da" reviews/date=2024-01-01 reviews/date=2024-01-02
# after '=' bash completes only the text after it
check "$gs cat reviews/date=" 2024-01-01 2024-01-02
check "$gs show reviews/date=2024-01-02" 2024-01-02
check "$gs build summaries/category=" comedy/ news/ science/ sports/ true_crime/
check "$gs build summaries/category=n" news/
check "$gs build summaries/category=news/" news/date=2024-01-02
check "$gs path leader" leaderboard/
check "$gs --store=$S ls leaderboard/" leaderboard/date=2024-01-02
check "$gs --executor slurm cat reviews/da" reviews/date=2024-01-01 reviews/date=2024-01-02
check "$gs cat nothing/"
# options and their values come from the option tables (--list-options)
check "databuild eve" events
check "databuild events -" --since --last --limit -f --follow --json -h --help
check "databuild mount --freshness k" keys
check "databuild ls --status=l" live
check "databuild --li"
check "databuild -v --graph=$G --executor=slurm --slurm-opt=--mem=1G pa" path
check "databuild build -j "
check "$gs show --json -- rev" reviews/
pass "completion of commands, flags, values and refs"

# Every command's flags, as completed, are the options its --help lists
# (and every command of --help is completed).
db --help >"$T/help" || fail "databuild --help failed"
commands=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' "$T/help")
# shellcheck disable=SC2086
check "databuild " $commands
for cmd in $commands; do
	db "$cmd" --help >"$T/help-$cmd" || fail "databuild $cmd --help failed"
	# shellcheck disable=SC2046
	check "databuild $cmd -" $(awk '/^ +-/ {
		sub(/^ +/, "")
		split($0, part, /   */)
		n = split(part[1], tok, /[ ,=\[\]]+/)
		for (i = 1; i <= n; i++)
			if (tok[i] ~ /^--?[A-Za-z][A-Za-z0-9-]*$/) print tok[i]
	}' "$T/help-$cmd")
done
pass "the completion offers every command and exactly the options of each --help"
