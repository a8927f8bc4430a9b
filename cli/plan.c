#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "cli/cli.h"
#include "core/proc.h"
#include "model/ref.h"
#include "planner/planner.h"

static const struct cli_usage usage = {
	.cmd = "plan",
	.head = "usage: databuild plan [options] REF...\n"
		"\n"
		"Print the job graph that would produce the partitions REF...: the jobs to\n"
		"run, in dependency order, and why each runs. Nothing is built.\n",
	.tail = "With -v, planning statistics are printed on stderr.\n"
		"\n"
		"exit status: 0 ok, 2 usage or planning error (cycle, overlap, failed lookup or\n"
		"configure, query input not live, bad graph)\n",
};

struct plan_args {
	struct planner_opts opts;  /* --freshness, --force; the rest by plan_check */
	int format;                /* --format: enum plan_format */
	const char *data_dir;      /* --data-dir */
	long timeout_s;            /* --timeout */
	struct strvec refs;        /* the REF arguments (plan_check) */
	struct strbuf data_path;   /* data_dir made absolute (plan_check) */
};

/* --format F into the int at opt->value. */
static int opt_format(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	int f = plan_format_parse(arg);

	if (f < 0) {
		strbuf_addf(err, "unknown format '%s' (json, text, mermaid, dot, bash, ninja)", arg);
		return -1;
	}
	*(int *)opt->value = f;
	return 0;
}

/* CPU time of this process (not of its children: configure, lookup), ms. */
static long long cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void absolute(const char *path, struct strbuf *out)
{
	char *cwd;

	if (path[0] != '/' && (cwd = getcwd(NULL, 0))) {
		strbuf_addstr(out, cwd);
		if (strcmp(cwd, "/"))
			strbuf_addch(out, '/');
		free(cwd);
	}
	strbuf_addstr(out, path);
	while (out->len > 1 && out->buf[out->len - 1] == '/')
		strbuf_setlen(out, out->len - 1);
}

/*
 * The catalog to plan against, or NULL when nothing can be live: a store
 * that does not exist yet is not created just to print a plan. That holds
 * for a shared catalog too (--catalog postgresql://...): partitions live
 * in the store's data, so none is live in a store that does not exist.
 */
static int plan_catalog(struct cli *cli, struct catalog **out)
{
	struct strbuf root = STRBUF_INIT;
	struct stat st;
	int ret = -1;

	*out = NULL;
	if (cli->store_path)
		strbuf_addstr(&root, cli->store_path);
	else
		strbuf_addf(&root, "%s/.databuild", cli->graph.dir);
	if (stat(root.buf, &st) < 0) {
		ret = 0;
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	*out = &cli->catalog;
	ret = 0;
out:
	strbuf_release(&root);
	return ret;
}

/* 0 if every ref is valid, else -1 (the first invalid one printed). */
static int refs_valid(const struct strvec *refs)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < refs->nr && !ret; i++)
		if (ref_validate(refs->v[i], &err) < 0)
			ret = cli_fail(-1, &err);
	strbuf_release(&err);
	return ret;
}

/* The refs, and the options that go together: 0, or -1 (printed; exit 2). */
static int plan_check(struct plan_args *a, int nargs, char **args)
{
	int script = a->format == PLAN_BASH || a->format == PLAN_NINJA;

	for (int i = 0; i < nargs; i++)
		strvec_push(&a->refs, args[i]);
	if (!a->refs.nr)
		return cli_error(-1, "no REF given (see 'databuild plan --help')");
	if (refs_valid(&a->refs) < 0)
		return -1;
	if (a->data_dir && !*a->data_dir)
		return cli_error(-1, "option '--data-dir' needs a directory");
	if (script && !a->data_dir)
		return cli_error(-1, "format '%s' needs --data-dir DIR (where the script reads "
				 "inputs and writes outputs)",
				 a->format == PLAN_BASH ? "bash" : "ninja");
	if (!script && a->data_dir)
		return cli_error(-1, "option '--data-dir' is for formats bash and ninja");
	return 0;
}

static void print_stats(const struct job_graph *plan, const struct planner_stats *stats,
			enum freshness freshness, long long t0, long long cpu0)
{
	fprintf(stderr, "databuild: planned %zu job%s in %lld ms, %lld ms of cpu "
		"(%zu refs resolved, %zu configure calls, %zu pruned, freshness %s)\n",
		plan->nodes_nr, plan->nodes_nr == 1 ? "" : "s", mono_ms() - t0, cpu_ms() - cpu0,
		stats->refs_resolved, stats->configure_calls, stats->pruned,
		freshness_name(freshness));
}

/* Plans a->refs and renders the plan into out: 0, or -1 (printed; exit 2). */
static int plan_render_refs(struct cli *cli, struct plan_args *a, struct strbuf *out)
{
	struct planner_stats stats = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct job_graph plan;
	struct catalog *catalog = NULL;
	long long t0, cpu0;
	int ret = -1;

	job_graph_init(&plan);
	if (cli_load_graph(cli) < 0)
		goto out;
	if (!a->opts.ignore_catalog && plan_catalog(cli, &catalog) < 0)
		goto out;
	t0 = mono_ms();
	cpu0 = cpu_ms();
	if (planner_plan(&cli->graph, catalog, &a->refs, &a->opts, &plan, &stats, &err) < 0)
		goto fail;
	if (cli->verbose)
		print_stats(&plan, &stats, a->opts.freshness, t0, cpu0);
	if (plan_render(&cli->graph, &plan, (enum plan_format)a->format,
			a->data_path.len ? a->data_path.buf : NULL, out, &err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	cli_fail(EXIT_USAGE, &err);
out:
	job_graph_release(&plan);
	strbuf_release(&err);
	return ret;
}

/* Plans the REF arguments with the options a and prints the plan: an exit code. */
static int plan_print(struct cli *cli, int nargs, char **args, struct plan_args *a)
{
	struct strbuf out = STRBUF_INIT;
	struct cli_refs in_space = CLI_REFS_INIT;
	int ret = EXIT_USAGE;

	if (plan_check(a, nargs, args) < 0 ||
	    cli_refs_expand(cli, &in_space, nargs, args, 0) < 0)  /* refs outside a domain */
		goto out;
	if (a->data_dir) {
		absolute(a->data_dir, &a->data_path);
		a->opts.ignore_catalog = 1;
	}
	a->opts.configure_timeout_ms = a->timeout_s * 1000;
	if (plan_render_refs(cli, a, &out) < 0)
		goto out;
	ret = EXIT_OK;
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) == EOF)
		ret = cli_error(EXIT_FAILED, "cannot write the plan to stdout");
out:
	cli_refs_release(&in_space);
	strvec_clear(&a->refs);
	strbuf_release(&a->data_path);
	strbuf_release(&out);
	return ret;
}

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	struct plan_args a = {
		.opts = PLANNER_OPTS_INIT, .format = isatty(1) ? PLAN_TEXT : PLAN_JSON,
		.data_dir = NULL, .timeout_s = 60, .refs = STRVEC_INIT, .data_path = STRBUF_INIT,
	};
	const struct cli_option options[] = {
		{ .type = CLI_OPT_CALLBACK, .long_name = "format", .value = &a.format, .argh = "F",
		  .cb = opt_format, .choices = "text json mermaid dot bash ninja",
		  .help = "json, text, mermaid, dot, bash or ninja (default: text\n"
			  "on a terminal, json otherwise)" },
		OPT_FRESHNESS(&a.opts.freshness,
			      "keys (default): a live partition is reused only if its\n"
			      "build key still matches; presence: live is enough"),
		OPT_FLAG(0, "force", &a.opts.force,
			 "run the jobs of REF... even if they are fresh"),
		OPT_STRING(0, "data-dir", &a.data_dir, "DIR",
			   "bash and ninja (required): the script reads inputs from\n"
			   "and writes outputs to DIR, and plans as if nothing were\n"
			   "built yet (the catalog is not consulted)"),
		OPT_TIMEOUT(&a.timeout_s,
			    "kill a configure (or lookup) after this long (default 120)"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : plan_print(cli, n, argv, &a);
}
