#ifndef DATABUILD_EXECUTOR_BACKEND_H
#define DATABUILD_EXECUTOR_BACKEND_H

#include "core/strbuf.h"
#include "executor/executor.h"

/*
 * Where one run executes. The loop (executor.c) owns scheduling, staging,
 * leases and publishing; a backend only starts the run, stops it, and says
 * how it ended. Either way the run is watched through a local child process
 * (n->pid, n->pidfd in the loop's poll set): the job itself (local.c) or
 * the `srun` that runs it as a Slurm job (slurm.c). The job sees the same
 * protocol under every backend: argv = exec + config.args, stdin = the
 * JobConfig JSON, stdout and stderr -> the run's log, cwd = the graph's
 * directory, environment from xrun_exec_env.
 *
 * A backend is opaque to the rest of the executor: what it keeps lives in
 * x->backend_state (per executor_run, from open) and n->backend_state (per
 * run, from spawn). Adding one means writing its file and adding it to the
 * table in backend.c.
 */
struct xrun;
struct xnode;

/* How a run's child ended, as the job's own exit would be reported. */
struct run_end {
	int status;          /* exit status (>= 0) or -signal */
	int timed_out;       /* the scheduler enforced the time limit */
	struct strbuf why;   /* non-empty: the run could not be run at all (the reason) */
};
#define RUN_END_INIT { .status = 0, .timed_out = 0, .why = STRBUF_INIT }

/*
 * How hard a run is asked to end, in increasing order; the loop sends each
 * level at most once per run.
 */
enum stop_level {
	STOP_NONE,        /* not asked (struct xnode only; never passed to stop) */
	/*
	 * Let the job clean up. local: SIGTERM to its process group. slurm:
	 * SIGTERM to srun, which forwards it (a pending job is withdrawn).
	 */
	STOP_TERM,
	/*
	 * End it now (a timeout, the end of a cancel's grace). local: SIGKILL
	 * to its process group. slurm: SIGKILL to the job's step, the job
	 * cancelled, SIGINT to srun (which then ends).
	 */
	STOP_KILL,
	/*
	 * End the local child whatever the job does (STOP_FORCE_MS after
	 * STOP_KILL, or the loop failed). local: as STOP_KILL. slurm: SIGKILL
	 * to srun's process group, and the job killed again in case it
	 * outlived it.
	 */
	STOP_KILL_CHILD,
};

struct backend {
	const char *name;    /* as --executor names it */
	/*
	 * Whether the backend can run jobs here: 0, or -1 with err naming what
	 * is missing. NULL: always.
	 */
	int (*check)(const struct backend_opts *b, struct strbuf *err);
	/* The default bound on runs in flight (-j). */
	int (*default_jobs)(void);
	/*
	 * Per executor_run state from the user's options b (may be NULL) and
	 * this host's name, kept in x->backend_state until close(state).
	 * Both NULL: the backend keeps none.
	 */
	void *(*open)(const struct backend_opts *b, const char *host);
	void (*close)(void *state);
	/*
	 * Starts n's run with stdin in_fd and stdout+stderr log_fd (both are
	 * closed by the caller afterwards): sets n->pid, n->pidfd and
	 * n->backend_state. 0, or -1 with err (nothing left running, no state).
	 * Every run started is reaped exactly once.
	 */
	int (*spawn)(struct xrun *x, struct xnode *n, int in_fd, int log_fd, struct strbuf *err);
	/*
	 * Asks n's run to end at level (never STOP_NONE). Never waits for the
	 * job; the pidfd still reports the end.
	 */
	void (*stop)(struct xrun *x, struct xnode *n, enum stop_level level);
	/*
	 * n's child exited (pidfd readable): kills what it left behind, reaps
	 * it (waitpid on n->pid), fills end (initialised by the caller) and
	 * frees n->backend_state. Reads the log if it must.
	 */
	void (*reap)(struct xrun *x, struct xnode *n, struct run_end *end);
};

extern const struct backend backend_local;
extern const struct backend backend_slurm;

/*
 * The backend b names (NULL or no name: local). Names are checked with
 * executor_backend_known where the user gives them; an unknown one runs
 * locally.
 */
const struct backend *backend_get(const struct backend_opts *b);

#endif
