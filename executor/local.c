#include <errno.h>
#include <signal.h>
#include <spawn.h>
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
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid = -1;
	int r, ret = -1;

	strvec_copy(&argv, &n->job->exec);
	strvec_copy(&argv, &cfg->args);
	xrun_exec_env(n, x->s, &env);
	spawn_setup(&fa, &attr, in_fd, log_fd, x->g->dir);
	r = posix_spawn(&pid, argv.v[0], &fa, &attr, (char *const *)argv.v,
			(char *const *)env.v);
	if (r) {
		strbuf_addf(err, "cannot run '%s': %s", argv.v[0], strerror(r));
		goto out;
	}
	if (spawn_watch(n, pid, err) < 0)
		goto out;
	ret = 0;
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
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
