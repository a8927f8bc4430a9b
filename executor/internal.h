#ifndef DATABUILD_EXECUTOR_INTERNAL_H
#define DATABUILD_EXECUTOR_INTERNAL_H

#include <limits.h>
#include <sys/types.h>
#include "core/buildkey.h"
#include "core/manifest.h"
#include "core/strmap.h"
#include "executor/executor.h"

/*
 * State shared by the executor's files: executor.c (the loop), spawn.c
 * (starting one run) and publish.c (staging -> data -> catalog). Everything
 * lives in one struct xrun per executor_run call: no globals.
 */
struct xnode {
	const struct graph_node *gn;
	const struct job *job;
	enum node_state state;
	size_t unfinished;          /* producer nodes not yet done */
	int requested;              /* an output was asked for */
	int attempt;                /* runs started so far */
	int queued;                 /* in a ready queue */

	const char **sorted_outputs;  /* lease order */
	struct lease **leases;        /* held leases, in sorted_outputs order */
	size_t leases_held;
	long long lease_retry_ms;     /* waiting: next try */
	long lease_backoff_ms;

	/* the current run */
	char *run_id;
	char *log_path;
	char *staging;
	pid_t pid;
	int pidfd;
	long long start_us, start_ms, deadline_ms;
	int timed_out;
	int wstatus;
	struct manifest *m;         /* inputs + key at start; outputs at publish */

	struct strbuf error;        /* failed / skipped / cancelled: why */
	long long duration_us;
};

struct xrun {
	const struct graph *g;
	struct catalog *c;
	const struct store *s;
	const struct job_graph *plan;
	const struct executor_opts *o;
	struct build_summary *sum;

	struct xnode *nodes;
	size_t nr;
	size_t *users;              /* CSR: consumers of node i are */
	size_t *users_off;          /* users[users_off[i] .. users_off[i + 1]) */

	size_t *ready, ready_head, ready_tail;  /* unfinished == 0, not started */
	size_t *prio, prio_head, prio_tail;     /* leases held, waiting for a slot */
	size_t *waiting, waiting_nr;            /* on another builder's lease */
	size_t *running, running_nr;
	size_t *batch, batch_nr;                /* exited 0, staged, not yet synced */
	size_t finished;
	size_t unanswered;          /* requested refs neither planned nor live */

	int jobs;
	int stopping;               /* a failure without keep_going */
	int cancelling;
	long long kill_ms;          /* cancelling: SIGKILL what still runs */
	int killed;

	struct keyer keyer;
	struct strmap requested;    /* ref -> (void *)1 */
	int data_fd;                /* <store>/data, for syncfs */
	char host[HOST_NAME_MAX + 1];
	int64_t build_id;
	int64_t event_seq;          /* events_out: written up to this seq; -1 unset */
	struct strmap abandoned;    /* run ids of dead builders this run settled */
};

/* spawn.c: starts n's run (catalog_begin_run, staging, log, posix_spawn). */
int xrun_spawn(struct xrun *x, struct xnode *n, struct strbuf *err);
/* spawn.c: the job's argv / envp for a run (exposed for executor_exec). */
void xrun_exec_env(const struct xnode *n, const struct store *s, struct strvec *env);

/*
 * publish.c: checks and moves a run's declared outputs from staging into
 * <store>/data and fills n->m's outputs. On a bad output appends the reason
 * (naming the partition) to why and returns -1; nothing is moved then.
 */
int publish_stage(struct xrun *x, struct xnode *n, struct strbuf *why);
/* publish.c: one syncfs for the batch, then catalog_publish per run. */
int publish_commit(struct xrun *x, struct xnode *n, struct strbuf *err);
/* publish.c: catalog_publish_batch for every node of the batch (all or none). */
int publish_commit_batch(struct xrun *x, struct strbuf *err);
int publish_sync(struct xrun *x, struct strbuf *err);
/*
 * publish.c: after taking the leases of n, settles a previous builder's
 * death (abandoned run; re-hash live data) and sets *fresh if every output
 * is live (and, with FRESH_KEYS, has n->m->build_key). 0 or -1 with err.
 */
int publish_reconcile(struct xrun *x, struct xnode *n, int *fresh, struct strbuf *err);

/* executor.c: appends a catalog event of this build (errors are ignored). */
void xrun_event(struct xrun *x, const char *type, const char *ref, const char *run_id,
		const char *payload);

/*
 * executor.c: executor_run, writing to opts->events_out every event of
 * opts->build_id with seq > *seq (-1: from the executor's first own event
 * on); *seq is left at the last event written.
 */
int executor_run_from(const struct graph *g, struct catalog *c, const struct store *s,
		      const struct job_graph *plan, const struct executor_opts *opts,
		      int64_t *seq, struct build_summary *sum, struct strbuf *err);
/*
 * executor.c: writes to f the events after *seq of build_id or of a run in
 * runs (may be NULL).
 */
void events_flush(struct catalog *c, FILE *f, int64_t build_id, const struct strmap *runs,
		  int64_t *seq);

#endif
