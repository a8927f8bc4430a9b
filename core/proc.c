#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CHUNK 65536
#define EXIT_GRACE_MS 1000
#define NO_PIDFD_TICK_MS 20

long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Moves fd above 2 so that the spawn's dup2 onto 0..2 cannot clobber it. */
static int high_fd(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		return -1;
	p[0] = high_fd(p[0]);
	p[1] = high_fd(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		close_fd(&p[0]);
		close_fd(&p[1]);
		return -1;
	}
	return 0;
}

/* write(2) with SIGPIPE blocked in this thread and discarded if raised. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipeset, old, pending;
	int was_pending, e;
	ssize_t n;

	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipeset, &old);
	n = write(fd, buf, len);
	e = errno;
	if (n < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipeset, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		return high_fd((int)fd);
#endif
	(void)pid;
	return -1;
}

/* 1 once pid has exited (left a zombie, not reaped), 0 if running. */
static int has_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return errno == ECHILD;
	return si.si_pid == pid;
}

static int executable(const char *path)
{
	struct stat st;

	if (access(path, X_OK))
		return errno;
	if (stat(path, &st))
		return errno;
	return S_ISREG(st.st_mode) ? 0 : EACCES;
}

/*
 * Finds argv0 the way execvp does (in the caller's PATH when it has no
 * '/'), so that a missing or non-executable program is reported with its
 * errno even where posix_spawn cannot report exec failures.
 */
static int resolve(const char *argv0, struct strbuf *path)
{
	const char *dirs, *p;
	int e = ENOENT;

	if (strchr(argv0, '/')) {
		strbuf_addstr(path, argv0);
		return executable(argv0);
	}
	if (!*argv0)
		return ENOENT;
	dirs = getenv("PATH");
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (p = dirs;; p++) {
		const char *end = strchrnul(p, ':');
		int r;

		strbuf_reset(path);
		if (end == p)
			strbuf_addch(path, '.');
		else
			strbuf_add(path, p, (size_t)(end - p));
		strbuf_addf(path, "/%s", argv0);
		r = executable(path->buf);
		if (!r)
			return 0;
		if (r == EACCES)
			e = EACCES;
		if (!*end)
			break;
		p = end;
	}
	return e;
}

static int spawn(const struct proc_opts *opts, const char *path, int in_fd, int out_fd,
		 int err_fd, pid_t *pid)
{
	static const int sigdef[] = {
		SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGALRM,
		SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU,
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, def;
	char *const *envp = (char *const *)(opts->envp ? opts->envp : (const char *const *)environ);
	char *const *argv = (char *const *)opts->argv;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (opts->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
	sigemptyset(&mask);
	sigemptyset(&def);
	for (size_t i = 0; i < sizeof(sigdef) / sizeof(sigdef[0]); i++)
		sigaddset(&def, sigdef[i]);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* Reads what is available on *fd into sb; closes it at EOF or error. */
static void pump(int *fd, struct strbuf *sb)
{
	ssize_t n;

	strbuf_grow(sb, CHUNK);
	do
		n = read(*fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		close_fd(fd);
		return;
	}
	sb->len += (size_t)n;
	sb->buf[sb->len] = '\0';
}

int proc_run(const struct proc_opts *opts, struct proc_result *res, struct strbuf *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int pidfd = -1, ret = -1, killed = 0, exited = 0, status = 0, rc;
	long long start = mono_ms(), deadline = -1, grace = -1;
	struct strbuf path = STRBUF_INIT;
	size_t fed = 0;
	pid_t pid = -1;

	strbuf_reset(&res->out);
	strbuf_reset(&res->err);
	res->end = PROC_EXITED;
	res->status = 0;
	res->elapsed_ms = 0;
	res->limit = 0;
	if (!opts->argv || !opts->argv[0]) {
		strbuf_addstr(err, "cannot run a process: empty argv");
		goto out;
	}
	if ((opts->input && make_pipe(in)) || make_pipe(out) || make_pipe(errp)) {
		strbuf_addf(err, "cannot run '%s': pipe: %s", opts->argv[0], strerror(errno));
		goto out;
	}
	if (in[1] >= 0 && fcntl(in[1], F_SETFL, O_NONBLOCK)) {
		strbuf_addf(err, "cannot run '%s': fcntl: %s", opts->argv[0], strerror(errno));
		goto out;
	}
	rc = resolve(opts->argv[0], &path);
	if (!rc)
		rc = spawn(opts, path.buf, in[0], out[1], errp[1], &pid);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	if (rc) {
		pid = -1;
		res->end = PROC_SPAWN_FAILED;
		res->status = rc;
		ret = 0;
		goto out;
	}
	pidfd = open_pidfd(pid);
	if (opts->timeout_ms > 0)
		deadline = start + opts->timeout_ms;
	if (in[1] >= 0 && !opts->input_len)
		close_fd(&in[1]);

	while (!killed) {
		struct pollfd pfd[4];
		int nfd = 0, wait_ms = -1, in_i = -1, out_i = -1, err_i = -1, pid_i = -1;
		long long now = mono_ms();

		if (!exited && deadline >= 0 && now >= deadline) {
			res->end = PROC_TIMED_OUT;
			res->limit = (size_t)opts->timeout_ms;
			killed = 1;
			break;
		}
		if (exited && (now >= grace || (out[0] < 0 && errp[0] < 0)))
			break;
		if (!exited && pidfd < 0)
			wait_ms = NO_PIDFD_TICK_MS;   /* no pidfd: look for the exit on every tick */
		if (in[1] >= 0) {
			in_i = nfd;
			pfd[nfd++] = (struct pollfd){ in[1], POLLOUT, 0 };
		}
		if (out[0] >= 0) {
			out_i = nfd;
			pfd[nfd++] = (struct pollfd){ out[0], POLLIN, 0 };
		}
		if (errp[0] >= 0) {
			err_i = nfd;
			pfd[nfd++] = (struct pollfd){ errp[0], POLLIN, 0 };
		}
		if (pidfd >= 0 && !exited) {
			pid_i = nfd;
			pfd[nfd++] = (struct pollfd){ pidfd, POLLIN, 0 };
		}
		if (exited)
			wait_ms = (int)(grace - now);
		else if (deadline >= 0) {
			long long left = deadline - now;
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		rc = poll(pfd, (nfds_t)nfd, wait_ms);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			strbuf_addf(err, "cannot run '%s': poll: %s", opts->argv[0], strerror(errno));
			kill(-pid, SIGKILL);
			killed = 1;
			goto reap;
		}
		if (in_i >= 0 && pfd[in_i].revents) {
			size_t left = opts->input_len - fed;
			ssize_t n = write_nosigpipe(in[1], opts->input + fed, left > CHUNK ? CHUNK : left);

			if (n > 0)
				fed += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				close_fd(&in[1]);   /* the child closed its stdin: not an error */
			if (fed == opts->input_len)
				close_fd(&in[1]);
		}
		if (out_i >= 0 && pfd[out_i].revents)
			pump(&out[0], &res->out);
		if (err_i >= 0 && pfd[err_i].revents)
			pump(&errp[0], &res->err);
		if (opts->max_output &&
		    (res->out.len > opts->max_output || res->err.len > opts->max_output)) {
			res->end = PROC_TOO_MUCH_OUTPUT;
			res->limit = opts->max_output;
			if (res->out.len > opts->max_output)
				strbuf_setlen(&res->out, opts->max_output);
			if (res->err.len > opts->max_output)
				strbuf_setlen(&res->err, opts->max_output);
			killed = 1;
			break;
		}
		if (!exited && (pidfd < 0 || (pid_i >= 0 && pfd[pid_i].revents)) && has_exited(pid)) {
			/* the leader is a zombie: its pid cannot be reused yet */
			kill(-pid, SIGKILL);
			close_fd(&in[1]);
			exited = 1;
			grace = mono_ms() + EXIT_GRACE_MS;
		}
	}
	/* timed out, too much output, or the stragglers of an exited leader */
	kill(-pid, SIGKILL);
	ret = 0;
reap:
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			if (!ret) {
				strbuf_addf(err, "cannot run '%s': waitpid: %s%s", opts->argv[0],
					    strerror(errno),
					    errno == ECHILD ? " (SIGCHLD must not be ignored)" : "");
				ret = -1;
			}
			goto out;
		}
	}
	pid = -1;
	if (!killed || res->end == PROC_EXITED) {
		if (WIFEXITED(status)) {
			res->end = PROC_EXITED;
			res->status = WEXITSTATUS(status);
		} else if (WIFSIGNALED(status)) {
			res->end = PROC_SIGNALED;
			res->status = WTERMSIG(status);
		}
	}
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&pidfd);
	strbuf_release(&path);
	res->elapsed_ms = (long)(mono_ms() - start);
	return ret;
}

void proc_result_release(struct proc_result *res)
{
	strbuf_release(&res->out);
	strbuf_release(&res->err);
}

int proc_ok(const struct proc_result *res)
{
	return res->end == PROC_EXITED && res->status == 0;
}

void proc_describe(const struct proc_result *res, long timeout_ms, struct strbuf *out)
{
	switch (res->end) {
	case PROC_EXITED:
		strbuf_addf(out, "exited with status %d", res->status);
		break;
	case PROC_SIGNALED: {
		const char *d = sigdescr_np(res->status);
		if (d)
			strbuf_addf(out, "was killed by signal %d (%s)", res->status, d);
		else
			strbuf_addf(out, "was killed by signal %d", res->status);
		break;
	}
	case PROC_TIMED_OUT: {
		long long ms = timeout_ms > 0 ? timeout_ms : (long long)res->limit;
		if (ms % 1000 == 0)
			strbuf_addf(out, "timed out after %lld s", ms / 1000);
		else
			strbuf_addf(out, "timed out after %lld ms", ms);
		break;
	}
	case PROC_TOO_MUCH_OUTPUT:
		strbuf_addf(out, "printed more than %zu bytes", res->limit);
		break;
	case PROC_SPAWN_FAILED:
		strbuf_addf(out, "could not be started: %s", strerror(res->status));
		break;
	}
}
