#include <stdint.h>
#include <string.h>

#include "core/strmap.h"
#include "planner/planner.h"

/* Outputs named in a diagram label before "... and N more". */
#define LABEL_OUTPUTS 4

int plan_format_parse(const char *name)
{
	static const char *const names[] = {
		[PLAN_JSON] = "json",   [PLAN_MERMAID] = "mermaid", [PLAN_DOT] = "dot",
		[PLAN_BASH] = "bash",   [PLAN_NINJA] = "ninja",     [PLAN_TEXT] = "text",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

/* Requested refs that no node produces (live and fresh, nothing to run). */
static void up_to_date(const struct job_graph *plan, struct strvec *out)
{
	struct strmap produced = STRMAP_INIT;

	for (size_t i = 0; i < plan->nodes_nr; i++)
		for (size_t k = 0; k < plan->nodes[i].config.outputs.nr; k++)
			strmap_put(&produced, plan->nodes[i].config.outputs.v[k], &produced);
	for (size_t i = 0; i < plan->outputs.nr; i++)
		if (!strmap_contains(&produced, plan->outputs.v[i]))
			strvec_push(out, plan->outputs.v[i]);
	strmap_clear(&produced);
}

/* ref -> 1 + index in plan->pruned */
static void index_pruned(const struct job_graph *plan, struct strmap *m)
{
	for (size_t i = 0; i < plan->pruned_nr; i++)
		strmap_put(m, plan->pruned[i].ref, (void *)(uintptr_t)(i + 1));
}

/* Calls fn(from, to) once per (pruned ref, reader) pair. */
static void pruned_edges(const struct job_graph *plan,
			 void (*fn)(size_t pruned, size_t node, void *arg), void *arg)
{
	struct strmap m = STRMAP_INIT;
	size_t *seen = xcalloc(plan->pruned_nr + 1, sizeof(*seen));

	index_pruned(plan, &m);
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct job_config *c = &plan->nodes[i].config;

		for (size_t k = 0; k < c->inputs_nr; k++) {
			uintptr_t v = (uintptr_t)strmap_get(&m, c->inputs[k].ref);

			if (!v || seen[v - 1] == i + 1)
				continue;
			seen[v - 1] = i + 1;
			fn(v - 1, i, arg);
		}
	}
	free(seen);
	strmap_clear(&m);
}

/* --- json ------------------------------------------------------------------ */

/* Appends a string literal (its length known at compile time). */
#define add_lit(out, lit) strbuf_add((out), (lit), sizeof(lit) - 1)

/* Writes the escape of c (a control character, '"' or '\\') at p; returns the end. */
static char *put_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	static const char short_esc[] = { ['"'] = '"', ['\\'] = '\\', ['\b'] = 'b',
					   ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't' };

	*p++ = '\\';
	if (c < sizeof(short_esc) && short_esc[c]) {
		*p++ = short_esc[c];
		return p;
	}
	*p++ = 'u';
	*p++ = '0';
	*p++ = '0';
	*p++ = hex[c >> 4];
	*p++ = hex[c & 15];
	return p;
}

/*
 * s as a JSON string, escaped exactly as cJSON prints it. Room for the
 * worst case (every byte as \u00XX) is made first, so that the bytes are
 * copied with no further checks: the plan's JSON is mostly these strings.
 */
static void json_str(struct strbuf *out, const char *s)
{
	const unsigned char *c = (const unsigned char *)s;
	char *p;

	strbuf_grow(out, 6 * strlen(s) + 2);
	p = out->buf + out->len;
	*p++ = '"';
	for (; *c; c++) {
		if (*c >= 0x20 && *c != '"' && *c != '\\')
			*p++ = (char)*c;
		else
			p = put_escape(p, *c);
	}
	*p++ = '"';
	*p = '\0';
	out->len = (size_t)(p - out->buf);
}

/* Decimal n, without printf. */
static void add_size(struct strbuf *out, size_t n)
{
	char buf[24];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	strbuf_add(out, buf + i, sizeof(buf) - i);
}

static void json_str_or_null(struct strbuf *out, const char *s)
{
	if (s)
		json_str(out, s);
	else
		add_lit(out, "null");
}

static void json_strs(struct strbuf *out, const struct strvec *v)
{
	strbuf_addch(out, '[');
	for (size_t i = 0; i < v->nr; i++) {
		if (i)
			strbuf_addch(out, ',');
		json_str(out, v->v[i]);
	}
	strbuf_addch(out, ']');
}

/* The text of json_print(job_config_to_json(c)). */
static void json_config(struct strbuf *out, const struct job_config *c)
{
	add_lit(out, "{\"outputs\":");
	json_strs(out, &c->outputs);
	add_lit(out, ",\"inputs\":[");
	for (size_t i = 0; i < c->inputs_nr; i++) {
		strbuf_addstr(out, i ? ",{\"dep_type\":" : "{\"dep_type\":");
		json_str(out, dep_type_name(c->inputs[i].type));
		add_lit(out, ",\"ref\":");
		json_str(out, c->inputs[i].ref);
		strbuf_addch(out, '}');
	}
	add_lit(out, "],\"args\":");
	json_strs(out, &c->args);
	add_lit(out, ",\"env\":{");
	for (size_t i = 0; i < c->env.nr; i++) {
		const char *e = c->env.v[i], *eq = strchr(e, '=');
		char *name = xstrndup(e, eq ? (size_t)(eq - e) : strlen(e));

		if (i)
			strbuf_addch(out, ',');
		json_str(out, name);
		strbuf_addch(out, ':');
		json_str(out, eq ? eq + 1 : "");
		free(name);
	}
	add_lit(out, "}}");
}

/*
 * The text of json_print(job_graph_to_json(plan)), written directly: a
 * plan of 100,000 nodes never exists as a cJSON tree (the unit tests hold
 * the two byte-identical).
 */
static int render_json(const struct job_graph *plan, struct strbuf *out)
{
	add_lit(out, "{\"outputs\":");
	json_strs(out, &plan->outputs);
	add_lit(out, ",\"nodes\":[");
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];

		strbuf_addstr(out, i ? ",{\"id\":" : "{\"id\":");
		add_size(out, i);
		add_lit(out, ",\"job\":");
		json_str_or_null(out, n->job);
		add_lit(out, ",\"config\":");
		json_config(out, &n->config);
		add_lit(out, ",\"reason\":");
		json_str_or_null(out, n->reason);
		strbuf_addch(out, '}');
	}
	add_lit(out, "],\"edges\":[");
	for (size_t i = 0; i < plan->edges_nr; i++) {
		strbuf_addstr(out, i ? ",{\"from\":" : "{\"from\":");
		add_size(out, plan->edges[i].from);
		add_lit(out, ",\"to\":");
		add_size(out, plan->edges[i].to);
		strbuf_addch(out, '}');
	}
	add_lit(out, "],\"pruned\":[");
	for (size_t i = 0; i < plan->pruned_nr; i++) {
		strbuf_addstr(out, i ? ",{\"ref\":" : "{\"ref\":");
		json_str(out, plan->pruned[i].ref);
		add_lit(out, ",\"job\":");
		json_str_or_null(out, plan->pruned[i].job);
		strbuf_addch(out, '}');
	}
	add_lit(out, "]}\n");
	return 0;
}

/* --- mermaid --------------------------------------------------------------- */

static void mermaid_text(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '"':
			strbuf_addstr(out, "#quot;");
			break;
		case '#':
			strbuf_addstr(out, "#35;");
			break;
		case '<':
			strbuf_addstr(out, "#lt;");
			break;
		case '>':
			strbuf_addstr(out, "#gt;");
			break;
		case '&':
			strbuf_addstr(out, "#amp;");
			break;
		default:
			strbuf_addch(out, *s);
		}
	}
}

/* "job", then the outputs, each preceded by sep, through esc. */
static void node_label(struct strbuf *out, const struct graph_node *n, const char *sep,
		       void (*esc)(struct strbuf *, const char *))
{
	const struct strvec *o = &n->config.outputs;

	esc(out, n->job);
	for (size_t i = 0; i < o->nr && i < LABEL_OUTPUTS; i++) {
		strbuf_addstr(out, sep);
		esc(out, o->v[i]);
	}
	if (o->nr > LABEL_OUTPUTS) {
		strbuf_addstr(out, sep);
		strbuf_addf(out, "... and %zu more", o->nr - LABEL_OUTPUTS);
	}
}

static void mermaid_pruned_edge(size_t pruned, size_t node, void *arg)
{
	strbuf_addf(arg, "  p%zu -.-> n%zu\n", pruned, node);
}

static int render_mermaid(const struct job_graph *plan, struct strbuf *out)
{
	strbuf_addstr(out, "flowchart LR\n");
	if (!plan->nodes_nr)
		strbuf_addstr(out, "  %% nothing to run\n");
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const char *reason = plan->nodes[i].reason ? plan->nodes[i].reason : "";

		strbuf_addf(out, "  n%zu[\"", i);
		node_label(out, &plan->nodes[i], "<br/>", mermaid_text);
		strbuf_addstr(out, "\"]");
		if (!strncmp(reason, "stale", 5))
			strbuf_addstr(out, ":::stale");
		else if (!strcmp(reason, "upstream"))
			strbuf_addstr(out, ":::upstream");
		strbuf_addch(out, '\n');
	}
	for (size_t i = 0; i < plan->pruned_nr; i++) {
		strbuf_addf(out, "  p%zu[(\"", i);
		mermaid_text(out, plan->pruned[i].ref);
		strbuf_addstr(out, "\")]:::pruned\n");
	}
	for (size_t i = 0; i < plan->edges_nr; i++)
		strbuf_addf(out, "  n%zu --> n%zu\n", plan->edges[i].from, plan->edges[i].to);
	pruned_edges(plan, mermaid_pruned_edge, out);
	strbuf_addstr(out, "  classDef pruned fill:#eeeeee,stroke:#999999,"
			   "stroke-dasharray:4 4,color:#555555\n"
			   "  classDef stale fill:#fff3e0,stroke:#e65100\n"
			   "  classDef upstream fill:#fffde7,stroke:#f9a825\n");
	return 0;
}

/* --- dot ------------------------------------------------------------------- */

static void dot_text(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(out, '\\');
		strbuf_addch(out, *s);
	}
}

static void dot_pruned_edge(size_t pruned, size_t node, void *arg)
{
	strbuf_addf(arg, "  p%zu -> n%zu [style=dashed, color=\"#999999\"];\n", pruned, node);
}

static int render_dot(const struct graph *g, const struct job_graph *plan, struct strbuf *out)
{
	strbuf_addstr(out, "digraph \"");
	dot_text(out, g ? g->name : "plan");
	strbuf_addstr(out, "\" {\n  rankdir=LR;\n"
			   "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const char *reason = plan->nodes[i].reason ? plan->nodes[i].reason : "";

		strbuf_addf(out, "  n%zu [label=\"", i);
		node_label(out, &plan->nodes[i], "\\n", dot_text);
		strbuf_addstr(out, "\", tooltip=\"");
		dot_text(out, reason);
		strbuf_addch(out, '"');
		if (!strncmp(reason, "stale", 5))
			strbuf_addstr(out, ", color=\"#e65100\"");
		else if (!strcmp(reason, "upstream"))
			strbuf_addstr(out, ", color=\"#f9a825\"");
		strbuf_addstr(out, "];\n");
	}
	for (size_t i = 0; i < plan->pruned_nr; i++) {
		strbuf_addf(out, "  p%zu [label=\"", i);
		dot_text(out, plan->pruned[i].ref);
		strbuf_addstr(out, "\", shape=cylinder, style=\"dashed,filled\", "
				   "fillcolor=\"#eeeeee\", color=\"#999999\", fontcolor=\"#555555\"];\n");
	}
	for (size_t i = 0; i < plan->edges_nr; i++)
		strbuf_addf(out, "  n%zu -> n%zu;\n", plan->edges[i].from, plan->edges[i].to);
	pruned_edges(plan, dot_pruned_edge, out);
	strbuf_addstr(out, "}\n");
	return 0;
}

/* --- text ------------------------------------------------------------------ */

static int render_text(const struct job_graph *plan, struct strbuf *out)
{
	struct strvec fresh = STRVEC_INIT;
	size_t *first = xcalloc(plan->nodes_nr + 2, sizeof(*first));
	size_t *from = xcalloc(plan->edges_nr + 1, sizeof(*from));

	for (size_t e = 0; e < plan->edges_nr; e++)
		if (plan->edges[e].to < plan->nodes_nr)
			first[plan->edges[e].to + 2]++;
	for (size_t i = 0; i < plan->nodes_nr; i++)
		first[i + 2] += first[i + 1];
	for (size_t e = 0; e < plan->edges_nr; e++)
		if (plan->edges[e].to < plan->nodes_nr)
			from[first[plan->edges[e].to + 1]++] = plan->edges[e].from;

	up_to_date(plan, &fresh);
	strbuf_addf(out, "%zu job%s to run for %zu requested partition%s "
		    "(%zu up to date, %zu live input%s pruned)\n",
		    plan->nodes_nr, plan->nodes_nr == 1 ? "" : "s",
		    plan->outputs.nr, plan->outputs.nr == 1 ? "" : "s",
		    fresh.nr, plan->pruned_nr, plan->pruned_nr == 1 ? "" : "s");
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];

		strbuf_addf(out, "  [%zu] %s: %s", i, n->job, n->reason ? n->reason : "missing");
		for (size_t e = first[i]; e < first[i + 1]; e++)
			strbuf_addf(out, "%s%zu", e > first[i] ? ", " : " (after ", from[e]);
		if (first[i + 1] > first[i])
			strbuf_addch(out, ')');
		strbuf_addch(out, '\n');
		for (size_t k = 0; k < n->config.outputs.nr; k++)
			strbuf_addf(out, "        -> %s\n", n->config.outputs.v[k]);
	}
	if (plan->pruned_nr)
		strbuf_addstr(out, "pruned (live inputs, nothing to run):\n");
	for (size_t i = 0; i < plan->pruned_nr; i++) {
		strbuf_addf(out, "  %s", plan->pruned[i].ref);
		if (plan->pruned[i].job)
			strbuf_addf(out, " (%s)", plan->pruned[i].job);
		strbuf_addch(out, '\n');
	}
	if (fresh.nr)
		strbuf_addstr(out, "up to date (requested, nothing to run):\n");
	for (size_t i = 0; i < fresh.nr; i++)
		strbuf_addf(out, "  %s\n", fresh.v[i]);
	strvec_clear(&fresh);
	free(first);
	free(from);
	return 0;
}

/* --- bash and ninja: the exec protocol in POSIX sh ------------------------- */

#define HEADER_REFS 20

static const struct job *node_job(const struct graph *g, const struct graph_node *n,
				  struct strbuf *err)
{
	const struct job *job = g ? graph_job(g, n->job) : NULL;

	if (!job)
		strbuf_addf(err, "plan node %zu: job '%s' is not in the graph", n->id, n->job);
	return job;
}

/* Text for a '#' comment: control characters (a newline would end it) become '?'. */
static void comment_text(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/*
 * One shell word for s. In a one-line command (ninja: no newline can be
 * written), a word with a newline or carriage return is built into the
 * variable wN by an assignment appended to pre, with printf %b escapes.
 */
static void sh_word(struct strbuf *out, struct strbuf *pre, size_t *vars, const char *s)
{
	struct strbuf esc = STRBUF_INIT;

	if (!pre || !strpbrk(s, "\n\r")) {
		strbuf_addshquoted(out, s);
		return;
	}
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_addstr(&esc, "\\\\");
		else if (*s == '\n')
			strbuf_addstr(&esc, "\\n");
		else if (*s == '\r')
			strbuf_addstr(&esc, "\\r");
		else
			strbuf_addch(&esc, *s);
	}
	strbuf_addf(pre, "w%zu=$(printf '%%b_' ", *vars);
	strbuf_addshquoted(pre, esc.buf);
	strbuf_addf(pre, ") && w%zu=${w%zu%%_} && ", *vars, *vars);
	strbuf_addf(out, "\"$w%zu\"", *vars);
	++*vars;
	strbuf_release(&esc);
}

/*
 * `env -- NAME=value... DATABUILD_*=... EXEC ARGS...`, the config env first so
 * that the protocol's variables win, as with the executor. pre: see sh_word.
 */
static void exec_words(struct strbuf *out, struct strbuf *pre, const struct job *job,
		       const struct graph_node *n, size_t id, const char *out_dir,
		       const char *in_dir)
{
	size_t vars = 0;

	strbuf_addstr(out, "env --");
	for (size_t i = 0; i < n->config.env.nr; i++) {
		strbuf_addch(out, ' ');
		sh_word(out, pre, &vars, n->config.env.v[i]);
	}
	strbuf_addf(out, " DATABUILD_OUTPUT_DIR=%s DATABUILD_INPUT_DIR=%s DATABUILD_RUN_ID=plan-%zu",
		    out_dir, in_dir, id);
	if (strchr(job->exec.v[0], '='))
		strbuf_addstr(out, " sh -c 'exec \"$0\" \"$@\"'");
	for (size_t i = 0; i < job->exec.nr; i++) {
		strbuf_addch(out, ' ');
		sh_word(out, pre, &vars, job->exec.v[i]);
	}
	for (size_t i = 0; i < n->config.args.nr; i++) {
		strbuf_addch(out, ' ');
		sh_word(out, pre, &vars, n->config.args.v[i]);
	}
}

static void config_text(const struct graph_node *n, struct strbuf *out)
{
	json_config(out, &n->config);
}

static void header(struct strbuf *out, const struct graph *g, const struct job_graph *plan,
		   const char *how, const char *data_dir)
{
	strbuf_addf(out, "# Generated by `databuild plan --format %s` from graph '", how);
	comment_text(out, g->name);
	strbuf_addstr(out, "'\n# (");
	comment_text(out, g->path);
	strbuf_addstr(out, ").\n");
	strbuf_addf(out, "# Runs %zu job%s in dependency order to produce:\n", plan->nodes_nr,
		    plan->nodes_nr == 1 ? "" : "s");
	for (size_t i = 0; i < plan->outputs.nr && i < HEADER_REFS; i++)
		strbuf_addf(out, "#   %s\n", plan->outputs.v[i]);
	if (plan->outputs.nr > HEADER_REFS)
		strbuf_addf(out, "#   ... and %zu more\n", plan->outputs.nr - HEADER_REFS);
	strbuf_addstr(out, "# Jobs read input R at DATA_DIR/R; once a job exits 0 having written\n"
			   "# all its outputs they are moved to DATA_DIR/R (default DATA_DIR: ");
	comment_text(out, data_dir);
	strbuf_addstr(out, ").\n");
}

static int render_bash(const struct graph *g, const struct job_graph *plan, const char *data_dir,
		       struct strbuf *out, struct strbuf *err)
{
	struct strbuf words = STRBUF_INIT;

	strbuf_addstr(out, "#!/usr/bin/env bash\n");
	header(out, g, plan, "bash", data_dir);
	strbuf_addstr(out, "# usage: bash SCRIPT [DATA_DIR]\nset -euo pipefail\n\ndata_dir=${1:-");
	strbuf_addshquoted(out, data_dir);
	strbuf_addstr(out, "}\n"
		"mkdir -p -- \"$data_dir/.databuild\"\n"
		"data_dir=$(cd -- \"$data_dir\" && pwd)\n"
		"staging=$(mktemp -d \"$data_dir/.databuild/plan.XXXXXX\")\n"
		"trap 'rm -rf -- \"$staging\"' EXIT\n"
		"\n"
		"fail() {\n"
		"\tprintf 'databuild plan: %s\\n' \"$*\" >&2\n"
		"\texit 1\n"
		"}\n"
		"\n"
		"# query ID JOB REF: a query input is never built here; it must be present\n"
		"query() {\n"
		"\t[ -f \"$data_dir/$3\" ] || fail \"[$1] job '$2' needs '$3' (query), which is not in $data_dir\"\n"
		"}\n"
		"\n"
		"# start ID JOB: a fresh staging directory for node ID\n"
		"start() {\n"
		"\tprintf 'databuild plan: [%s] %s\\n' \"$1\" \"$2\" >&2\n"
		"\tmkdir -- \"$staging/$1\" \"$staging/$1/out\"\n"
		"}\n"
		"\n"
		"# publish ID JOB OUTPUT...: checks every output was written, then moves them\n"
		"publish() {\n"
		"\tlocal id=$1 job=$2 ref\n"
		"\tshift 2\n"
		"\tfor ref in \"$@\"; do\n"
		"\t\tif [ ! -f \"$staging/$id/out/$ref\" ] || [ -L \"$staging/$id/out/$ref\" ]; then\n"
		"\t\t\tfail \"[$id] job '$job' exited 0 but did not write output '$ref'\"\n"
		"\t\tfi\n"
		"\tdone\n"
		"\tfor ref in \"$@\"; do\n"
		"\t\tmkdir -p -- \"$(dirname -- \"$data_dir/$ref\")\"\n"
		"\t\tchmod 0444 -- \"$staging/$id/out/$ref\"\n"
		"\t\tmv -f -- \"$staging/$id/out/$ref\" \"$data_dir/$ref\"\n"
		"\tdone\n"
		"\trm -rf -- \"$staging/$id\"\n"
		"}\n");

	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];
		const struct job *job = node_job(g, n, err);
		const struct strvec *o = &n->config.outputs;
		struct strbuf dir = STRBUF_INIT;

		if (!job)
			goto fail;
		strbuf_addf(out, "\n# [%zu] %s (", i, n->job);
		comment_text(out, n->reason ? n->reason : "missing");
		strbuf_addstr(out, ")\n");
		for (size_t k = 0; k < o->nr && k < HEADER_REFS; k++)
			strbuf_addf(out, "#   -> %s\n", o->v[k]);
		if (o->nr > HEADER_REFS)
			strbuf_addf(out, "#   ... and %zu more\n", o->nr - HEADER_REFS);
		for (size_t k = 0; k < n->config.inputs_nr; k++) {
			if (n->config.inputs[k].type != DEP_QUERY)
				continue;
			strbuf_addf(out, "query %zu %s ", i, n->job);
			strbuf_addshquoted(out, n->config.inputs[k].ref);
			strbuf_addch(out, '\n');
		}
		strbuf_addf(out, "start %zu %s\n(cd -- ", i, n->job);
		strbuf_addshquoted(out, g->dir);
		strbuf_addstr(out, " && exec ");
		strbuf_addf(&dir, "\"$staging/%zu/out\"", i);
		strbuf_reset(&words);
		exec_words(&words, NULL, job, n, i, dir.buf, "\"$data_dir\"");
		strbuf_release(&dir);
		strbuf_addbuf(out, &words);
		strbuf_addstr(out, " <<'DATABUILD_CONFIG'\n");
		config_text(n, out);
		strbuf_addf(out, "\nDATABUILD_CONFIG\n) || fail \"[%zu] job '%s' failed with exit status $?\"\n",
			    i, n->job);
		strbuf_addf(out, "publish %zu %s", i, n->job);
		for (size_t k = 0; k < o->nr; k++) {
			strbuf_addstr(out, k % 4 ? " " : " \\\n\t");
			strbuf_addshquoted(out, o->v[k]);
		}
		strbuf_addch(out, '\n');
	}
	strbuf_release(&words);
	return 0;
fail:
	strbuf_release(&words);
	return -1;
}

/* ninja: '$' escapes everything; paths also escape ' ' and ':'. */
static void ninja_text(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '$')
			strbuf_addch(out, '$');
		strbuf_addch(out, *s);
	}
}

static int ninja_path(struct strbuf *out, const char *dir, const char *ref, struct strbuf *err)
{
	const char *parts[2] = { dir, ref };

	if (strchr(ref, '|') || strchr(dir, '|')) {
		strbuf_addf(err, "cannot name '%s/%s' in a ninja file: ninja has no escape for '|'",
			    dir, ref);
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		if (i)
			strbuf_addch(out, '/');
		for (const char *s = parts[i]; *s; s++) {
			if (*s == '$' || *s == ' ' || *s == ':')
				strbuf_addch(out, '$');
			strbuf_addch(out, *s);
		}
	}
	return 0;
}

/* The node's command: a POSIX sh line (before ninja escaping). */
static void ninja_cmd(struct strbuf *sh, const struct graph *g, const struct job *job,
		      const struct graph_node *n, size_t i, const char *data_dir)
{
	const struct strvec *o = &n->config.outputs;
	struct strbuf dq = STRBUF_INIT, outs = STRBUF_INIT, pre = STRBUF_INIT, words = STRBUF_INIT;

	strbuf_addshquoted(&dq, data_dir);
	for (size_t k = 0; k < o->nr; k++) {
		strbuf_addch(&outs, ' ');
		strbuf_addshquoted(&outs, o->v[k]);
	}
	strbuf_addf(sh, "s=$(mktemp -d %s/.databuild/ninja/%zu.XXXXXX) && trap 'rm -rf \"$s\"' EXIT"
		    " && { cat %s/.databuild/ninja/%zu.json && echo; } >\"$s/config.json\""
		    " && mkdir \"$s/out\" && (cd ", dq.buf, i, dq.buf, i);
	strbuf_addshquoted(sh, g->dir);
	strbuf_addstr(sh, " && ");
	exec_words(&words, &pre, job, n, i, "\"$s/out\"", dq.buf);
	strbuf_addbuf(sh, &pre);
	strbuf_addstr(sh, "exec ");
	strbuf_addbuf(sh, &words);
	strbuf_addf(sh, " <\"$s/config.json\") && for r in%s; do if test ! -f \"$s/out/$r\" ||"
		    " test -L \"$s/out/$r\"; then echo \"databuild plan: [%zu] job '%s' exited 0 but"
		    " did not write output '$r'\" >&2; exit 1; fi; done && for r in%s; do mkdir -p"
		    " \"$(dirname %s/\"$r\")\" && chmod 0444 \"$s/out/$r\" && mv -f \"$s/out/$r\""
		    " %s/\"$r\" || exit 1; done",
		    outs.buf, i, n->job, outs.buf, dq.buf, dq.buf);
	strbuf_release(&dq);
	strbuf_release(&outs);
	strbuf_release(&pre);
	strbuf_release(&words);
}

static int render_ninja(const struct graph *g, const struct job_graph *plan, const char *data_dir,
			struct strbuf *out, struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT, staging = STRBUF_INIT;
	struct strmap produced = STRMAP_INIT;
	int ret = -1, any_default = 0;

	if (strpbrk(data_dir, "\n\r") || strpbrk(g->dir, "\n\r")) {
		strbuf_addstr(err, "cannot write a path with a newline in a ninja file");
		goto out;
	}
	header(out, g, plan, "ninja", data_dir);
	strbuf_addstr(out, "# usage: ninja -f FILE\n\nninja_required_version = 1.3\n\n"
			   "rule mkdir\n  command = mkdir -p $out\n  description = mkdir $out\n\n"
			   "rule job\n  command = $cmd\n  description = $desc\n"
			   "  rspfile = $rsp\n  rspfile_content = $config\n\n");
	strbuf_addstr(&staging, data_dir);
	strbuf_addstr(&staging, "/.databuild");
	if (ninja_path(&tmp, staging.buf, "ninja", err) < 0)
		goto out;
	strbuf_addf(out, "build %s: mkdir\n", tmp.buf);

	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];
		const struct job *job = node_job(g, n, err);
		const struct job_config *c = &n->config;

		if (!job)
			goto out;
		strbuf_addf(out, "\n# [%zu] %s (", i, n->job);
		comment_text(out, n->reason ? n->reason : "missing");
		strbuf_addstr(out, ")\nbuild");
		for (size_t k = 0; k < c->outputs.nr; k++) {
			strmap_put(&produced, c->outputs.v[k], &produced);
			strbuf_addch(out, ' ');
			if (ninja_path(out, data_dir, c->outputs.v[k], err) < 0)
				goto out;
		}
		strbuf_addstr(out, ": job");
		for (size_t k = 0; k < c->inputs_nr; k++) {
			if (c->inputs[k].type == DEP_QUERY)
				continue;
			strbuf_addch(out, ' ');
			if (ninja_path(out, data_dir, c->inputs[k].ref, err) < 0)
				goto out;
		}
		/* query inputs: order-only, they must exist but never trigger a rerun */
		strbuf_addf(out, " || %s", tmp.buf);
		for (size_t k = 0; k < c->inputs_nr; k++) {
			if (c->inputs[k].type != DEP_QUERY)
				continue;
			strbuf_addch(out, ' ');
			if (ninja_path(out, data_dir, c->inputs[k].ref, err) < 0)
				goto out;
		}
		strbuf_addstr(out, "\n  rsp = ");
		ninja_text(out, data_dir);
		strbuf_addf(out, "/.databuild/ninja/%zu.json\n  desc = [%zu] %s: ", i, i, n->job);
		ninja_text(out, c->outputs.v[0]);
		if (c->outputs.nr > 1)
			strbuf_addf(out, " (+%zu more)", c->outputs.nr - 1);
		strbuf_addstr(out, "\n  config = ");
		{
			struct strbuf json = STRBUF_INIT;

			config_text(n, &json);
			ninja_text(out, json.buf);
			strbuf_release(&json);
		}
		strbuf_addstr(out, "\n  cmd = ");
		{
			struct strbuf sh = STRBUF_INIT;

			ninja_cmd(&sh, g, job, n, i, data_dir);
			ninja_text(out, sh.buf);
			strbuf_release(&sh);
		}
		strbuf_addch(out, '\n');
	}
	for (size_t i = 0; i < plan->outputs.nr; i++) {
		if (!strmap_contains(&produced, plan->outputs.v[i]))
			continue;
		strbuf_addstr(out, any_default ? " " : "\ndefault ");
		any_default = 1;
		if (ninja_path(out, data_dir, plan->outputs.v[i], err) < 0)
			goto out;
	}
	if (any_default)
		strbuf_addch(out, '\n');
	ret = 0;
out:
	strmap_clear(&produced);
	strbuf_release(&tmp);
	strbuf_release(&staging);
	return ret;
}

int plan_render(const struct graph *g, const struct job_graph *plan, enum plan_format f,
		const char *data_dir, struct strbuf *out, struct strbuf *err)
{
	switch (f) {
	case PLAN_JSON:
		return render_json(plan, out);
	case PLAN_MERMAID:
		return render_mermaid(plan, out);
	case PLAN_DOT:
		return render_dot(g, plan, out);
	case PLAN_TEXT:
		return render_text(plan, out);
	case PLAN_BASH:
	case PLAN_NINJA:
		if (!data_dir || data_dir[0] != '/') {
			strbuf_addf(err, "format '%s' needs an absolute data directory",
				    f == PLAN_BASH ? "bash" : "ninja");
			return -1;
		}
		if (!g) {
			strbuf_addstr(err, "format needs the graph");
			return -1;
		}
		return f == PLAN_BASH ? render_bash(g, plan, data_dir, out, err)
				      : render_ninja(g, plan, data_dir, out, err);
	}
	strbuf_addf(err, "unknown plan format %d", (int)f);
	return -1;
}
