# Helpers for the planner's shell tests (sourced after tests/lib.sh).
#
#   mkgraph DIR "LABEL=PATTERN[@VERSION] ..."
#       writes DIR/databuild.json: each job is configured by
#       fixture/configure answering from DIR/table.tsv, and runs its own
#       copy of fixture/exec, DIR/jobs/LABEL.
#   entry DIR "OUT;..." "m:REF;q:REF;..." [ARG...]
#       adds a config to DIR/table.tsv under each output: args are -o OUT
#       per output, -i REF per materialize input, then ARG...; $ENTRY_ENV
#       (a JSON object, default {}) is its env.

FIXTURE="$SOURCE_ROOT/tests/planner/fixture"

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

mkgraph() {
  local dir=$1 spec=$2 job label pattern version sep=""
  mkdir -p "$dir/jobs"
  : >"$dir/table.tsv"
  {
    printf '{"name": "planner-shell", "jobs": ['
    for job in $spec; do
      label=${job%%=*}
      pattern=${job#*=}
      version=1.0.0
      case $pattern in *@*) version=${pattern#*@}; pattern=${pattern%@*} ;; esac
      cp "$FIXTURE/exec" "$dir/jobs/$label"
      printf '%s{"label": "%s", "outputs": [%s], "configure": [%s, %s, "%s"], "exec": ["jobs/%s"], "version": "%s"}' \
        "$sep" "$label" "$(json_str "$pattern")" "$(json_str "$FIXTURE/configure")" \
        "$(json_str "$dir/table.tsv")" "$label" "$label" "$version"
      sep=", "
    done
    printf ']}\n'
  } >"$dir/databuild.json"
}

entry() {
  local dir=$1 outs=$2 ins=$3 o i sep="" json args=""
  shift 3
  local -a outv inv
  IFS=';' read -r -a outv <<<"$outs"
  IFS=';' read -r -a inv <<<"$ins"
  json='{"outputs": ['
  for o in "${outv[@]}"; do
    json+="$sep$(json_str "$o")"; args+="${args:+, }\"-o\", $(json_str "$o")"; sep=", "
  done
  json+='], "inputs": ['
  sep=""
  for i in "${inv[@]}"; do
    case $i in
      m:*) json+="$sep{\"dep_type\": \"materialize\", \"ref\": $(json_str "${i#m:}")}"
           args+="${args:+, }\"-i\", $(json_str "${i#m:}")" ;;
      q:*) json+="$sep{\"dep_type\": \"query\", \"ref\": $(json_str "${i#q:}")}" ;;
    esac
    sep=", "
  done
  for i in "$@"; do args+="${args:+, }$(json_str "$i")"; done
  json+="], \"args\": [$args], \"env\": ${ENTRY_ENV:-{\}}}"
  for o in "${outv[@]}"; do printf '%s\t%s\n' "$o" "$json" >>"$dir/table.tsv"; done
}
