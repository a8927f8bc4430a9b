#ifndef DATABUILD_EXECUTOR_H
#define DATABUILD_EXECUTOR_H

#include <stdio.h>
#include "catalog/catalog.h"
#include "model/graph.h"
#include "model/jobgraph.h"
#include "store/store.h"
#include "planner/planner.h"

/*
 * The executor (docs/design/executor.md): runs a JobGraph with a bounded pool
 * of child processes, publishes outputs atomically into the store, records
 * runs, manifests and events in the catalog, and coalesces with every
 * other builder of the same partitions through catalog leases.
 *
 * One poll() loop watches the runs' pidfds, the sync thread, lease waiters
 * and the cancel fd; a node becomes ready when its count of unfinished
 * inputs reaches 0. Before a node runs, the executor takes the leases of
 * its outputs (waiting for other holders without blocking the loop),
 * re-reads the catalog, and recomputes the build key from its inputs'
 * actual hashes: if every output is already live with that key the node
 * is cut off (not run).
 *
 * Jobs (a child process of this host, or a Slurm job: struct
 * backend_opts): stdin = the JobConfig JSON, stdout+stderr ->
 * <store>/logs/<run_id>.log, environment = the caller's + config env +
 * DATABUILD_OUTPUT_DIR, DATABUILD_INPUT_DIR, DATABUILD_RUN_ID.
 * Publish: each declared output must be a regular file in staging; it is
 * hashed, made read-only, renamed into <store>/data, synced (once per batch:
 * fdatasync of the files and fsync of the directories they changed, or one
 * syncfs for a large batch), then catalog_publish() marks it live. Nothing
 * of a failed or cancelled run is published; staging is removed.
 */

/*
 * Where job runs execute, as the user chose it (--executor, --slurm-opt,
 * $DATABUILD_EXECUTOR, $DATABUILD_SLURM_OPTS). cli/ fills it; fs/ and the
 * executor pass it through unchanged, and only the named backend
 * (executor/backend.h) reads its options. "local" spawns each run as a
 * child process of this host; "slurm" makes each run a Slurm job (an
 * `srun` child per run). Staging, verification and publishing stay with
 * the executor either way.
 */
struct backend_opts {
	const char *name;     /* a backend's name; NULL: "local" */
	struct strvec opts;   /* the backend's options in order (srun options for slurm) */
};
#define BACKEND_OPTS_INIT { .name = NULL, .opts = STRVEC_INIT }
void backend_opts_release(struct backend_opts *b);
/* b's backend name ("local" when b or b->name is NULL). */
const char *backend_opts_name(const struct backend_opts *b);
/*
 * 0 if name names a backend; else -1 with err
 * "unknown executor 'NAME' (expected 'local' or 'slurm')".
 */
int executor_backend_known(const char *name, struct strbuf *err);
/*
 * Whether b's backend can run jobs here: 0, or -1 with err naming what is
 * missing (Slurm's commands, its configuration, an unreachable
 * controller: slurm runs `scontrol ping`); a caller checks once, before
 * builds. b may be NULL (local).
 */
int executor_check(const struct backend_opts *b, struct strbuf *err);
/* The default bound on runs in flight (-j) for b: cores, or 32 under Slurm. */
int executor_default_jobs(const struct backend_opts *b);
/* Appends the whitespace-separated words of text (NULL: none) to out. */
void executor_split_opts(const char *text, struct strvec *out);

enum node_state {
	NODE_PENDING,
	NODE_WAITING,     /* on another builder's lease */
	NODE_RUNNING,
	NODE_BUILT,       /* ran and published */
	NODE_UP_TO_DATE,  /* cut off: outputs live with the same build key */
	NODE_RESTORED,    /* run cache: earlier versions with its build key restored */
	NODE_FAILED,
	NODE_SKIPPED,     /* an upstream failed */
	NODE_CANCELLED,
};
const char *node_state_name(enum node_state s);

/* What happened to one node; passed to the callbacks and kept in results. */
struct node_report {
	size_t node;             /* index in the plan */
	const char *job;
	const struct strvec *outputs;
	enum node_state state;
	const char *run_id;      /* NULL if it never ran */
	const char *log_path;    /* NULL if it never ran */
	const char *error;       /* failed / skipped: one-paragraph reason, incl. stderr tail */
	long long duration_us;
	int attempt;             /* 1-based */
};

struct executor_opts {
	int jobs;                 /* runs in flight; <= 0: executor_default_jobs(backend) */
	int keep_going;           /* run everything not downstream of a failure */
	enum freshness freshness;
	int force;                /* run requested nodes even if cut off */
	int no_cache;             /* never restore outputs from the run cache */
	const char *requester;    /* "cli", "fs" (recorded on the build) */
	int cancel_fd;            /* readable => cancel (-1: none) */
	FILE *events_out;         /* every event also as JSON lines (may be NULL) */
	/*
	 * Called from the executor's thread, in order, for every state change:
	 * first once per planned node with NODE_PENDING (so a caller can count
	 * the total), then NODE_WAITING / NODE_RUNNING (once per attempt) and
	 * exactly one final state per node.
	 */
	void (*on_node)(const struct node_report *r, void *arg);
	/*
	 * Called once per requested or built output when its fate is known:
	 * as soon as it is published (or found live / up to date), or with
	 * ok == 0 and the reason when its node failed, was skipped or was
	 * cancelled. Every ref of the request gets exactly one call.
	 */
	void (*on_partition)(const char *ref, int ok, const char *error, void *arg);
	void *arg;
	/*
	 * executor_run only: the catalog build the runs belong to (0: none).
	 * executor_build / executor_exec create their own and ignore it.
	 */
	int64_t build_id;
	const struct backend_opts *backend;  /* where runs execute (NULL: local) */
	/*
	 * executor_build only. 0: the build is recorded before planning, so a
	 * request that needs no job is on record too (databuild build). 1: it
	 * is recorded once planning found a job to run, or failed; a request
	 * that live partitions answer leaves nothing in the catalog (reads:
	 * databuild cat, the mount).
	 */
	int record_if_work;
};
#define EXECUTOR_OPTS_INIT { .jobs = 0, .keep_going = 0, .freshness = FRESH_KEYS, \
			     .force = 0, .requester = "cli", .cancel_fd = -1, \
			     .events_out = NULL, .on_node = NULL, .on_partition = NULL, \
			     .arg = NULL, .build_id = 0, .backend = NULL, .record_if_work = 0 }

struct build_summary {
	size_t built, up_to_date, failed, skipped, cancelled, waited;
	size_t restored;          /* nodes whose outputs the run cache restored */
	int cancelled_by_request;
	struct strbuf errors;     /* one paragraph per failed node */
};
void build_summary_init(struct build_summary *s);
void build_summary_release(struct build_summary *s);

/*
 * Runs plan. Returns 0 if every node ended built, restored or up to date, 1 if some
 * failed or were skipped, 130 if cancelled, -1 on an internal error (err).
 */
int executor_run(const struct graph *g, struct catalog *c, const struct store *s,
		 const struct job_graph *plan, const struct executor_opts *opts,
		 struct build_summary *sum, struct strbuf *err);

/*
 * Plans and runs refs in one go (databuild build / cat, the mount): a
 * catalog build record, planner_plan with the same freshness and force,
 * executor_run. Planning errors, and a catalog that cannot record the
 * build, return 2 with err set; cancellation while planning returns 130.
 */
int executor_build(const struct graph *g, struct catalog *c, const struct store *s,
		   const struct strvec *refs, const struct executor_opts *opts,
		   struct build_summary *sum, struct strbuf *err);

/*
 * databuild exec: configure refs' job(s) and run exactly those configs
 * (no recursion); every input must already be live. Same returns.
 */
int executor_exec(const struct graph *g, struct catalog *c, const struct store *s,
		  const struct strvec *refs, const struct executor_opts *opts,
		  struct build_summary *sum, struct strbuf *err);

/*
 * Makes the versions vs[0..n) current again (databuild rollback, the run
 * cache): checks each object against the version's hash and size (the
 * bytes are read once: an object changed in place is never restored),
 * links it over data/<ref> (store_object_install) and records the
 * restore in one catalog transaction (catalog_restore_versions with
 * event and build_id). The caller holds the refs' leases. Returns 0, 1
 * if an object is missing or does not match (why says which; nothing
 * was changed), or -1 with err.
 */
int executor_restore_versions(struct catalog *c, const struct store *s,
			      const struct version *vs, size_t n, const char *event,
			      int64_t build_id, struct strbuf *why, struct strbuf *err);

#endif
