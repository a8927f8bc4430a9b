#include <signal.h>
#include <unistd.h>

#include "executor/backend.h"
#include "executor/contain.h"
#include "executor/internal.h"

/*
 * The local backend: the job is a child process of this host, in its own
 * process group; stopping it signals the group, and when its leader exits
 * whatever the group still holds is killed, and so is every process that
 * left the group but still carries the run's DATABUILD_OUTPUT_DIR
 * (contain_run).
 */

static int local_spawn(struct xrun *x, struct xnode *n, int in_fd, int log_fd,
		       struct strbuf *err)
{
	const struct job_config *cfg = &n->gn->config;
	struct strvec argv = STRVEC_INIT, env = STRVEC_INIT;
	int ret;

	strvec_copy(&argv, &n->job->exec);
	strvec_copy(&argv, &cfg->args);
	xrun_exec_env(n, x->s, &env);
	contain_mark(&n->mark);
	ret = spawn_child(n, argv.v, env.v, 0, in_fd, log_fd, x->g->dir, err);
	strvec_clear(&argv);
	strvec_clear(&env);
	return ret;
}

static void local_stop(struct xrun *x, struct xnode *n, enum stop_level level)
{
	(void)x;
	kill(-n->pid, level == STOP_TERM ? SIGTERM : SIGKILL);
}

static void local_reap(struct xrun *x, struct xnode *n, struct run_end *end)
{
	(void)x;
	end->status = child_status(child_reap(n->pid));
	contain_run(n->staging, n->pid, n->start_us, &n->mark);
}

/* The cores online: one run each. */
static int local_default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

const struct backend backend_local = {
	.name = "local",
	.default_jobs = local_default_jobs,
	.spawn = local_spawn,
	.stop = local_stop,
	.reap = local_reap,
};
