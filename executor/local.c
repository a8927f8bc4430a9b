#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/backend.h"
#include "executor/internal.h"

/*
 * The local backend: the job is a child process of this host, in its own
 * process group; stopping it signals the group, and when its leader exits
 * whatever the group still holds is killed.
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
	ret = spawn_child(n, argv.v, env.v, 0, in_fd, log_fd, x->g->dir, err);
	strvec_clear(&argv);
	strvec_clear(&env);
	return ret;
}

static void local_stop(struct xrun *x, struct xnode *n, int hard)
{
	(void)x;
	kill(-n->pid, hard ? SIGKILL : SIGTERM);
}

static void local_reap(struct xrun *x, struct xnode *n, struct run_end *end)
{
	int st = 0;

	(void)x;
	kill(-n->pid, SIGKILL);
	while (waitpid(n->pid, &st, 0) < 0 && errno == EINTR)
		;
	end->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
}

const struct backend backend_local = {
	.name = "local",
	.spawn = local_spawn,
	.stop = local_stop,
	.reap = local_reap,
};
