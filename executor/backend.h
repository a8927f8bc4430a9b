#ifndef DATABUILD_EXECUTOR_BACKEND_H
#define DATABUILD_EXECUTOR_BACKEND_H

#include "core/strbuf.h"

/*
 * Where one run executes. The loop (executor.c) owns scheduling, staging,
 * leases and publishing; a backend only starts the run, stops it, and says
 * how it ended. Either way the run is watched through a local child process
 * (n->pid, n->pidfd in the loop's poll set): the job itself (local.c) or
 * the `srun` that runs it as a Slurm job (slurm.c). The job sees the same
 * protocol under every backend: argv = exec + config.args, stdin = the
 * JobConfig JSON, stdout and stderr -> the run's log, cwd = the graph's
 * directory, environment from xrun_exec_env.
 */
struct xrun;
struct xnode;

/* How a run's child ended, as the job's own exit would be reported. */
struct run_end {
	int status;          /* exit status (>= 0) or -signal */
	int timed_out;       /* the scheduler enforced the time limit */
	struct strbuf why;   /* non-empty: the run could not be run at all (the reason) */
};

struct backend {
	const char *name;
	/*
	 * Starts n's run with stdin in_fd and stdout+stderr log_fd (both are
	 * closed by the caller afterwards): sets n->pid and n->pidfd. 0, or -1
	 * with err (nothing left running).
	 */
	int (*spawn)(struct xrun *x, struct xnode *n, int in_fd, int log_fd, struct strbuf *err);
	/*
	 * Asks n's run to end: hard 0 lets the job clean up (SIGTERM), hard 1
	 * ends it now (SIGKILL), hard 2 kills the local child whatever the job
	 * does. Never waits for the job; the pidfd still reports the end.
	 */
	void (*stop)(struct xrun *x, struct xnode *n, int hard);
	/*
	 * n's child exited (pidfd readable): kills what it left behind, reaps
	 * it (waitpid on n->pid) and fills end. Reads the log if it must.
	 */
	void (*reap)(struct xrun *x, struct xnode *n, struct run_end *end);
};

extern const struct backend backend_local;
extern const struct backend backend_slurm;

/*
 * slurm.c, for executor_check: srun, scancel and scontrol in PATH, a
 * readable SLURM_CONF if it is set, `scontrol ping` answering UP. 0, or
 * -1 with err naming what is missing.
 */
int slurm_check(struct strbuf *err);

#endif
