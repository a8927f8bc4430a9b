#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "executor/contain.h"

/* Rounds of kill and re-scan: each catches what the last one's victims forked. */
#define CONTAIN_ROUNDS 20
/* Up to how many pids created since a spawn are looked up one by one, not listed. */
#define CONTAIN_PROBE_MAX 512
/* How long the killed processes of a run may take to exit, in all. */
#define CONTAIN_WAIT_MS 5000

/* A process of /proc, as far as containment needs it. */
struct proc_info {
	pid_t pid, ppid, pgrp;
	char state;
	unsigned long long start;  /* clock ticks after boot */
};

/*
 * Parses /proc/PID/stat: 0, or -1 if the process is gone. Fields are split by
 * hand: after the command (which may hold anything) come state, ppid, pgrp,
 * then 16 more, the 20th after ')' being starttime.
 */
static int read_stat(int procfd, const char *name, struct proc_info *pi)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	unsigned long long field[20];
	const char *p;
	char *end;
	int fd, ret = -1;

	strbuf_addf(&path, "%s/stat", name);
	fd = openat(procfd, path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || strbuf_read_fd(&text, fd, 4096) < 0)
		goto out;
	p = strrchr(text.buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		goto out;
	pi->state = p[2];
	p += 3;
	for (int i = 1; i < 20; i++) {
		while (*p == ' ')
			p++;
		errno = 0;
		/* strtoll: a few fields (priority, nice) may be negative */
		field[i] = (unsigned long long)strtoll(p, &end, 10);
		if (end == p || errno)
			goto out;
		p = end;
	}
	pi->ppid = (pid_t)field[1];
	pi->pgrp = (pid_t)field[2];
	pi->start = field[19];
	pi->pid = (pid_t)atol(name);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

/* Whether the environment of process name holds the NUL-terminated entry want. */
static int has_env(int procfd, const char *name, const char *want, size_t want_len)
{
	struct strbuf path = STRBUF_INIT, env = STRBUF_INIT;
	int fd, found = 0;

	strbuf_addf(&path, "%s/environ", name);
	fd = openat(procfd, path.buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && strbuf_read_fd(&env, fd, (size_t)1 << 20) >= 0) {
		for (size_t at = 0; at < env.len; at += strlen(env.buf + at) + 1) {
			if (env.len - at >= want_len && !memcmp(env.buf + at, want, want_len)) {
				found = 1;
				break;
			}
		}
	}
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&env);
	return found;
}

/* The processes one round killed: to wait until they are gone, and to reap ours. */
struct reap_list {
	pid_t *pids;          /* children of this process, reaped by pid */
	size_t nr, alloc;
	int *pidfds;          /* every process killed: readable once it has exited */
	size_t fds_nr, fds_alloc;
};

/* Kills pid through a pidfd (no pid reuse race) and keeps the pidfd to wait on. */
static int kill_one(pid_t pid, struct reap_list *reap)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return kill(pid, SIGKILL) == 0;
	if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0) {
		close(fd);
		return 0;
	}
	ALLOC_GROW(reap->pidfds, reap->fds_nr + 1, reap->fds_alloc);
	reap->pidfds[reap->fds_nr++] = fd;
	return 1;
}

/* Waits (up to CONTAIN_WAIT_MS in all) until every killed process has exited. */
static void wait_killed(struct reap_list *reap)
{
	long long deadline = mono_ms() + CONTAIN_WAIT_MS;

	for (size_t i = 0; i < reap->fds_nr; i++) {
		struct pollfd p = { .fd = reap->pidfds[i], .events = POLLIN };
		long long left = deadline - mono_ms();

		if (left > 0)
			while (poll(&p, 1, (int)left) < 0 && errno == EINTR)
				;
		close(reap->pidfds[i]);
	}
	reap->fds_nr = 0;
}

/* What belongs to a run: its process group, or its environment if it started since. */
struct run_match {
	const char *want;          /* "DATABUILD_OUTPUT_DIR=<staging>/out" */
	size_t want_len;           /* with the NUL: no longer id matches */
	pid_t pgid;
	unsigned long long since;  /* the run's start, clock ticks after boot (rounded down) */
	pid_t after;               /* only pids above this can be the run's (0: any; pid_range) */
};

/*
 * The first unsigned number after key in the file at path (relative to
 * dfd, or absolute with AT_FDCWD); 0 if none.
 */
static unsigned long long proc_number(int dfd, const char *path, const char *key)
{
	struct strbuf text = STRBUF_INIT;
	unsigned long long v = 0;
	const char *at;
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && strbuf_read_fd(&text, fd, (size_t)1 << 20) >= 0 &&
	    (at = strstr(text.buf, key)))
		v = strtoull(at + strlen(key), NULL, 10);
	if (fd >= 0)
		close(fd);
	strbuf_release(&text);
	return v;
}

/* The pid most recently allocated in our pid namespace (/proc/loadavg); 0 unknown. */
static pid_t last_pid(void)
{
	struct strbuf text = STRBUF_INIT;
	const char *sp;
	pid_t pid = 0;

	if (strbuf_read_file(&text, "/proc/loadavg", 256) >= 0 && (sp = strrchr(text.buf, ' ')))
		pid = (pid_t)atol(sp + 1);
	strbuf_release(&text);
	return pid;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void contain_mark(struct contain_mark *mark)
{
	mark->last_pid = last_pid();
	mark->at_ns = mono_ns();
}

/* pid_max, read once: a system setting that does not change under a run. */
static unsigned long long pid_max(void)
{
	static _Atomic unsigned long long max;
	unsigned long long v = max;

	if (!v)
		max = v = proc_number(AT_FDCWD, "/proc/sys/kernel/pid_max", "");
	return v;
}

unsigned long contain_cpu_count(const char *list)
{
	const char *last = list + strcspn(list, "\n");

	while (last > list && isdigit((unsigned char)last[-1]))
		last--;
	return isdigit((unsigned char)*last) ? strtoul(last, NULL, 10) + 1 : 0;
}

/* contain_cpu_count of /sys/devices/system/cpu/possible, read once; 0 if unknown. */
static unsigned long possible_cpus(void)
{
	static _Atomic unsigned long cpus;
	struct strbuf text = STRBUF_INIT;
	unsigned long v = cpus;

	if (v)
		return v;
	if (strbuf_read_file(&text, "/sys/devices/system/cpu/possible", 4096) >= 0)
		v = contain_cpu_count(text.buf);
	strbuf_release(&text);
	cpus = v;
	return v;
}

long long contain_wrap_ns(unsigned long long pid_max, unsigned long cpus)
{
	long long rate = CONTAIN_PIDS_PER_S;

	if (pid_max <= 300)
		return 0;
	if (cpus && cpus < (unsigned long)(CONTAIN_PIDS_PER_S / CONTAIN_PIDS_PER_CPU_S))
		rate = (long long)cpus * CONTAIN_PIDS_PER_CPU_S;
	return (long long)((pid_max - 300) * (1000000000ULL / (unsigned long long)rate));
}

/*
 * The pids a run started at mark can have: those above mark->last_pid, as
 * long as the allocator has not wrapped since: the last pid has not gone
 * down, and less time has passed than allocating as many pids as it takes
 * to wrap around to the same place again needs (contain_wrap_ns). And only
 * if /proc shows our own pid namespace. 0 when that cannot be told: every
 * pid must be looked at. *upto: the last pid allocated now.
 */
static pid_t pid_range(int procfd, const struct contain_mark *mark, pid_t *upto)
{
	char self[32], want[32];
	long long elapsed;
	ssize_t len;
	pid_t now;

	*upto = 0;
	if (!mark || mark->last_pid <= 0 || !mark->at_ns)
		return 0;
	len = readlinkat(procfd, "self", self, sizeof(self) - 1);
	if (len <= 0)
		return 0;
	self[len] = '\0';
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	if (strcmp(self, want))
		return 0;
	now = last_pid();
	elapsed = mono_ns() - mark->at_ns;
	if (now < mark->last_pid || elapsed < 0 ||
	    elapsed >= contain_wrap_ns(pid_max(), possible_cpus()))
		return 0;
	*upto = now;
	return mark->last_pid;
}

/* Whether /proc/name is a process (its thread group's leader), not another thread. */
static int is_leader(int procfd, const char *name)
{
	char status[40];

	snprintf(status, sizeof(status), "%s/status", name);
	return proc_number(procfd, status, "\nTgid:") == (unsigned long long)atol(name);
}

/*
 * Kills /proc/name if it belongs to the run; pushes it to reap if it is
 * our child. leaders_only: name came from a probe, not from readdir (which
 * lists processes only), so a thread of some process is skipped.
 */
static int consider(int procfd, const char *name, const struct run_match *m, uid_t me,
		    pid_t self, int leaders_only, struct reap_list *reap)
{
	struct proc_info pi;
	struct stat st;
	int killed;

	if (atol(name) == self || atol(name) <= m->after)
		return 0;
	if (fstatat(procfd, name, &st, 0) < 0 || st.st_uid != me ||
	    read_stat(procfd, name, &pi) < 0 || pi.state == 'Z')
		return 0;
	if (pi.pgrp != m->pgid &&
	    (pi.start < m->since || !has_env(procfd, name, m->want, m->want_len)))
		return 0;
	if (leaders_only && !is_leader(procfd, name))
		return 0;
	killed = kill_one(pi.pid, reap);
	if (pi.ppid == self) {
		ALLOC_GROW(reap->pids, reap->nr + 1, reap->alloc);
		reap->pids[reap->nr++] = pi.pid;
	}
	return killed;
}

/*
 * One scan: kills what belongs to the run; pushes our children among them
 * to reap. When the pids created since the spawn are known and few (m->after
 * to upto), each is looked up by number; otherwise /proc is listed, which
 * costs a look at every process on the machine.
 */
static int kill_round(int procfd, const struct run_match *m, pid_t upto,
		      struct reap_list *reap)
{
	uid_t me = geteuid();
	pid_t self = getpid();
	struct dirent *de;
	int killed = 0;
	DIR *d;

	if (m->after > 0 && upto >= m->after && upto - m->after <= CONTAIN_PROBE_MAX) {
		char name[24];

		for (pid_t pid = m->after + 1; pid <= upto; pid++) {
			snprintf(name, sizeof(name), "%ld", (long)pid);
			killed += consider(procfd, name, m, me, self, 1, reap);
		}
		return killed;
	}
	d = fdopendir(dup(procfd));
	if (!d)
		return 0;
	rewinddir(d);  /* the dup shares procfd's offset, at the end after a round */
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			killed += consider(procfd, de->d_name, m, me, self, 0, reap);
	closedir(d);
	return killed;
}

/* start_us (wall clock) as clock ticks after boot, rounded down by one tick. */
static unsigned long long boot_ticks(long long start_us)
{
	struct timespec boot;
	long long boot_us, tck = sysconf(_SC_CLK_TCK);

	if (clock_gettime(CLOCK_BOOTTIME, &boot) < 0 || tck <= 0)
		return 0;
	boot_us = (long long)boot.tv_sec * 1000000 + boot.tv_nsec / 1000 - (now_us() - start_us);
	return boot_us <= 0 ? 0 : (unsigned long long)(boot_us * tck / 1000000) - 1;
}

int contain_run(const char *staging, pid_t pgid, long long start_us,
		const struct contain_mark *mark)
{
	char *want = xstrfmt("DATABUILD_OUTPUT_DIR=%s/out", staging);
	struct run_match m = { .want = want, .want_len = strlen(want) + 1, .pgid = pgid,
			       .since = boot_ticks(start_us) };
	struct reap_list reap = { .pids = NULL, .pidfds = NULL };
	int procfd, total = 0;

	procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		goto out;
	for (int round = 0; round < CONTAIN_ROUNDS; round++) {
		int killed;
		pid_t upto;

		reap.nr = 0;
		m.after = pid_range(procfd, mark, &upto);
		killed = kill_round(procfd, &m, upto, &reap);
		wait_killed(&reap);
		for (size_t i = 0; i < reap.nr; i++)
			while (waitpid(reap.pids[i], NULL, 0) < 0 && errno == EINTR)
				;
		total += killed;
		if (!killed)
			break;
	}
	close(procfd);
out:
	free(reap.pids);
	free(reap.pidfds);
	free(want);
	return total;
}

/* /proc/PID/fdinfo/N flags mode bits (octal): write or read-write. */
static int fdinfo_writes(int procfd, const char *pid, const char *fd)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	const char *flags;
	int f, ret = 0;

	strbuf_addf(&path, "%s/fdinfo/%s", pid, fd);
	f = openat(procfd, path.buf, O_RDONLY | O_CLOEXEC);
	if (f >= 0 && strbuf_read_fd(&text, f, 4096) >= 0 &&
	    (flags = strstr(text.buf, "flags:")))
		ret = (strtol(flags + 6, NULL, 8) & O_ACCMODE) != O_RDONLY;
	if (f >= 0)
		close(f);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

/* The fallback: a process of ours with a descriptor on (dev, ino) open for writing. */
static int scan_writers(const struct stat *want, struct strbuf *why)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uid_t me = geteuid();
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (procfd < 0 || !(d = fdopendir(dup(procfd)))) {
		strbuf_addf(why, "cannot read /proc: %s", strerror(errno));
		if (procfd >= 0)
			close(procfd);
		return -1;
	}
	while (!found && (de = readdir(d))) {
		struct strbuf dir = STRBUF_INIT;
		struct dirent *fe;
		struct stat st;
		DIR *fds;
		int dfd;

		if (!isdigit((unsigned char)de->d_name[0]) ||
		    fstatat(procfd, de->d_name, &st, 0) < 0 || st.st_uid != me)
			continue;
		strbuf_addf(&dir, "%s/fd", de->d_name);
		dfd = openat(procfd, dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fds = dfd >= 0 ? fdopendir(dfd) : NULL;
		while (fds && !found && (fe = readdir(fds))) {
			if (isdigit((unsigned char)fe->d_name[0]) &&
			    fstatat(dirfd(fds), fe->d_name, &st, 0) == 0 &&
			    st.st_dev == want->st_dev && st.st_ino == want->st_ino &&
			    fdinfo_writes(procfd, de->d_name, fe->d_name)) {
				strbuf_addf(why, "process %s", de->d_name);
				found = 1;
			}
		}
		if (fds)
			closedir(fds);
		else if (dfd >= 0)
			close(dfd);
		strbuf_release(&dir);
	}
	closedir(d);
	close(procfd);
	return found;
}

int contain_writers(int fd, struct strbuf *why)
{
	struct stat st;

	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		fcntl(fd, F_SETLEASE, F_UNLCK);
		return 0;
	}
	if (errno == EAGAIN || errno == EBUSY)
		return 1;
	if (fstat(fd, &st) < 0) {
		strbuf_addf(why, "cannot stat it: %s", strerror(errno));
		return -1;
	}
	return scan_writers(&st, why);
}
