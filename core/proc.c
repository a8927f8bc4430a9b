#include "core/clock.h"
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
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

static const int always_default[] = {
	SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGALRM,
	SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ, SIGXCPU,
};
static sigset_t reset_set;  /* proc_sigdefault's answer, made once */
static pthread_once_t reset_once = PTHREAD_ONCE_INIT;

/*
 * The kernel's SigIgn line of /proc/self/status: one read, where asking
 * sigaction about each signal is 64 system calls. 0, or -1 if unreadable.
 */
static int status_ignored(unsigned long long *mask)
{
	char buf[4096], *line;
	ssize_t n = -1;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(line = strstr(buf, "\nSigIgn:")))
		return -1;
	*mask = strtoull(line + strlen("\nSigIgn:"), NULL, 16);
	return 0;
}

static int ignored_now(int sig, int known, unsigned long long mask)
{
	struct sigaction sa;

	if (known)
		return sig <= 64 && (mask >> (sig - 1) & 1);
	return !sigaction(sig, NULL, &sa) && sa.sa_handler == SIG_IGN;
}

static void make_reset_set(void)
{
	unsigned long long mask = 0;
	int known = !status_ignored(&mask);

	/* glibc's sigfillset leaves out the signals glibc keeps to itself */
	sigfillset(&reset_set);
	sigdelset(&reset_set, SIGKILL);
	sigdelset(&reset_set, SIGSTOP);
	for (int sig = 1; sig < NSIG; sig++)
		if (ignored_now(sig, known, mask))
			sigdelset(&reset_set, sig);
	for (size_t i = 0; i < sizeof(always_default) / sizeof(always_default[0]); i++)
		sigaddset(&reset_set, always_default[i]);
}

void proc_sigdefault(sigset_t *out)
{
	pthread_once(&reset_once, make_reset_set);
	*out = reset_set;
}

static int spawn(const struct proc_opts *opts, const char *path, int in_fd, int out_fd,
		 int err_fd, pid_t *pid)
{
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
	proc_sigdefault(&def);
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

/* Where proc_run's poll loop stands. */
enum run_phase {
	RUN_WATCHING,  /* the leader runs: feed, read, watch the limits and its exit */
	RUN_DRAINING,  /* the leader exited, its group is killed: read until the grace ends */
	RUN_STOPPED,   /* leave the loop: kill the group, reap the leader */
};

/* proc_run's poll set: one fixed slot per descriptor, fd -1 when unwatched. */
enum run_slot {
	SLOT_STDIN,   /* POLLOUT: room to feed more input */
	SLOT_STDOUT,
	SLOT_STDERR,
	SLOT_EXIT,    /* the pidfd: POLLIN once the leader has exited */
	SLOT_CANCEL,  /* opts->cancel_fd: POLLIN => stop */
	SLOT_NR,
};

/* One proc_run: the child, our pipe ends and the clock. */
struct run {
	const struct proc_opts *opts;
	struct proc_result *res;
	int in[2], out[2], err[2];  /* pipes, -1 once closed; the child's ends close at spawn */
	int pidfd;                  /* -1: none (old kernel, valgrind): look on a tick */
	pid_t pid;                  /* -1 until run_spawn started the child */
	size_t fed;                 /* bytes of opts->input written (feed_stdin) */
	long long start;            /* mono_ms() when proc_run began */
	long long deadline;         /* start + timeout_ms; -1: none */
	long long grace;            /* RUN_DRAINING: when reading stops (check_exit) */
	enum run_phase phase;
};

static void run_init(struct run *r, const struct proc_opts *opts, struct proc_result *res)
{
	*r = (struct run){
		.opts = opts,
		.res = res,
		.in = { -1, -1 },
		.out = { -1, -1 },
		.err = { -1, -1 },
		.pidfd = -1,
		.pid = -1,
		.start = mono_ms(),
		.deadline = -1,
		.grace = -1,
		.phase = RUN_WATCHING,
	};
	strbuf_reset(&res->out);
	strbuf_reset(&res->err);
	res->end = PROC_EXITED;
	res->status = 0;
	res->elapsed_ms = 0;
	res->limit = 0;
}

static void run_close(struct run *r)
{
	for (int i = 0; i < 2; i++) {
		close_fd(&r->in[i]);
		close_fd(&r->out[i]);
		close_fd(&r->err[i]);
	}
	close_fd(&r->pidfd);
}

static int open_pipes(struct run *r, struct strbuf *err)
{
	const char *argv0 = r->opts->argv[0];

	if ((r->opts->input && make_pipe(r->in)) || make_pipe(r->out) || make_pipe(r->err)) {
		strbuf_addf(err, "cannot run '%s': pipe: %s", argv0, strerror(errno));
		return -1;
	}
	if (r->in[1] >= 0 && fcntl(r->in[1], F_SETFL, O_NONBLOCK)) {
		strbuf_addf(err, "cannot run '%s': fcntl: %s", argv0, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Starts the child. A program that cannot be started is not an error:
 * r->pid stays -1 and res says PROC_SPAWN_FAILED. -1 on a pipe failure.
 */
static int run_spawn(struct run *r, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	pid_t pid;
	int rc;

	if (open_pipes(r, err) < 0)
		return -1;
	rc = resolve(r->opts->argv[0], &path);
	if (!rc)
		rc = spawn(r->opts, path.buf, r->in[0], r->out[1], r->err[1], &pid);
	strbuf_release(&path);
	close_fd(&r->in[0]);
	close_fd(&r->out[1]);
	close_fd(&r->err[1]);
	if (rc) {
		r->res->end = PROC_SPAWN_FAILED;
		r->res->status = rc;
		return 0;
	}
	r->pid = pid;
	r->pidfd = open_pidfd(pid);
	if (r->opts->timeout_ms > 0)
		r->deadline = r->start + r->opts->timeout_ms;
	if (r->in[1] >= 0 && !r->opts->input_len)
		close_fd(&r->in[1]);
	return 0;
}

/* Stops at the deadline (while the leader runs) or at the end of the grace. */
static void check_clock(struct run *r, long long now)
{
	if (r->phase == RUN_WATCHING && r->deadline >= 0 && now >= r->deadline) {
		r->res->end = PROC_TIMED_OUT;
		r->res->limit = (size_t)r->opts->timeout_ms;
		r->phase = RUN_STOPPED;
	} else if (r->phase == RUN_DRAINING &&
		   (now >= r->grace || (r->out[0] < 0 && r->err[0] < 0))) {
		r->phase = RUN_STOPPED;
	}
}

static void fill_pollset(const struct run *r, struct pollfd pfd[SLOT_NR])
{
	pfd[SLOT_STDIN] = (struct pollfd){ r->in[1], POLLOUT, 0 };
	pfd[SLOT_STDOUT] = (struct pollfd){ r->out[0], POLLIN, 0 };
	pfd[SLOT_STDERR] = (struct pollfd){ r->err[0], POLLIN, 0 };
	pfd[SLOT_EXIT] = (struct pollfd){ r->phase == RUN_WATCHING ? r->pidfd : -1, POLLIN, 0 };
	pfd[SLOT_CANCEL] = (struct pollfd){
		r->phase == RUN_WATCHING && r->opts->cancel_fd > 0 ? r->opts->cancel_fd : -1,
		POLLIN, 0 };
}

/* How long poll may sleep: until the grace ends, the deadline, or a tick. */
static int poll_timeout(const struct run *r, long long now)
{
	int wait_ms = -1;
	long long left;

	if (r->phase == RUN_DRAINING)
		return (int)(r->grace - now);
	if (r->pidfd < 0)
		wait_ms = NO_PIDFD_TICK_MS;   /* no pidfd: look for the exit on every tick */
	if (r->deadline >= 0) {
		left = r->deadline - now;
		if (wait_ms < 0 || left < wait_ms)
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
	}
	return wait_ms;
}

/* Writes the next chunk of input; closes stdin when all is fed or refused. */
static void feed_stdin(struct run *r, const struct pollfd *pfd)
{
	size_t left = r->opts->input_len - r->fed;
	ssize_t n;

	if (!pfd->revents)
		return;
	n = write_nosigpipe(r->in[1], r->opts->input + r->fed, left > CHUNK ? CHUNK : left);
	if (n > 0)
		r->fed += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		close_fd(&r->in[1]);   /* the child closed its stdin: not an error */
	if (r->fed == r->opts->input_len)
		close_fd(&r->in[1]);
}

static void read_output(struct run *r, const struct pollfd pfd[SLOT_NR])
{
	if (pfd[SLOT_STDOUT].revents)
		pump(&r->out[0], &r->res->out);
	if (pfd[SLOT_STDERR].revents)
		pump(&r->err[0], &r->res->err);
}

/* Stops when stdout or stderr passed max_output, cutting both at it. */
static void check_output_limit(struct run *r)
{
	struct proc_result *res = r->res;
	size_t max = r->opts->max_output;

	if (!max || (res->out.len <= max && res->err.len <= max))
		return;
	res->end = PROC_TOO_MUCH_OUTPUT;
	res->limit = max;
	if (res->out.len > max)
		strbuf_setlen(&res->out, max);
	if (res->err.len > max)
		strbuf_setlen(&res->err, max);
	r->phase = RUN_STOPPED;
}

/* Stops when the caller cancels (the group is killed on the way out). */
static void check_cancel(struct run *r, const struct pollfd pfd[SLOT_NR])
{
	if (r->phase != RUN_WATCHING || !pfd[SLOT_CANCEL].revents)
		return;
	r->res->end = PROC_CANCELLED;
	r->phase = RUN_STOPPED;
}

/* Once the leader has exited, kills what is left of its group and drains. */
static void check_exit(struct run *r, const struct pollfd pfd[SLOT_NR])
{
	if (r->phase != RUN_WATCHING)
		return;
	if (r->pidfd >= 0 && !pfd[SLOT_EXIT].revents)
		return;
	if (!has_exited(r->pid))
		return;
	/* the leader is a zombie: its pid cannot be reused yet */
	kill(-r->pid, SIGKILL);
	close_fd(&r->in[1]);
	r->phase = RUN_DRAINING;
	r->grace = mono_ms() + EXIT_GRACE_MS;
}

/* The poll loop, until RUN_STOPPED; -1 if poll failed. */
static int run_watch(struct run *r, struct strbuf *err)
{
	struct pollfd pfd[SLOT_NR];

	for (;;) {
		long long now = mono_ms();

		check_clock(r, now);
		if (r->phase == RUN_STOPPED)
			return 0;
		fill_pollset(r, pfd);
		if (poll(pfd, SLOT_NR, poll_timeout(r, now)) < 0) {
			if (errno == EINTR)
				continue;
			strbuf_addf(err, "cannot run '%s': poll: %s", r->opts->argv[0],
				    strerror(errno));
			return -1;
		}
		feed_stdin(r, &pfd[SLOT_STDIN]);
		read_output(r, pfd);
		check_output_limit(r);
		check_cancel(r, pfd);
		if (r->phase == RUN_STOPPED)
			return 0;
		check_exit(r, pfd);
	}
}

/*
 * Waits for the leader (its group already killed) and, unless proc_run
 * ended it for a limit, records how it ended. err NULL: a failure was
 * already reported.
 */
static int run_reap(struct run *r, struct strbuf *err)
{
	struct proc_result *res = r->res;
	int status = 0;

	while (waitpid(r->pid, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (err)
			strbuf_addf(err, "cannot run '%s': waitpid: %s%s", r->opts->argv[0],
				    strerror(errno),
				    errno == ECHILD ? " (SIGCHLD must not be ignored)" : "");
		return -1;
	}
	r->pid = -1;
	if (res->end != PROC_EXITED)
		return 0;
	if (WIFEXITED(status)) {
		res->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->end = PROC_SIGNALED;
		res->status = WTERMSIG(status);
	}
	return 0;
}

int proc_run(const struct proc_opts *opts, struct proc_result *res, struct strbuf *err)
{
	struct run r;
	int ret = -1;

	run_init(&r, opts, res);
	if (!opts->argv || !opts->argv[0]) {
		strbuf_addstr(err, "cannot run a process: empty argv");
		goto out;
	}
	if (run_spawn(&r, err) < 0)
		goto out;
	if (r.pid < 0) {
		ret = 0;   /* could not be started: res says why */
		goto out;
	}
	ret = run_watch(&r, err);
	/* a limit, a poll failure, or the stragglers of an exited leader */
	kill(-r.pid, SIGKILL);
	if (run_reap(&r, ret < 0 ? NULL : err) < 0)
		ret = -1;
out:
	run_close(&r);
	res->elapsed_ms = (long)(mono_ms() - r.start);
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
	case PROC_CANCELLED:
		strbuf_addstr(out, "was cancelled");
		break;
	}
}
