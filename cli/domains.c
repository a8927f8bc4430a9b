#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"

/*
 * `databuild domains [refresh]`: the graph's partition domains (named
 * ones in the file's order, then the inline ones of each job), each with
 * its kind, its bounds or values, how many values it has and the job
 * variables bound to it. `refresh` re-reads them first
 * (graph_domains_refresh: relative bounds against the clock, command
 * domains run again).
 */

static const struct cli_usage usage = {
	.cmd = "domains",
	.head = "usage: databuild domains [refresh] [--json]\n"
		"\n"
		"List the partition domains of the graph: name, kind, number of values,\n"
		"bounds or values, and the job variables bound to each. Command domains run\n"
		"to be counted. 'refresh' re-reads every domain first: relative bounds\n"
		"(today, now) against the clock, command domains run again.\n",
	.tail = "exit status: 0 ok, 2 usage or graph error, or a domain that cannot be read\n",
};

/* One domain with the job variables bound to it ("ingest.date"). */
struct domain_entry {
	struct domain *d;
	struct strvec used_by;
};

static void entries_release(struct domain_entry *e, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		strvec_clear(&e[i].used_by);
	free(e);
}

/* Every domain of g, named ones first, each once: *out xcalloc'd. */
static size_t entries_make(const struct graph *g, struct domain_entry **out)
{
	size_t nr = 0, alloc = 0;
	struct domain_entry *e = NULL;

	for (size_t i = 0; i < g->domains_nr; i++) {
		ALLOC_GROW(e, nr + 1, alloc);
		e[nr].d = &g->domains[i];
		strvec_init(&e[nr++].used_by);
	}
	for (size_t i = 0; i < g->jobs_nr; i++)
		for (size_t k = 0; k < g->jobs[i].vars_nr; k++) {
			const struct job_var *v = &g->jobs[i].vars[k];
			size_t at = 0;

			while (at < nr && e[at].d != v->domain)
				at++;
			if (at == nr) {
				ALLOC_GROW(e, nr + 1, alloc);
				e[nr].d = v->domain;
				strvec_init(&e[nr++].used_by);
			}
			strvec_pushf(&e[at].used_by, "%s.%s", g->jobs[i].label, v->name);
		}
	*out = e;
	return nr;
}

static void entry_text(const struct domain_entry *e, int ready, struct strbuf *out)
{
	struct strbuf what = STRBUF_INIT;

	domain_describe(e->d, &what);
	strbuf_addf(out, "%-16s %-8s ", e->d->name, domain_kind_name(e->d->kind));
	if (ready)
		strbuf_addf(out, "%10llu  ", (unsigned long long)domain_count(e->d));
	else
		strbuf_addf(out, "%10s  ", "-");
	strbuf_addbuf(out, &what);
	if (e->used_by.nr) {
		strbuf_addstr(out, "  (used by ");
		for (size_t i = 0; i < e->used_by.nr; i++)
			strbuf_addf(out, "%s%s", i ? ", " : "", e->used_by.v[i]);
		strbuf_addch(out, ')');
	}
	strbuf_addch(out, '\n');
	strbuf_release(&what);
}

static cJSON *entry_json(const struct domain_entry *e, int ready, const struct strbuf *error)
{
	cJSON *o = cJSON_CreateObject(), *used = cJSON_CreateArray();
	struct strbuf what = STRBUF_INIT;

	domain_describe(e->d, &what);
	cJSON_AddStringToObject(o, "name", e->d->name);
	cJSON_AddStringToObject(o, "kind", domain_kind_name(e->d->kind));
	if (ready)
		cJSON_AddNumberToObject(o, "count", (double)domain_count(e->d));
	else
		cJSON_AddNullToObject(o, "count");
	cJSON_AddStringToObject(o, "description", what.buf);
	for (size_t i = 0; i < e->used_by.nr; i++)
		cJSON_AddItemToArray(used, cJSON_CreateString(e->used_by.v[i]));
	cJSON_AddItemToObject(o, "used_by", used);
	if (!ready)
		cJSON_AddStringToObject(o, "error", error->buf);
	strbuf_release(&what);
	return o;
}

/* Prints every domain of the graph: an exit code. */
static int domains_print(struct cli *cli, int json)
{
	struct domain_entry *e = NULL;
	size_t nr = entries_make(&cli->graph, &e);
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "domains");
	int failed = 0, ret;

	if (!json && nr)
		strbuf_addf(&out, "%-16s %-8s %10s  %s\n", "DOMAIN", "KIND", "COUNT", "VALUES");
	for (size_t i = 0; i < nr; i++) {
		int ready;

		strbuf_reset(&err);
		ready = domain_ready(e[i].d, &err) == 0;
		if (!ready) {
			cli_fail(EXIT_USAGE, &err);
			failed = 1;
		}
		if (json)
			cJSON_AddItemToArray(list, entry_json(&e[i], ready, &err));
		else
			entry_text(&e[i], ready, &out);
	}
	if (json) {
		json_print(root, &out);
		strbuf_addch(&out, '\n');
	} else if (!nr) {
		strbuf_addstr(&out, "no domains: every job's partitions are open-ended\n");
	}
	ret = cli_write_stdout(&out);
	if (failed)
		ret = EXIT_USAGE;
	cJSON_Delete(root);
	entries_release(e, nr);
	strbuf_release(&out);
	strbuf_release(&err);
	return ret;
}

/* `domains [refresh]`: an exit code. */
static int domains_run(struct cli *cli, int nargs, char **args, int json)
{
	struct strbuf err = STRBUF_INIT;
	int ret = EXIT_USAGE;

	if (nargs > 1 || (nargs == 1 && strcmp(args[0], "refresh")))
		return cli_error(EXIT_USAGE, "domains: unknown argument '%s' (expected nothing or "
				 "'refresh')", nargs > 1 && !strcmp(args[0], "refresh") ? args[1] : args[0]);
	if (cli_load_graph(cli) < 0)
		return EXIT_USAGE;
	if (nargs == 1 && graph_domains_refresh(&cli->graph, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	ret = domains_print(cli, json);
out:
	strbuf_release(&err);
	return ret;
}

int cmd_domains(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json,
			 "one JSON object: {\"domains\": [{\"name\", \"kind\", \"count\", ...}]}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : domains_run(cli, n, argv, json);
}
