#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fd.h"
#include "core/clock.h"
#include "core/proc.h"
#include "store/staging.h"
#include "store/store.h"
#include "executor/backend.h"
#include "executor/internal.h"

extern char **environ;

static int env_overridden(const char *entry, const struct strvec *env)
{
	size_t n = strcspn(entry, "=");

	if ((n == 20 && !strncmp(entry, "DATABUILD_OUTPUT_DIR", n)) ||
	    (n == 19 && !strncmp(entry, "DATABUILD_INPUT_DIR", n)) ||
	    (n == 16 && !strncmp(entry, "DATABUILD_RUN_ID", n)))
		return 1;
	for (size_t i = 0; i < env->nr; i++)
		if (!strncmp(env->v[i], entry, n) && env->v[i][n] == '=')
			return 1;
	return 0;
}

void xrun_exec_env(const struct xnode *n, const struct store *s, struct strvec *env)
{
	const struct strvec *cenv = &n->gn->config.env;

	for (char **e = environ; e && *e; e++)
		if (!env_overridden(*e, cenv))
			strvec_push(env, *e);
	for (size_t i = 0; i < cenv->nr; i++)
		strvec_push(env, cenv->v[i]);
	strvec_pushf(env, "DATABUILD_OUTPUT_DIR=%s/out", n->staging);
	strvec_pushf(env, "DATABUILD_INPUT_DIR=%s", s->data_dir);
	strvec_pushf(env, "DATABUILD_RUN_ID=%s", n->run_id);
}

/*
 * The JobConfig as the run's stdin, returned open at offset 0: an anonymous
 * memory file (seekable like the config.json it replaced, and no inode to
 * create and remove on the store's file system per run), or, where memfd is
 * unavailable, <staging>/config.json.
 */
static int config_fd(const struct xnode *n, const char *config, size_t len,
		     struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	int fd = memfd_create("databuild-config", MFD_CLOEXEC);

	if (fd < 0) {
		strbuf_addf(&path, "%s/config.json", n->staging);
		fd = open(path.buf, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0 || write_all(fd, config, len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		strbuf_addf(err, "cannot write the config of run %s: %s", n->run_id,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	strbuf_release(&path);
	return fd;
}

/* The run's staging tree (store/staging.h); then its stdin (config_fd). */
static int staging_make(struct xrun *x, struct xnode *n, const char *config, size_t len,
			struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;

	if (store_staging_make(x->s, n->run_id, &n->gn->config.outputs, &path, err) < 0) {
		strbuf_release(&path);
		return -1;
	}
	n->staging = strbuf_detach(&path, NULL);
	return config_fd(n, config, len, err);
}

static void spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int in_fd,
			int log_fd, const char *dir)
{
	sigset_t none, deflt;

	posix_spawn_file_actions_init(fa);
	posix_spawn_file_actions_adddup2(fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(fa, log_fd, 1);
	posix_spawn_file_actions_adddup2(fa, log_fd, 2);
	/* not even a descriptor our caller leaked without close-on-exec */
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
	posix_spawn_file_actions_addchdir_np(fa, dir);
	posix_spawnattr_init(attr);
	sigemptyset(&none);
	proc_sigdefault(&deflt);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &deflt);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
}

int spawn_child(struct xnode *n, const char *const *argv, const char *const *envp, int search,
		int in_fd, int log_fd, const char *dir, struct strbuf *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;
	int r, ret = -1;

	spawn_setup(&fa, &attr, in_fd, log_fd, dir);
	r = (search ? posix_spawnp : posix_spawn)(&pid, argv[0], &fa, &attr, (char *const *)argv,
						  (char *const *)envp);
	if (r) {
		strbuf_addf(err, "cannot run '%s': %s", argv[0], strerror(r));
		goto out;
	}
	n->pid = pid;
	n->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (n->pidfd < 0) {
		strbuf_addf(err, "pidfd_open: %s", strerror(errno));
		child_reap(pid);
		goto out;
	}
	ret = 0;
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return ret;
}

int child_reap(pid_t pid)
{
	int st = 0;

	kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int child_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
}

void log_end(const char *path, size_t bytes, struct strbuf *out)
{
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	off_t size;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0 && lseek(fd, size > (off_t)bytes ? size - (off_t)bytes : 0, SEEK_SET) >= 0)
		strbuf_read_fd(out, fd, 2 * bytes);
	close(fd);
}

int xrun_spawn(struct xrun *x, struct xnode *n, struct strbuf *err)
{
	struct run_record run;
	struct strbuf config = STRBUF_INIT;
	cJSON *json = NULL;
	int in_fd = -1, log_fd = -1, ret = -1;

	run_record_init(&run);
	json = job_config_to_json(&n->gn->config);
	json_print(json, &config);
	strbuf_addch(&config, '\n');

	run.build_id = x->build_id;
	run.job = xstrdup(n->gn->job);
	run.config_json = xstrndup(config.buf, config.len - 1);
	run.host = xstrdup(x->host);
	run.start_us = now_us();
	strvec_copy(&run.outputs, &n->gn->config.outputs);
	if (catalog_begin_run(x->c, &run, err) < 0)
		goto out;
	n->attempt++;
	n->run_id = xstrdup(run.run_id);
	n->start_us = run.start_us;
	n->start_ms = mono_ms();
	n->deadline_ms = n->job->timeout_s > 0 ? n->start_ms + n->job->timeout_s * 1000LL : 0;
	n->timed_out = 0;
	n->stop_level = STOP_NONE;
	n->force_ms = 0;
	n->log_path = run.log_path;
	run.log_path = NULL;
	strbuf_reset(&n->error);

	in_fd = staging_make(x, n, config.buf, config.len, err);
	if (in_fd < 0)
		goto out;
	log_fd = open(n->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		strbuf_addf(err, "cannot create '%s': %s", n->log_path, strerror(errno));
		goto out;
	}
	if (x->backend->spawn(x, n, in_fd, log_fd, err) < 0)
		goto out;
	n->state = NODE_RUNNING;
	catalog_set_run_pid(x->c, n->run_id, (long)n->pid, err);
	strbuf_reset(err);
	ret = 0;
out:
	if (in_fd >= 0)
		close(in_fd);
	if (log_fd >= 0)
		close(log_fd);
	cJSON_Delete(json);
	run_record_release(&run);
	strbuf_release(&config);
	return ret;
}
