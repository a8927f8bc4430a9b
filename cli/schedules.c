#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/json.h"
#include "scheduler/scheduler.h"

/*
 * `databuild schedules`: the graph's triggers (docs/schedules.md): each
 * schedule with its cron, time zone, catch-up, last tick (from the
 * catalog, when there is a store) and next tick (after the clock, not
 * before start); the freshness policies; the eager jobs. Also the
 * daemons' side: cli_scheduler_start builds the command line that the
 * scheduler runs to build refs.
 */

static const struct cli_usage usage = {
	.cmd = "schedules",
	.head = "usage: databuild schedules [--json]\n"
		"\n"
		"List the graph's schedules (cron, time zone, catch-up, last and next tick,\n"
		"what a tick builds), its freshness policies and its eager jobs. The\n"
		"daemons (mount, serve) fire them; ticks are in UTC.\n",
	.tail = "exit status: 0 ok, 2 usage, graph or catalog error\n",
};

/* "2024-03-03T02:00:00Z" of t, or "-" when t is LLONG_MIN. */
static void add_tick(struct strbuf *out, long long t)
{
	if (t == LLONG_MIN)
		strbuf_addch(out, '-');
	else
		catalog_format_time((int64_t)t * 1000000, out);
}

static cJSON *tick_json(long long t)
{
	struct strbuf text = STRBUF_INIT;
	cJSON *item;

	if (t == LLONG_MIN)
		return cJSON_CreateNull();
	add_tick(&text, t);
	item = cJSON_CreateString(text.buf);
	strbuf_release(&text);
	return item;
}

/* The next tick of sc after now (not before its start), or LLONG_MIN. */
static long long next_tick(const struct schedule *sc, long long now)
{
	long long from = sc->start != LLONG_MIN && sc->start - 1 > now ? sc->start - 1 : now;
	long long t = cron_next(&sc->cron, &sc->tz, from);

	return t == -1 ? LLONG_MIN : t;
}

static cJSON *schedule_json(const struct schedule *sc, long long last, long long next)
{
	cJSON *o = cJSON_CreateObject();
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;

	cJSON_AddStringToObject(o, "name", sc->name);
	cJSON_AddStringToObject(o, "cron", sc->cron_text);
	cJSON_AddStringToObject(o, "timezone", sc->tz.name);
	json_add_string_or_null(o, "start", sc->start_text);
	cJSON_AddStringToObject(o, "catch_up", catch_up_name(sc->catch_up));
	cJSON_AddItemToObject(o, "build", json_strvec(&sc->build));
	cJSON_AddItemToObject(o, "last_tick", tick_json(last));
	cJSON_AddItemToObject(o, "next_tick", tick_json(next));
	if (next != LLONG_MIN && schedule_refs(sc, next, &refs, &err) == 0)
		cJSON_AddItemToObject(o, "next_refs", json_strvec(&refs));
	else
		cJSON_AddNullToObject(o, "next_refs");
	strvec_clear(&refs);
	strbuf_release(&err);
	return o;
}

static void schedule_text(const struct schedule *sc, long long last, long long next,
			  struct strbuf *out)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

	add_tick(&a, last);
	add_tick(&b, next);
	strbuf_addf(out, "%-12s %-16s %-14s %-8s %-20s  %-20s ", sc->name, sc->cron_text,
		    sc->tz.name, catch_up_name(sc->catch_up), a.buf, b.buf);
	for (size_t i = 0; i < sc->build.nr; i++)
		strbuf_addf(out, "%s%s", i ? " " : "", sc->build.v[i]);
	if (sc->start_text)
		strbuf_addf(out, "  (from %s)", sc->start_text);
	strbuf_addch(out, '\n');
	strbuf_release(&a);
	strbuf_release(&b);
}

int schedules_status(struct cli *cli, int have_catalog, cJSON *root, struct strbuf *out,
		     struct strbuf *err)
{
	const struct graph *g = &cli->graph;
	cJSON *list = root && g->schedules_nr ? cJSON_AddArrayToObject(root, "schedules") : NULL;
	long long now = now_s();

	for (size_t i = 0; i < g->schedules_nr; i++) {
		const struct schedule *sc = &g->schedules[i];
		long long last = LLONG_MIN, t, next = next_tick(sc, now);
		int r = have_catalog ? scheduler_last_tick(&cli->catalog, sc, &t, err) : 0;
		cJSON *o;

		if (r < 0)
			return -1;
		if (r)
			last = t;
		if (list) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", sc->name);
			cJSON_AddItemToObject(o, "last_tick", tick_json(last));
			cJSON_AddItemToObject(o, "next_tick", tick_json(next));
			cJSON_AddItemToArray(list, o);
			continue;
		}
		if (!out)
			continue;
		strbuf_addf(out, "schedule %s (%s, %s): last tick ", sc->name, sc->cron_text,
			    sc->tz.name);
		add_tick(out, last);
		strbuf_addstr(out, ", next tick ");
		add_tick(out, next);
		strbuf_addch(out, '\n');
	}
	return 0;
}

/* The schedules' part of the listing; -1 on a catalog error (printed). */
static int schedules_list(struct cli *cli, int have_catalog, int json, cJSON *root,
			  struct strbuf *out)
{
	const struct graph *g = &cli->graph;
	cJSON *list = cJSON_AddArrayToObject(root, "schedules");
	struct strbuf err = STRBUF_INIT;
	long long now = now_s();
	int ret = -1;

	if (!json && g->schedules_nr)
		strbuf_addf(out, "%-12s %-16s %-14s %-8s %-20s  %-20s %s\n", "SCHEDULE", "CRON",
			    "TIMEZONE", "CATCH_UP", "LAST TICK", "NEXT TICK", "BUILD");
	else if (!json)
		strbuf_addstr(out, "no schedules\n");
	for (size_t i = 0; i < g->schedules_nr; i++) {
		const struct schedule *sc = &g->schedules[i];
		long long last = LLONG_MIN, t;
		int r = have_catalog ? scheduler_last_tick(&cli->catalog, sc, &t, &err) : 0;

		if (r < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		if (r)
			last = t;
		if (json)
			cJSON_AddItemToArray(list, schedule_json(sc, last, next_tick(sc, now)));
		else
			schedule_text(sc, last, next_tick(sc, now), out);
	}
	ret = 0;
out:
	strbuf_release(&err);
	return ret;
}

/* Freshness policies and eager jobs. */
static void policies_list(const struct graph *g, int json, cJSON *root, struct strbuf *out)
{
	cJSON *fresh = cJSON_AddArrayToObject(root, "freshness");
	cJSON *eager = cJSON_AddArrayToObject(root, "eager");
	size_t eager_nr = 0;

	if (!json && g->freshness_nr)
		strbuf_addf(out, "\n%-32s %s\n", "FRESHNESS (DATASET)", "MAX_AGE");
	for (size_t i = 0; i < g->freshness_nr; i++) {
		const struct freshness_policy *f = &g->freshness[i];
		cJSON *o;

		if (!json) {
			strbuf_addf(out, "%-32s %s\n", f->dataset, f->max_age_text);
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "dataset", f->dataset);
		cJSON_AddStringToObject(o, "max_age", f->max_age_text);
		json_add_int64(o, "max_age_s", f->max_age_s);
		cJSON_AddItemToArray(fresh, o);
	}
	for (size_t i = 0; i < g->jobs_nr; i++) {
		if (!g->jobs[i].eager)
			continue;
		if (json)
			cJSON_AddItemToArray(eager, cJSON_CreateString(g->jobs[i].label));
		else
			strbuf_addf(out, "%s%s", eager_nr ? ", " : "\neager jobs: ",
				    g->jobs[i].label);
		eager_nr++;
	}
	if (!json && eager_nr)
		strbuf_addch(out, '\n');
}

static int schedules_run(struct cli *cli, int nargs, char **args, int json)
{
	struct strbuf out = STRBUF_INIT;
	cJSON *root = NULL;
	int have, ret = EXIT_USAGE;

	if (nargs > 0)
		return cli_error(EXIT_USAGE, "schedules: unexpected argument '%s' (see 'databuild "
				 "schedules --help')", args[0]);
	if (cli_load_graph(cli) < 0 || (have = cli_open_catalog_if_any(cli)) < 0)
		return EXIT_USAGE;
	root = cJSON_CreateObject();
	if (schedules_list(cli, have, json, root, &out) < 0)
		goto out;
	policies_list(&cli->graph, json, root, &out);
	if (json) {
		strbuf_reset(&out);
		json_print(root, &out);
		strbuf_addch(&out, '\n');
	}
	ret = cli_write_stdout(&out);
out:
	cJSON_Delete(root);
	strbuf_release(&out);
	return ret;
}

int cmd_schedules(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json,
			 "one JSON object: {\"schedules\": [{\"name\", \"cron\", \"timezone\",\n"
			 "\"last_tick\", \"next_tick\", ...}], \"freshness\": [...], \"eager\": [...]}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : schedules_run(cli, n, argv, json);
}

static void scheduler_log(void *arg, const char *line)
{
	fprintf(stderr, "databuild: scheduler: %s\n", line);
}

int cli_scheduler_start(struct cli *cli, const char *catalog_location,
			struct cli_scheduler *cs, struct strbuf *err)
{
	struct scheduler_opts o = { .graph = &cli->graph, .store = &cli->store,
				    .catalog_location = catalog_location, .build_argv = NULL,
				    .build_envp = NULL, .interval_ms = 0, .log = scheduler_log,
				    .log_arg = NULL };

	cs->s = NULL;
	strvec_init(&cs->argv);
	strvec_init(&cs->envp);
	/*
	 * Started even for a graph with nothing to schedule yet: the
	 * scheduler follows the graph file, which may gain schedules.
	 */
	/* the backend's options go on the command line, each once */
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "DATABUILD_SLURM_OPTS=", 21))
			strvec_push(&cs->envp, *e);
	strvec_push(&cs->argv, "/proc/self/exe");
	strvec_pushv(&cs->argv, (const char *const[]){ "--graph", cli->graph.path, "--store",
						       cli->store.root, NULL });
	if (catalog_location && *catalog_location)
		strvec_pushv(&cs->argv, (const char *const[]){ "--catalog", catalog_location,
							       NULL });
	if (cli->backend.name)
		strvec_pushv(&cs->argv, (const char *const[]){ "--executor", cli->backend.name,
							       NULL });
	for (size_t i = 0; i < cli->backend.opts.nr; i++)
		strvec_pushv(&cs->argv, (const char *const[]){ "--slurm-opt",
							       cli->backend.opts.v[i], NULL });
	strvec_push(&cs->argv, "build");
	o.build_argv = cs->argv.v;
	o.build_envp = cs->envp.v;
	if (scheduler_start(&cs->s, &o, err) < 0) {
		strvec_clear(&cs->argv);
		strvec_clear(&cs->envp);
		return -1;
	}
	return 0;
}

void cli_scheduler_stop(struct cli_scheduler *cs)
{
	scheduler_stop(cs->s);
	cs->s = NULL;
	strvec_clear(&cs->argv);
	strvec_clear(&cs->envp);
}
