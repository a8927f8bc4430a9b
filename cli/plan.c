#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/proc.h"
#include "core/ref.h"
#include "planner/planner.h"

static const char usage[] =
	"usage: databuild plan [options] REF...\n"
	"\n"
	"Print the job graph that would produce the partitions REF...: the jobs to\n"
	"run, in dependency order, and why each runs. Nothing is built.\n"
	"\n"
	"options:\n"
	"  --format F           json, text, mermaid, dot, bash or ninja (default: text\n"
	"                       on a terminal, json otherwise)\n"
	"  --freshness MODE     keys (default): a live partition is reused only if its\n"
	"                       build key still matches; presence: live is enough\n"
	"  --force              run the jobs of REF... even if they are fresh\n"
	"  --data-dir DIR       bash and ninja (required): the script reads inputs from\n"
	"                       and writes outputs to DIR, and plans as if nothing were\n"
	"                       built yet (the catalog is not consulted)\n"
	"  --timeout SECONDS    kill a configure (or lookup) after this long (default 60)\n"
	"  -h, --help           this text\n"
	"\n"
	"With -v, planning statistics are printed on stderr.\n"
	"\n"
	"exit status: 0 ok, 2 usage or planning error (cycle, overlap, failed lookup or\n"
	"configure, query input not live, bad graph)\n";

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

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct planner_stats stats = { 0 };
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT, data_dir = STRBUF_INIT;
	struct job_graph plan;
	struct catalog *catalog = NULL;
	const char *data_dir_arg = NULL;
	int format = isatty(1) ? PLAN_TEXT : PLAN_JSON;
	int opts_done = 0, ret = EXIT_USAGE;
	long timeout_s = 60;
	long long t0, cpu0;

	job_graph_init(&plan);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int r;

		if (opts_done || a[0] != '-' || !a[1]) {
			strvec_push(&refs, a);
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out;
		} else if (!strcmp(a, "--force")) {
			opts.force = 1;
		} else if ((r = cli_opt_long(argc, argv, &i, "--timeout", 1, 86400, &timeout_s))) {
			if (r < 0)
				goto out;
		} else if ((r = cli_opt_value(NULL, argc, argv, &i, "--format", &v))) {
			if (r < 0)
				goto out;
			if ((format = plan_format_parse(v)) < 0) {
				cli_error(EXIT_USAGE, "unknown format '%s' (json, text, mermaid, dot, "
					  "bash, ninja)", v);
				goto out;
			}
		} else if ((r = cli_opt_value(NULL, argc, argv, &i, "--freshness", &v))) {
			int f;

			if (r < 0)
				goto out;
			if ((f = freshness_parse(v)) < 0) {
				cli_error(EXIT_USAGE, "unknown freshness '%s' (keys, presence)", v);
				goto out;
			}
			opts.freshness = (enum freshness)f;
		} else if ((r = cli_opt_value(NULL, argc, argv, &i, "--data-dir", &v))) {
			if (r < 0)
				goto out;
			if (!*v) {
				cli_error(EXIT_USAGE, "option '--data-dir' needs a directory");
				goto out;
			}
			data_dir_arg = v;
		} else {
			cli_error(EXIT_USAGE, "unknown option '%s' (see 'databuild plan --help')", a);
			goto out;
		}
	}
	if (!refs.nr) {
		cli_error(EXIT_USAGE, "no REF given (see 'databuild plan --help')");
		goto out;
	}
	for (size_t i = 0; i < refs.nr; i++) {
		if (ref_validate(refs.v[i], &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
	}
	if (format == PLAN_BASH || format == PLAN_NINJA) {
		if (!data_dir_arg) {
			cli_error(EXIT_USAGE, "format '%s' needs --data-dir DIR (where the script "
				  "reads inputs and writes outputs)",
				  format == PLAN_BASH ? "bash" : "ninja");
			goto out;
		}
		absolute(data_dir_arg, &data_dir);
		opts.ignore_catalog = 1;
	} else if (data_dir_arg) {
		cli_error(EXIT_USAGE, "option '--data-dir' is for formats bash and ninja");
		goto out;
	}
	opts.configure_timeout_ms = timeout_s * 1000;
	if (cli_load_graph(cli) < 0)
		goto out;
	if (!opts.ignore_catalog && plan_catalog(cli, &catalog) < 0)
		goto out;

	t0 = mono_ms();
	cpu0 = cpu_ms();
	if (planner_plan(&cli->graph, catalog, &refs, &opts, &plan, &stats, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (cli->verbose)
		fprintf(stderr, "databuild: planned %zu job%s in %lld ms, %lld ms of cpu "
			"(%zu refs resolved, %zu configure calls, %zu pruned, freshness %s)\n",
			plan.nodes_nr, plan.nodes_nr == 1 ? "" : "s", mono_ms() - t0, cpu_ms() - cpu0,
			stats.refs_resolved, stats.configure_calls, stats.pruned,
			freshness_name(opts.freshness));
	if (plan_render(&cli->graph, &plan, (enum plan_format)format,
			data_dir.len ? data_dir.buf : NULL, &out, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) == EOF) {
		ret = cli_error(EXIT_FAILED, "cannot write the plan to stdout");
		goto out;
	}
	ret = EXIT_OK;
out:
	job_graph_release(&plan);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&out);
	strbuf_release(&data_dir);
	return ret;
}
