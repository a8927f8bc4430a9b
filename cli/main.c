#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
	{ "init",      cmd_init,      "write a small graph to start from (a source, a job in sh, one in Python)" },
	{ "build",     cmd_build,     "plan and run the jobs that produce REF..." },
	{ "cat",       cmd_cat,       "materialize REF... if needed and write the bytes to stdout" },
	{ "plan",      cmd_plan,      "print the job graph that would produce REF..." },
	{ "exec",      cmd_exec,      "configure and run just the job(s) of REF... (inputs must be live)" },
	{ "mount",     cmd_mount,     "serve the store as a filesystem at MOUNTPOINT" },
	{ "serve",     cmd_serve,     "serve the JSON API over HTTP (default 127.0.0.1:8707)" },
	{ "umount",    cmd_umount,    "unmount MOUNTPOINT (also after its daemon died)" },
	{ "reload",    cmd_reload,    "reload the graph file of the mount at MOUNTPOINT now" },
	{ "ls",        cmd_ls,        "list partitions in the catalog" },
	{ "status",    cmd_status,    "count each dataset's partitions by state, with a health bar" },
	{ "domains",   cmd_domains,   "list the graph's partition domains ('refresh' re-reads them)" },
	{ "schedules", cmd_schedules, "list the graph's schedules, freshness policies and eager jobs" },
	{ "show",      cmd_show,      "print a partition's status and manifest" },
	{ "path",      cmd_path,      "print the store path of a live partition's data" },
	{ "log",       cmd_log,       "print (or follow, -f) the log of a run, or of a partition's run" },
	{ "events",    cmd_events,    "print the event log as JSON lines" },
	{ "history",   cmd_history,   "list the versions of a partition (publishes, rollbacks, restores)" },
	{ "rollback",  cmd_rollback,  "make an earlier version of a partition current again" },
	{ "rm",        cmd_rm,        "remove partitions (their versions stay until gc)" },
	{ "gc",        cmd_gc,        "remove versions outside the retention policy and unused files" },
	{ "du",        cmd_du,        "print the store's space per dataset: current, history, shared" },
	{ "taint",     cmd_taint,     "mark partitions (and their downstream) for rebuilding" },
	{ "verify",    cmd_verify,    "rehash published data against its manifests; report damage" },
	{ "recover",   cmd_recover,   "rebuild the catalog from the store (after it was lost or emptied)" },
	{ "lookup",    cmd_lookup,    "print the job that produces each REF" },
	{ "configure", cmd_configure, "print the JobConfigs that configure returns for REF..." },
};

static const char usage_head[] =
	"usage: databuild [--graph FILE] [--store DIR] [--catalog URL] [--executor local|slurm]\n"
	"                 [--slurm-opt OPT]... COMMAND [ARGS...]\n"
	"\n"
	"A data build system: reading a partition builds it.\n";

/* The part of the usage after the global options: the commands. */
static void usage_tail(struct strbuf *out)
{
	strbuf_addstr(out, "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		strbuf_addf(out, "  %-10s  %s\n", commands[i].name, commands[i].summary);
	strbuf_addstr(out, "\nexit status: 0 ok, 1 build failed, 2 usage or configuration error, "
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
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (executor_backend_known(value, &err) < 0)
		ret = cli_error(-1, "%s: %s", name, err.buf);
	else
		cli->backend.name = value;
	strbuf_release(&err);
	return ret;
}

/* What the global options set beside struct cli. */
struct globals {
	const char *executor;       /* --executor, else $DATABUILD_EXECUTOR */
	const char *executor_from;  /* which of the two, for errors */
	int version;                /* --version */
};

/*
 * The global options of argv into cli and g. The number of arguments
 * left in argv[0..n) (the command and its arguments), or CLI_PARSE_*.
 */
static int parse_globals(struct cli *cli, struct globals *g, int argc, char **argv)
{
	const char *executor = NULL;
	struct strbuf tail = STRBUF_INIT;
	const struct cli_option options[] = {
		OPT_STRING(0, "graph", &cli->graph_path, "FILE",
			   "the graph file ($DATABUILD_GRAPH, default ./databuild.json)"),
		OPT_STRING(0, "store", &cli->store_path, "DIR",
			   "the store ($DATABUILD_STORE, default .databuild/ beside the graph)"),
		OPT_STRING(0, "catalog", &cli->catalog_location, "URL",
			   "the catalog ($DATABUILD_CATALOG, default the SQLite file in the store;\n"
			   "postgresql://... for a shared PostgreSQL catalog)"),
		{ .type = CLI_OPT_STRING, .long_name = "executor", .value = &executor,
		  .argh = "NAME", .choices = "local slurm",
		  .help = "where jobs run: local (default) or slurm, one Slurm job per run\n"
			  "($DATABUILD_EXECUTOR)" },
		OPT_STRVEC(0, "slurm-opt", &cli->backend.opts, "OPT",
			   "an option passed to srun verbatim for every run: partition,\n"
			   "account, CPUs, memory (repeatable; $DATABUILD_SLURM_OPTS adds\n"
			   "whitespace-separated ones)"),
		OPT_COUNT('v', "verbose", &cli->verbose, "say more"),
		OPT_HELP("this text; `databuild COMMAND --help` for a command"),
		OPT_FLAG(0, "version", &g->version, "print the version"),
		OPT_END(),
	};
	struct cli_usage u = { .cmd = NULL, .head = usage_head, .title = "global options:",
			       .tail = NULL };
	int n;

	usage_tail(&tail);
	u.tail = tail.buf;
	n = cli_parse_options(argc, argv, &u, options, CLI_PARSE_STOP_AT_NON_OPTION);
	if (n == 0 && !g->version)
		cli_usage_print(stderr, &u, options);
	if (executor) {
		g->executor = executor;
		g->executor_from = "option '--executor'";
	}
	strbuf_release(&tail);
	return n;
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, name))
			return &commands[k];
	return NULL;
}

/* The defaults of the global options, from the environment. */
static void read_environment(struct cli *cli, struct globals *g)
{
	cli->graph_path = getenv("DATABUILD_GRAPH");
	cli->store_path = getenv("DATABUILD_STORE");
	cli->catalog_location = getenv("DATABUILD_CATALOG");
	strvec_init(&cli->backend.opts);
	executor_split_opts(getenv("DATABUILD_SLURM_OPTS"), &cli->backend.opts);
	g->executor = getenv("DATABUILD_EXECUTOR");
	g->executor_from = "DATABUILD_EXECUTOR";
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct globals g = { .executor = NULL, .executor_from = NULL, .version = 0 };
	const struct cli_command *cmd;
	int n, ret = EXIT_USAGE;

	raise_fd_limit();
	cli.argv0 = argv[0];
	read_environment(&cli, &g);
	n = parse_globals(&cli, &g, argc, argv);
	if (n < 0) {
		ret = cli_parse_exit(n);
		goto out;
	}
	if (g.version) {
		printf("databuild %s\n", DATABUILD_VERSION);
		ret = EXIT_OK;
		goto out;
	}
	if (n == 0)
		goto out;
	if (g.executor && *g.executor && executor_option(&cli, g.executor_from, g.executor) < 0)
		goto out;
	cmd = find_command(argv[0]);
	if (!cmd) {
		cli_error(EXIT_USAGE, "unknown command '%s' (see 'databuild --help')", argv[0]);
		goto out;
	}
	ret = cmd->fn(&cli, n, argv);
out:
	cli_release(&cli);
	return ret;
}
