#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"

static const struct cli_usage usage = {
	.cmd = "show",
	.head = "usage: databuild show REF [--json]\n"
		"\n"
		"Print a partition's status and the manifest of the run that built it:\n"
		"job, version, run id, times, build key, config (args and env), inputs\n"
		"with the content hashes they were read with, outputs and log file. For\n"
		"a partition that is building or failed, the current run too.\n",
};

/* What show prints: a partition, the manifest of its live data and its current run. */
struct shown {
	struct partition p;
	struct manifest m;
	struct run_record run;
	int have_manifest, have_run;
};

static void field(struct strbuf *out, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void field(struct strbuf *out, const char *name, const char *fmt, ...)
{
	va_list ap;

	strbuf_addf(out, "  %-11s ", name);
	va_start(ap, fmt);
	strbuf_vaddf(out, fmt, ap);
	va_end(ap);
	strbuf_addch(out, '\n');
}

static void add_time(struct strbuf *out, const char *name, int64_t us)
{
	struct strbuf t = STRBUF_INIT;

	catalog_format_time(us, &t);
	field(out, name, "%s", t.buf);
	strbuf_release(&t);
}

/* Appends s quoted for a POSIX shell when it needs it. */
static void add_shell_word(struct strbuf *out, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			 "-_./=:,+@%") == strlen(s)) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addshquoted(out, s);
}

static void show_manifest(struct strbuf *out, const struct manifest *m)
{
	struct strbuf words = STRBUF_INIT;

	strbuf_addf(out, "manifest (run %s)\n", m->run_id);
	field(out, "job", "%s%s%s", m->job, m->version ? " " : "", m->version ? m->version : "");
	add_time(out, "started", m->start_time_us);
	add_time(out, "finished", m->end_time_us);
	field(out, "duration", "%.3f s", (double)(m->end_time_us - m->start_time_us) / 1e6);
	field(out, "build key", "%s", m->build_key);
	if (m->host)
		field(out, "host", "%s", m->host);
	if (m->log_path)
		field(out, "log", "%s", m->log_path);
	for (size_t i = 0; i < m->config.args.nr; i++) {
		if (i)
			strbuf_addch(&words, ' ');
		add_shell_word(&words, m->config.args.v[i]);
	}
	field(out, "args", "%s", m->config.args.nr ? words.buf : "(none)");
	if (!m->config.env.nr)
		field(out, "env", "(none)");
	for (size_t i = 0; i < m->config.env.nr; i++)
		field(out, i ? "" : "env", "%s", m->config.env.v[i]);
	if (!m->inputs_nr)
		field(out, "inputs", "(none)");
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		field(out, i ? "" : "inputs", "%s (%s) sha256 %s, run %s", in->ref,
		      dep_type_name(in->type), *in->sha256 ? in->sha256 : "-",
		      in->run_id ? in->run_id : "-");
	}
	for (size_t i = 0; i < m->outputs_nr; i++) {
		const struct manifest_output *o = &m->outputs[i];

		field(out, i ? "" : "outputs", "%s sha256 %s, %lld bytes", o->ref, o->sha256,
		      (long long)o->size);
	}
	strbuf_release(&words);
}

static void show_run(struct strbuf *out, const struct run_record *r)
{
	strbuf_addf(out, "run %s (%s)\n", r->run_id, run_status_name(r->status));
	field(out, "job", "%s", r->job);
	if (r->host || r->pid)
		field(out, "host", "%s, pid %ld", r->host ? r->host : "-", r->pid);
	add_time(out, "started", r->start_us);
	if (r->end_us) {
		add_time(out, "ended", r->end_us);
		if (r->exit_status < 0)
			field(out, "exit", "killed by signal %d", -r->exit_status);
		else
			field(out, "exit", "status %d", r->exit_status);
	}
	if (r->log_path)
		field(out, "log", "%s", r->log_path);
	if (r->error)
		field(out, "error", "%s", r->error);
}

/* The manifest and the current run of s->p: 0, or -1 (printed; exit 2). */
static int show_load(struct cli *cli, struct shown *s)
{
	struct strbuf err = STRBUF_INIT;
	const struct partition *p = &s->p;
	int rc = 0;

	if (p->published_run) {
		manifest_release(&s->m);
		rc = catalog_get_manifest(&cli->catalog, p->published_run, &s->m, &err);
		s->have_manifest = rc > 0;
	}
	if (rc >= 0 && p->run_id && (!p->published_run || strcmp(p->run_id, p->published_run))) {
		run_record_release(&s->run);
		rc = catalog_get_run(&cli->catalog, p->run_id, &s->run, &err);
		s->have_run = rc > 0;
	}
	if (rc < 0)
		cli_fail(EXIT_USAGE, &err);
	strbuf_release(&err);
	return rc < 0 ? -1 : 0;
}

static void show_json(const struct shown *s, struct strbuf *out)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "partition", partition_to_json(&s->p));
	cJSON_AddItemToObject(o, "manifest", s->have_manifest ? manifest_to_json(&s->m) :
			      cJSON_CreateNull());
	cJSON_AddItemToObject(o, "run", s->have_run ? run_record_to_json(&s->run) :
			      cJSON_CreateNull());
	json_print(o, out);
	strbuf_addch(out, '\n');
	cJSON_Delete(o);
}

static void show_partition(struct cli *cli, const struct partition *p, struct strbuf *out)
{
	strbuf_addf(out, "%s\n", p->ref);
	field(out, "status", "%s", part_status_name(p->status));
	if (p->error)
		field(out, "error", "%s", p->error);
	if (p->size >= 0)
		field(out, "size", "%lld bytes", (long long)p->size);
	if (*p->sha256)
		field(out, "sha256", "%s", p->sha256);
	if (*p->build_key)
		field(out, "build key", "%s", p->build_key);
	if (p->job)
		field(out, "job", "%s%s%s", p->job, p->version ? " " : "",
		      p->version ? p->version : "");
	add_time(out, "updated", p->updated_us);
	if (p->status == PART_LIVE || p->status == PART_STALE || p->status == PART_TAINTED ||
	    p->status == PART_DAMAGED) {
		struct strbuf data = STRBUF_INIT;

		store_data_path(&cli->store, p->ref, &data);
		field(out, "data", "%s", data.buf);
		strbuf_release(&data);
	}
}

static void show_text(struct cli *cli, const struct shown *s, struct strbuf *out)
{
	show_partition(cli, &s->p, out);
	if (s->have_run) {
		strbuf_addch(out, '\n');
		show_run(out, &s->run);
	}
	if (s->have_manifest) {
		strbuf_addch(out, '\n');
		show_manifest(out, &s->m);
	}
}

/*
 * Says that ref is not in the catalog, and, with a graph (the one the
 * store was found by, or --graph or $DATABUILD_GRAPH beside --store),
 * whether it could be: a ref no job produces, or outside its job's
 * domain, is named as such rather than as "missing".
 */
static void not_in_catalog(struct cli *cli, const char *ref)
{
	struct strbuf why = STRBUF_INIT;
	struct job *j;

	if ((cli->graph_loaded || (cli->graph_path && cli_load_graph(cli) == 0)) &&
	    graph_resolve(&cli->graph, ref, &j, &why) == 0)
		cli_error(-1, "'%s' is not in the catalog: %s", ref, why.buf);
	else
		cli_error(-1, "'%s' is not in the catalog (status: missing)", ref);
	strbuf_release(&why);
}

/* Prints the partition REF, its manifest and its run: an exit code. */
static int show_print(struct cli *cli, int nargs, char **args, int json)
{
	struct strbuf out = STRBUF_INIT;
	struct shown s = { .have_manifest = 0, .have_run = 0 };
	int ret = EXIT_USAGE, rc;

	partition_init(&s.p);
	manifest_init(&s.m);
	run_record_init(&s.run);
	if ((rc = cli_ref_partition(cli, "show", nargs, args, &s.p)) < 0)
		goto out;
	if (!rc) {
		not_in_catalog(cli, args[0]);
		ret = EXIT_FAILED;
		goto out;
	}
	if (show_load(cli, &s) < 0)
		goto out;
	if (json)
		show_json(&s, &out);
	else
		show_text(cli, &s, &out);
	fwrite(out.buf, 1, out.len, stdout);
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	partition_release(&s.p);
	manifest_release(&s.m);
	run_record_release(&s.run);
	strbuf_release(&out);
	return ret;
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json, "{\"partition\": {...}, \"manifest\": {...} | null, "
			 "\"run\": {...} | null}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : show_print(cli, n, argv, json);
}
