#ifndef DATABUILD_EXECUTOR_INTERNAL_H
#define DATABUILD_EXECUTOR_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <sys/types.h>
#include "model/buildkey.h"
#include "model/manifest.h"
#include "core/strmap.h"
#include "executor/backend.h"
#include "executor/contain.h"
#include "executor/executor.h"

/*
 * State shared by the executor's files: executor.c (the loop), spawn.c
 * (starting one run), the backends (local.c, slurm.c), publish.c (staging
 * -> data -> catalog) and syncer.c. Everything lives in one struct xrun
 * per executor_run call: no globals.
 */
struct xnode {
	const struct graph_node *gn;
	const struct job *job;
	enum node_state state;
	size_t unfinished;          /* producer nodes not yet done */
	int requested;              /* an output was asked for */
	int attempt;                /* runs started so far */
	int queued;                 /* in a ready queue */
	long long prechecked_ms;    /* when precheck_ready last looked it up (0: never) */
	unsigned long precheck_round;  /* the start_ready round of that look-up */
	int after_deferred;         /* its own or an input's event may still be kept (event_defer) */

	const char **sorted_outputs;  /* lease order */
	struct lease **leases;        /* held leases, in sorted_outputs order */
	size_t leases_held;
	long long lease_retry_ms;     /* waiting: next try */
	const char *lease_busy;       /* waiting: the output whose lease another holds */
	long lease_backoff_ms;

	/* the current run */
	char *run_id;
	char *log_path;
	char *staging;
	pid_t pid;
	int pidfd;
	long long start_us, start_ms, deadline_ms;
	int timed_out;
	enum stop_level stop_level; /* the highest stop sent (run_stop) */
	long long force_ms;         /* after STOP_KILL: STOP_KILL_CHILD at this time (0: none) */
	void *backend_state;        /* the backend's, from spawn to reap */
	struct contain_mark mark;   /* local: the pid allocator before the spawn (local_spawn) */
	struct manifest *m;         /* inputs at start; key at start or spawn; outputs at publish */
	int key_failed;             /* node_start: the key could not be computed (why: error) */

	struct strbuf error;        /* failed / skipped / cancelled: why */
	long long duration_us;
};

/*
 * syncer.c: a helper thread per executor_run that makes publishes durable
 * off the loop (group commit): the loop requests a sync of the files and
 * directories a batch of publishes wrote and polls done[0], one byte per
 * finished sync, meanwhile running more jobs; the thread also removes
 * finished runs' staging directories. Without the thread (start failed)
 * callers do both inline (sync_paths).
 */
struct syncer {
	pthread_t thread;
	int running;                /* thread started */
	pthread_mutex_t lock;       /* guards requested, quit, result, trash, files */
	pthread_cond_t cond;
	int fd;                     /* the store's data directory */
	int requested, quit;
	int result;                 /* errno of the last sync, 0 ok */
	struct strvec trash;        /* staging trees to give back */
	struct strvec files;        /* the requested sync */
	int done[2];
};
/* Batches of more files than this are made durable with one syncfs. */
#define SYNC_FILES_MAX 64
/*
 * Makes the data of files (published data files) durable: fdatasync of
 * each, or one syncfs(fd) when there are more than SYNC_FILES_MAX files.
 * Directory entries and manifests are not synced: see docs/reliability.md,
 * "Durability". 0 or the errno of the first failure.
 */
int sync_paths(int fd, const struct strvec *files);
/*
 * thread 0: no thread (a plan of one node has nothing to overlap with its
 * sync; the hand-off would only add latency); callers then work inline.
 */
int syncer_start(struct syncer *s, int fd, int thread);
/* Syncs files on the thread; takes its items (leaves it empty). */
void syncer_request(struct syncer *s, struct strvec *files);
/* After done[0] is readable: consumes the byte, returns the sync's errno. */
int syncer_collect(struct syncer *s);
/* Gives the staging tree at path (heap string, taken over) back soon
 * (store_staging_retire): on the thread, or now. */
void syncer_trash(struct syncer *s, char *path);
/* Drains the trash, joins the thread, frees everything. */
void syncer_stop(struct syncer *s);

struct xrun {
	const struct backend *backend;
	void *backend_state;        /* the backend's, from open to close */
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
	size_t *staged, staged_nr;              /* exited 0, moved to data/, not synced */
	size_t *inflight, inflight_nr;          /* covered by the sync under way */
	int syncing;                            /* a sync is under way */
	struct strvec sync_files;               /* data files the staged runs published */
	struct syncer syncer;
	int syncer_inited;
	size_t finished;
	size_t unanswered;          /* requested refs neither planned nor live */

	int jobs;
	long long lease_backoff_max_ms;  /* 100 ms, 1 s when the catalog notifies */
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

	unsigned long precheck_round;  /* start_ready calls so far */
	int contended;              /* a lease was busy or a planned node found live */

	/* job_up_to_date and lease_wait events not yet appended (events_settle), oldest first */
	struct event *deferred;
	size_t deferred_nr, deferred_alloc;
	long long deferred_ms;      /* when the oldest of them was found */
};

/*
 * executor.c: n's build key into n->m->build_key (and the files it read
 * into n->m->key_files), from the input hashes in n->m. 0, or -1 with err
 * and build_key empty.
 */
int xnode_key(struct xrun *x, struct xnode *n, struct strbuf *err);

/* spawn.c: starts n's run (catalog_begin_run, staging, log, posix_spawn). */
int xrun_spawn(struct xrun *x, struct xnode *n, struct strbuf *err);
/*
 * spawn.c, for the backends: starts argv (argv[0] looked up in PATH when
 * search is set) with envp as a run's child: stdin in_fd, stdout and
 * stderr log_fd, no other descriptor inherited, cwd dir, its own process
 * group, an empty signal mask and default dispositions. Sets n->pid and
 * n->pidfd. Returns 0, or -1 with err set ("cannot run 'ARGV0': ...");
 * nothing is left running then.
 */
int spawn_child(struct xnode *n, const char *const *argv, const char *const *envp, int search,
		int in_fd, int log_fd, const char *dir, struct strbuf *err);
/*
 * spawn.c: SIGKILL to pid's process group, then waits for pid (a child of
 * this process); returns its wait status.
 */
int child_reap(pid_t pid);
/* spawn.c: a wait status as a run's status: exit status, -signal, or -1. */
int child_status(int st);
/*
 * spawn.c: appends the last `bytes` of the file at path (may be NULL):
 * fewer if it is shorter, up to 2 * bytes if it grows meanwhile; nothing
 * if it cannot be read.
 */
void log_end(const char *path, size_t bytes, struct strbuf *out);
/* spawn.c: the job's environment for a run (the caller's + config env + DATABUILD_*). */
void xrun_exec_env(const struct xnode *n, const struct store *s, struct strvec *env);

/*
 * publish.c: checks and moves a run's declared outputs from staging into
 * <store>/data and fills n->m's outputs. On a bad output appends the reason
 * (naming the partition) to why and returns -1; nothing is moved then.
 */
int publish_stage(struct xrun *x, struct xnode *n, struct strbuf *why);
/* publish.c: catalog_publish of one run whose outputs are durable. */
int publish_commit(struct xrun *x, struct xnode *n, struct strbuf *err);
/* publish.c: catalog_publish_batch of nodes[0..nr) (all or none). */
int publish_commit_batch(struct xrun *x, const size_t *nodes, size_t nr, struct strbuf *err);
/*
 * publish.c: after taking the leases of n, settles a previous builder's
 * death (abandoned run; re-hash live data) and sets *fresh if every output
 * is live (and, with FRESH_KEYS, has n's build key, which it computes with
 * xnode_key if no output so far was missing). 0 or -1 with err.
 */
int publish_reconcile(struct xrun *x, struct xnode *n, int *fresh, struct strbuf *err);
/*
 * The run cache (restore.c), for a node whose outputs are not fresh: when
 * every output has a version published under the node's build key
 * (computed here if not yet) and its object is intact, restores them
 * (executor_restore_versions, EV_PARTITION_RESTORED). 1 restored, 0 not
 * (no such versions, --no-cache, --force on a requested node, a tainted
 * output, an object missing or changed), -1 with err.
 */
int xnode_restore(struct xrun *x, struct xnode *n, struct strbuf *err);

/*
 * executor.c: appends the JSON payload of a job's event to out:
 * {"node":NODE (node >= 0),"job":..,"outputs":[..],"reason":.. (reason non-NULL)}.
 */
void job_payload(struct strbuf *out, long node, const char *job, const struct strvec *outputs,
		 const char *reason);
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
