#ifndef DATABUILD_EXECUTOR_CONTAIN_H
#define DATABUILD_EXECUTOR_CONTAIN_H

#include <sys/types.h>
#include "core/strbuf.h"

/*
 * Containment of a local run (docs/design/executor.md, "Containment"): a
 * job's processes must not outlive it, and nothing may hold an output open
 * for writing when it is published.
 */

/*
 * Where the kernel's pid allocator stood just before a run was spawned:
 * every process the run creates gets a pid above last_pid unless the
 * allocator wraps meanwhile. It cannot wrap and come back past last_pid
 * before pid_max - 300 more pids are allocated, which takes at least
 * contain_wrap_ns(); a run that took longer is looked for among every
 * process. Zeros: unknown.
 */
struct contain_mark {
	pid_t last_pid;            /* /proc/loadavg: the newest pid of our namespace */
	long long at_ns;           /* CLOCK_MONOTONIC when it was taken */
};

/*
 * Bounds on the machine's pid allocations (processes and threads): each
 * takes a CPU at least a microsecond (a thread's clone costs several), and
 * all of them pass one kernel lock, which caps the machine as a whole.
 */
#define CONTAIN_PIDS_PER_CPU_S 1000000LL
#define CONTAIN_PIDS_PER_S 10000000LL

/*
 * The least time, in ns, in which the allocator can hand out pid_max - 300
 * pids with cpus CPUs (0: unknown, the machine-wide bound alone): 16 ms
 * for 2 CPUs at the kernel's default pid_max of 32,768, 0.4 s and more at
 * systemd's 4,194,304. 0 when pid_max is unknown or too small.
 */
long long contain_wrap_ns(unsigned long long pid_max, unsigned long cpus);

/*
 * The CPUs a kernel CPU list names, as /sys/devices/system/cpu/possible
 * gives it ("0-1", "0-3,8-11"): its highest number plus one, so CPUs that
 * may be plugged in later count, whatever our affinity or cgroup allows.
 * 0 if list does not end in a number.
 */
unsigned long contain_cpu_count(const char *list);

/* Fills mark; call it right before the run's spawn. Never fails (zeros: unknown). */
void contain_mark(struct contain_mark *mark);

/*
 * Kills (SIGKILL) every process of this user that is left of a run whose
 * main process has exited: those in its process group pgid, and those whose
 * environment holds DATABUILD_OUTPUT_DIR=<staging>/out, the run's private
 * staging directory, unique across stores and hosts (a helper that left the
 * group with setsid keeps it; only processes started since start_us, the
 * run's start on the now_us clock, are read). mark (may be NULL) is the
 * run's contain_mark: when the pid allocator has not wrapped since, only
 * pids above its last_pid are looked at, not every process of the
 * machine. Waits until they are gone. Repeats until none is found
 * (bounded) and reaps those that are children of this process, by pid.
 * Returns how many were killed.
 */
int contain_run(const char *staging, pid_t pgid, long long start_us,
		const struct contain_mark *mark);

/*
 * Whether some process holds the file open at fd (opened O_RDONLY) for
 * writing or has it mapped writable: takes a read lease and drops it at
 * once (F_SETLEASE fails with EAGAIN when anyone has it open for writing);
 * where the filesystem has no leases, scans /proc/PID/fdinfo of this
 * user's processes. 1 held (why names the holder when it is known), 0 not,
 * -1 cannot tell (why says why).
 */
int contain_writers(int fd, struct strbuf *why);

#endif
