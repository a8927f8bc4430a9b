#ifndef DATABUILD_CLI_H
#define DATABUILD_CLI_H

#include <stdio.h>
#include "catalog/catalog.h"
#include "model/graph.h"
#include "store/store.h"
#include "core/strbuf.h"
#include "core/strmap.h"
#include "executor/executor.h"
#include "cli/options.h"

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
	struct backend_opts backend;   /* --executor, $DATABUILD_EXECUTOR (default local); options:
					  $DATABUILD_SLURM_OPTS words, then each --slurm-opt */
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
/*
 * For commands that only read: the catalog, unless the store does not
 * exist yet (nothing is live then, and a store is not created just to
 * say so). 1 opened, 0 no store, -1 (printed; exit 2).
 */
int cli_open_catalog_if_any(struct cli *cli);
void cli_release(struct cli *cli);
/*
 * Before a command runs jobs: executor_check of cli->backend. 0, or
 * prints "databuild: <what is missing>" and returns -1 (exit 2).
 */
int cli_check_executor(struct cli *cli);

/* "databuild: <fmt>\n" on stderr. Returns `code` for `return cli_error(2, ...)`. */
__attribute__((format(printf, 2, 3)))
int cli_error(int code, const char *fmt, ...);
/* Prints "databuild: <err>" (err may be multi-line) and returns code. */
int cli_fail(int code, const struct strbuf *err);
/* Writes out to stdout: EXIT_OK, or EXIT_FAILED ("cannot write to stdout"). */
int cli_write_stdout(const struct strbuf *out);

/* The exit code after cli_parse_options returned r < 0: 0 after help, else 2. */
static inline int cli_parse_exit(int r)
{
	return r == CLI_PARSE_HELP ? EXIT_OK : EXIT_USAGE;
}

/*
 * Options shared by several commands. cli_opt_freshness: a callback
 * setting the enum freshness at opt->value from "presence" or "keys".
 */
int cli_opt_freshness(const struct cli_option *opt, const char *arg, struct strbuf *err);
#define OPT_FRESHNESS(v, h) \
	{ .type = CLI_OPT_CALLBACK, .long_name = "freshness", .value = (v), .argh = "MODE", \
	  .cb = cli_opt_freshness, .choices = "presence keys", .help = (h) }
#define OPT_JOBS(v, h) OPT_INT('j', "jobs", (v), "N", 1, 4096, (h))
#define OPT_TIMEOUT(v, h) OPT_LONG(0, "timeout", (v), "SECONDS", 1, 86400, (h))

/*
 * The one REF argument of show and path (args[0..nargs), after their
 * options): validates it, opens the catalog and reads its partition into
 * p. 1 found, 0 not in the catalog, -1 (printed, "CMD: ..."; exit 2).
 */
int cli_ref_partition(struct cli *cli, const char *cmd, int nargs, char **args,
		      struct partition *p);

/*
 * REF arguments turned into refs (cli_refs_expand). Each argument is a
 * ref or, with CLI_REFS_SELECT, a selection over its job's domains: a
 * placeholder value may be a glob or a range (`report/date=2024-02-*`,
 * `report/date=2024-01-01..2024-03-31`; model/graph.h space_iter_init).
 * A plain ref that an output pattern claims must lie in its job's
 * partition space (the message is graph_resolve's: it names the variable,
 * the domain and its bounds); a ref no pattern claims, or two do, is kept
 * for the planner to report (or for the graph's lookup executable). A
 * glob over an open-ended variable and a selection of nothing are errors;
 * ".." in an open-ended value is ordinary text. Owned by the caller: CLI_REFS_INIT, cli_refs_release.
 */
struct cli_refs {
	struct strvec refs;      /* each ref once: argument order, then domain order */
	struct strvec prefixes;  /* per argument: the common prefix of its refs (a
				    catalog scan over them finds their states) */
	struct strmap seen;      /* ref -> (void *)(its index in refs + 1) */
	size_t selected;         /* refs the arguments named, repeats included */
	size_t selections;       /* arguments that were globs or ranges */
};
#define CLI_REFS_INIT { .refs = STRVEC_INIT, .prefixes = STRVEC_INIT, .seen = STRMAP_INIT, \
			.selected = 0, .selections = 0 }
enum cli_refs_flags {
	CLI_REFS_SELECT = 1 << 0,  /* globs and ranges are expanded */
};
/* Loads the graph and appends args[0..nargs) to r: 0, or -1 (printed; exit 2). */
int cli_refs_expand(struct cli *cli, struct cli_refs *r, int nargs, char **args,
		    unsigned flags);
void cli_refs_release(struct cli_refs *r);

/*
 * The build runner of build, cat and exec (cli/build.c): refs outside
 * their job's partition space are refused first (cli_refs_expand without
 * selections; exit 2). SIGINT/SIGTERM cancel it (exit 130). exec_mode:
 * executor_exec instead of executor_build; progress NULL: quiet;
 * quiet_summary: no summary line unless something failed. Returns an
 * exit code.
 */
int build_refs_run(struct cli *cli, int exec_mode, const struct strvec *refs,
		   struct executor_opts *o, FILE *progress, int quiet_summary);

/* What build, cat or exec were asked: their option tables point into it. */
struct build_request {
	struct executor_opts o;
	const char *events_path;  /* --events (build, exec) */
	struct strvec refs;       /* the REF arguments, validated, each once (build: refs or
				     selections, expanded by build_request_run) */
	unsigned only;            /* build --missing, --stale, --failed: the kept states
				     (1u << enum part_status each); 0: every state */
	int dry_run;              /* build --dry-run: print the selection, build nothing */
	int select;               /* build: REF arguments may be globs and ranges */
};
#define BUILD_REQUEST_INIT { .o = EXECUTOR_OPTS_INIT, .events_path = NULL, .refs = STRVEC_INIT, \
			     .only = 0, .dry_run = 0, .select = 0 }
/* The help text of -j, --jobs in build, cat and exec. */
extern const char build_jobs_help[];
#define OPT_EVENTS(v) \
	OPT_STRING(0, "events", (v), "FILE", "also write every build event to FILE as JSON lines")
/*
 * Parses argv against the table options (which point into r), then
 * collects the refs into r->refs. The number of refs (> 0), else r is
 * released and CLI_PARSE_HELP or CLI_PARSE_ERROR is returned (printed;
 * the usage on stderr when no REF is given).
 */
int build_request_parse(struct build_request *r, int argc, char **argv,
			const struct cli_usage *u, const struct cli_option *options);
void build_request_release(struct build_request *r);
/*
 * build (exec_mode: exec) of a parsed request: its arguments expanded
 * (cli_refs_expand; globs and ranges when r->select), kept by r->only,
 * printed for r->dry_run, else build_refs_run with progress on stdout and
 * --events FILE open. Releases r; an exit code.
 */
int build_request_run(struct cli *cli, struct build_request *r, int exec_mode);

/*
 * The REF arguments of lookup and configure (args[0..nargs), after their
 * options): collects them once each into refs, checks them, loads the
 * graph and sets *jobs (xcalloc'd; the caller frees) to the job of each
 * ref. 0, or -1 (printed; exit 2).
 */
int lookup_refs_jobs(struct cli *cli, const char *cmd, int nargs, char **args,
		     long timeout_s, struct strvec *refs, const struct job ***jobs);

/*
 * status (cli/status.c): the states it counts, tainted folded into stale
 * and missing for what the domain holds but the catalog does not. The
 * pure parts are here for tests/cli/test_status.c.
 */
enum status_state {
	STATUS_LIVE,
	STATUS_STALE,
	STATUS_FAILED,
	STATUS_BUILDING,
	STATUS_DAMAGED,
	STATUS_MISSING,
	STATUS_STATE_NR  /* the number of states, not one */
};
const char *status_state_name(enum status_state s);
enum status_state status_state_of(enum part_status s);
/* 1 if a status argument keeps dataset name: a glob over it, else a prefix of it. */
int status_arg_matches(const char *arg, const char *name);
/*
 * Health bars of width cells over total positions in domain order: one
 * cell per position when total <= width, else buckets of nearly equal
 * size. status_cell: the cell of pos; status_cell_size: positions in a
 * cell. status_cell_state: what a cell shows from its counts: the worst
 * of failed, damaged, building, stale if any; else live, missing, or
 * STATUS_CELL_PARTLY when both. status_bar appends one character per
 * cell (# live, ~ stale, X failed, > building, ! damaged, . missing,
 * + partly live), with ANSI colours when color.
 */
#define STATUS_CELL_PARTLY STATUS_STATE_NR
size_t status_cell(uint64_t pos, uint64_t total, size_t width);
uint64_t status_cell_size(size_t cell, uint64_t total, size_t width);
int status_cell_state(const uint64_t counts[STATUS_STATE_NR]);
void status_bar(const uint64_t (*cells)[STATUS_STATE_NR], size_t n, int color,
		struct strbuf *out);

/*
 * The daemons' scheduler (cli/schedules.c, scheduler/scheduler.h): when the
 * graph has schedules, freshness policies or eager jobs, starts a
 * scheduler thread whose builds run `/proc/self/exe --graph G --store S
 * [--catalog URL] [--executor E] [--slurm-opt O]... build REF...`.
 * catalog_location: the daemon's (absolute). cs->s stays NULL when there
 * is nothing to schedule. 0, or -1 with err. Call from the process that
 * stays (after a daemon's fork); cli_scheduler_stop before the graph and
 * store are released.
 */
struct scheduler;
struct cli_scheduler {
	struct scheduler *s;
	struct strvec argv;  /* the build command, owned */
	struct strvec envp;  /* its environment, owned */
};
int cli_scheduler_start(struct cli *cli, const char *catalog_location,
			struct cli_scheduler *cs, struct strbuf *err);
void cli_scheduler_stop(struct cli_scheduler *cs);

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
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_rollback(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_gc(struct cli *cli, int argc, char **argv);
int cmd_du(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_recover(struct cli *cli, int argc, char **argv);
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_log(struct cli *cli, int argc, char **argv);
int cmd_path(struct cli *cli, int argc, char **argv);
int cmd_mount(struct cli *cli, int argc, char **argv);
int cmd_umount(struct cli *cli, int argc, char **argv);
int cmd_reload(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_domains(struct cli *cli, int argc, char **argv);
int cmd_schedules(struct cli *cli, int argc, char **argv);
/*
 * For `databuild status`: the last and next tick of each schedule of the
 * graph, as root["schedules"] (root non-NULL) or as one line each
 * ("schedule NAME (CRON, TZ): last tick T, next tick T") appended to out.
 * Last ticks come from cli->catalog when have_catalog. 0, or -1 with err.
 */
int schedules_status(struct cli *cli, int have_catalog, cJSON *root, struct strbuf *out,
		     struct strbuf *err);

#endif
