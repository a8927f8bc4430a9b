#ifndef DATABUILD_CLI_H
#define DATABUILD_CLI_H

#include <stdio.h>
#include "catalog/catalog.h"
#include "core/graph.h"
#include "core/store.h"
#include "core/strbuf.h"
#include "executor/executor.h"

/*
 * The command layer: the only code that prints usage, talks to the
 * terminal and exits. Exit codes: 0 ok, 1 build failed, 2 usage or
 * configuration error (130 when interrupted).
 */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_INTERRUPTED = 130,
};

/* Global options, parsed before the subcommand name. */
struct cli {
	const char *argv0;
	const char *graph_path;        /* --graph, $DATABUILD_GRAPH, ./databuild.json */
	const char *store_path;        /* --store, $DATABUILD_STORE, <graph dir>/.databuild */
	const char *catalog_location;  /* --catalog, $DATABUILD_CATALOG (NULL: SQLite in store) */
	enum executor_kind executor;   /* --executor, $DATABUILD_EXECUTOR (default local) */
	struct strvec slurm_opts;      /* $DATABUILD_SLURM_OPTS words, then each --slurm-opt */
	int verbose;

	/* Loaded on demand by cli_load_*; released by cli_release. */
	struct graph graph;
	int graph_loaded;
	struct store store;
	int store_opened;
	struct catalog catalog;
	int catalog_opened;
};

struct cli_command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

/* Each returns 0, or prints "databuild: <message>" and returns -1. */
int cli_load_graph(struct cli *cli);
int cli_open_store(struct cli *cli);      /* loads the graph too if no --store */
int cli_open_catalog(struct cli *cli);    /* opens the store too */
void cli_release(struct cli *cli);
/*
 * Before a command runs jobs: executor_check of cli->executor. 0, or
 * prints "databuild: <what is missing>" and returns -1 (exit 2).
 */
int cli_check_executor(struct cli *cli);

/* "databuild: <fmt>\n" on stderr. Returns `code` for `return cli_error(2, ...)`. */
__attribute__((format(printf, 2, 3)))
int cli_error(int code, const char *fmt, ...);
/* Prints "databuild: <err>" (err may be multi-line) and returns code. */
int cli_fail(int code, const struct strbuf *err);

/*
 * Shared option parsing helpers. cli_wants_help: argv contains -h/--help.
 * cli_parse_long: strict integer, prints an error naming the option.
 */
int cli_wants_help(int argc, char **argv);
int cli_parse_long(const char *opt, const char *text, long min, long max, long *out);
/*
 * "NAME VALUE" or "NAME=VALUE" at argv[*i] (*i moves past VALUE): 1 and *out
 * set, 0 not this option, -1 (printed, "[CMD: ]option 'NAME' needs a value").
 */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
		  const char **out);
/* cli_opt_value, then cli_parse_long of the value into *out: 1, 0, or -1 (printed). */
int cli_opt_long(int argc, char **argv, int *i, const char *name, long min, long max,
		 long *out);
/*
 * Arguments "REF [--json]" of the command argv[0]: sets *ref and *json,
 * validates REF, opens the catalog and reads REF's partition into p.
 * 1 found, 0 not in the catalog, -1 (printed; exit 2).
 */
int cli_ref_partition(struct cli *cli, int argc, char **argv, const char **ref, int *json,
		      struct partition *p);

/*
 * The build runner of build, cat and exec (cli/build.c): SIGINT/SIGTERM
 * cancel it (exit 130). exec_mode: executor_exec instead of
 * executor_build; progress NULL: quiet; quiet_summary: no summary line
 * unless something failed. Returns an exit code.
 */
int build_refs_run(struct cli *cli, int exec_mode, const struct strvec *refs,
		   struct executor_opts *o, FILE *progress, int quiet_summary);
/*
 * Options common to build, cat and exec at argv[*i]: -j N, --events FILE.
 * *matched = 1 if it was one. 0, or -1 (printed) on a bad value.
 */
int build_parse_common(int argc, char **argv, int *i, struct executor_opts *o,
		       const char **events_path, int *matched);
/* A ref argument: validated and appended once. -1 (printed) if invalid. */
int build_collect_refs(const char *arg, struct strvec *refs);
/*
 * The arguments "[-j N] [--events FILE] REF..." of build, cat and exec
 * (--events with BUILD_ARGS_EVENTS; -k, --force, --freshness with
 * BUILD_ARGS_BUILD) into refs, o and *events_path: 0, 1 after printing help
 * on --help, -1 (printed, usage on stderr when no REF; exit 2).
 */
enum {
	BUILD_ARGS_EVENTS = 1 << 0,
	BUILD_ARGS_BUILD = 1 << 1,
};
int build_args(int argc, char **argv, const char *help, unsigned flags, struct strvec *refs,
	       struct executor_opts *o, const char **events_path);
/* The command build, or exec with exec_mode: build_args, then build_refs_run. */
int build_cmd(struct cli *cli, int argc, char **argv, const char *help, int exec_mode);

/*
 * The arguments "[--json] [--timeout SECONDS] REF..." of lookup and
 * configure (--json only with as_json): collects refs once each, checks
 * them, loads the graph and sets *jobs (xcalloc'd; the caller frees) to the
 * job of each ref. 0, 1 after printing help on --help, -1 (printed; exit 2).
 */
int lookup_args(struct cli *cli, int argc, char **argv, const char *help,
		struct strvec *refs, long *timeout_s, int *as_json, const struct job ***jobs);

/* Subcommands, one file each under cli/. */
int cmd_lookup(struct cli *cli, int argc, char **argv);
int cmd_configure(struct cli *cli, int argc, char **argv);
int cmd_plan(struct cli *cli, int argc, char **argv);
int cmd_build(struct cli *cli, int argc, char **argv);
int cmd_cat(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_ls(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_taint(struct cli *cli, int argc, char **argv);
int cmd_path(struct cli *cli, int argc, char **argv);
int cmd_mount(struct cli *cli, int argc, char **argv);
int cmd_umount(struct cli *cli, int argc, char **argv);

#endif
