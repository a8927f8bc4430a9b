#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
	{ "build",     cmd_build,     "plan and run the jobs that produce REF..." },
	{ "cat",       cmd_cat,       "materialize REF... if needed and write the bytes to stdout" },
	{ "plan",      cmd_plan,      "print the job graph that would produce REF..." },
	{ "exec",      cmd_exec,      "configure and run just the job(s) of REF... (inputs must be live)" },
	{ "mount",     cmd_mount,     "serve the store as a filesystem at MOUNTPOINT" },
	{ "umount",    cmd_umount,    "unmount MOUNTPOINT (also after its daemon died)" },
	{ "ls",        cmd_ls,        "list partitions in the catalog" },
	{ "show",      cmd_show,      "print a partition's status and manifest" },
	{ "path",      cmd_path,      "print the store path of a live partition's data" },
	{ "events",    cmd_events,    "print the event log as JSON lines" },
	{ "taint",     cmd_taint,     "mark partitions (and their downstream) for rebuilding" },
	{ "lookup",    cmd_lookup,    "print the job that produces each REF" },
	{ "configure", cmd_configure, "print the JobConfigs that configure returns for REF..." },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: databuild [--graph FILE] [--store DIR] [--catalog URL] [--executor local|slurm]\n"
		"                 [--slurm-opt OPT]... COMMAND [ARGS...]\n"
		"\n"
		"A data build system: reading a partition builds it.\n"
		"\n"
		"global options:\n"
		"  --graph FILE    the graph file ($DATABUILD_GRAPH, default ./databuild.json)\n"
		"  --store DIR     the store ($DATABUILD_STORE, default .databuild/ beside the graph)\n"
		"  --catalog URL   the catalog ($DATABUILD_CATALOG, default the SQLite file in the store;\n"
		"                  postgresql://... for a shared PostgreSQL catalog)\n"
		"  --executor NAME where jobs run: local (default) or slurm, one Slurm job per run\n"
		"                  ($DATABUILD_EXECUTOR)\n"
		"  --slurm-opt OPT an option passed to srun verbatim for every run: partition,\n"
		"                  account, CPUs, memory (repeatable; $DATABUILD_SLURM_OPTS adds\n"
		"                  whitespace-separated ones)\n"
		"  -v, --verbose   say more\n"
		"  -h, --help      this text; `databuild COMMAND --help` for a command\n"
		"  --version       print the version\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nexit status: 0 ok, 1 build failed, 2 usage or configuration error, "
		   "130 interrupted\n");
}

/*
 * A run holds one lease descriptor per output; a job with thousands of
 * outputs needs more than the customary soft limit of 1024.
 */
#define FD_LIMIT_WANTED 65536

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FD_LIMIT_WANTED &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < FD_LIMIT_WANTED ? rl.rlim_max : FD_LIMIT_WANTED;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --executor / $DATABUILD_EXECUTOR: 0, or -1 (printed; exit 2). */
static int executor_option(struct cli *cli, const char *name, const char *value)
{
	int k = executor_kind_parse(value);

	if (k < 0)
		return cli_error(-1, "%s: unknown executor '%s' (expected 'local' or 'slurm')",
				 name, value);
	cli->executor = (enum executor_kind)k;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cli_command *cmd = NULL;
	const char *executor = getenv("DATABUILD_EXECUTOR"), *executor_from = "DATABUILD_EXECUTOR";
	int i, ret = EXIT_USAGE;

	raise_fd_limit();
	cli.argv0 = argv[0];
	cli.graph_path = getenv("DATABUILD_GRAPH");
	cli.store_path = getenv("DATABUILD_STORE");
	cli.catalog_location = getenv("DATABUILD_CATALOG");
	strvec_init(&cli.slurm_opts);
	executor_split_opts(getenv("DATABUILD_SLURM_OPTS"), &cli.slurm_opts);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *v;
		int r;

		if ((r = cli_opt_value(NULL, argc, argv, &i, "--graph", &cli.graph_path)) ||
		    (r = cli_opt_value(NULL, argc, argv, &i, "--store", &cli.store_path)) ||
		    (r = cli_opt_value(NULL, argc, argv, &i, "--catalog", &cli.catalog_location))) {
			if (r < 0)
				goto out;
			continue;
		}
		if ((r = cli_opt_value(NULL, argc, argv, &i, "--executor", &executor))) {
			if (r < 0)
				goto out;
			executor_from = "option '--executor'";
			continue;
		}
		if ((r = cli_opt_value(NULL, argc, argv, &i, "--slurm-opt", &v))) {
			if (r < 0)
				goto out;
			strvec_push(&cli.slurm_opts, v);
			continue;
		}
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			cli.verbose++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			ret = EXIT_OK;
			goto out;
		} else if (!strcmp(argv[i], "--version")) {
			printf("databuild %s\n", DATABUILD_VERSION);
			ret = EXIT_OK;
			goto out;
		} else {
			cli_error(EXIT_USAGE, "unknown option '%s' (see 'databuild --help')", argv[i]);
			goto out;
		}
	}
	if (executor && *executor && executor_option(&cli, executor_from, executor) < 0)
		goto out;
	if (i >= argc) {
		usage(stderr);
		goto out;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, argv[i]))
			cmd = &commands[k];
	if (!cmd) {
		cli_error(EXIT_USAGE, "unknown command '%s' (see 'databuild --help')", argv[i]);
		goto out;
	}
	ret = cmd->fn(&cli, argc - i, argv + i);
out:
	cli_release(&cli);
	return ret;
}
