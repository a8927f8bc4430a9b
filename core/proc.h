#ifndef DATABUILD_PROC_H
#define DATABUILD_PROC_H

#include <signal.h>
#include <sys/types.h>
#include "core/array.h"
#include "core/strbuf.h"

/*
 * Run a short-lived helper process (configure, lookup) to completion,
 * capturing its output.
 *
 * The child is spawned with posix_spawn in its own process group, with
 * stdin fed from `input` (may be NULL: /dev/null), stdout and stderr
 * captured separately. If it runs longer than timeout_ms (0: forever) or
 * prints more than max_output bytes on stdout or on stderr (0: unlimited),
 * its whole process group is killed with SIGKILL and the result says so.
 * When the process exits, whatever is left of its process group is killed
 * too (a helper must not leave background processes behind). No file
 * descriptor of the caller leaks into the child except 0, 1 and 2.
 * A child that does not read its stdin does not block the caller. The
 * child starts with an empty signal mask and the dispositions of
 * proc_sigdefault.
 * argv[0] without a '/' is searched in the caller's PATH (not envp's); a
 * program that is missing or not executable ends as PROC_SPAWN_FAILED
 * with its errno.
 *
 * Thread-safe: no global state but proc_sigdefault's; the child is reaped with waitpid on its
 * own pid, so nothing else in the process may reap it (no waitpid(-1),
 * and SIGCHLD must not be set to SIG_IGN).
 * SIGPIPE from writing to a child that closed its stdin is blocked in the
 * calling thread around the write and discarded.
 */
struct proc_opts {
	const char *const *argv;
	const char *const *envp;  /* NULL: inherit environ */
	const char *cwd;          /* NULL: inherit */
	const char *input;
	size_t input_len;
	long timeout_ms;
	size_t max_output;
	int cancel_fd;            /* readable => kill the child (PROC_CANCELLED); <= 0: none */
};

enum proc_end {
	PROC_EXITED,     /* status = exit code */
	PROC_SIGNALED,   /* status = signal number */
	PROC_TIMED_OUT,
	PROC_TOO_MUCH_OUTPUT,
	PROC_SPAWN_FAILED, /* status = errno */
	PROC_CANCELLED,  /* cancel_fd became readable: its process group was killed */
};

struct proc_result {
	enum proc_end end;
	int status;
	struct strbuf out;
	struct strbuf err;
	long elapsed_ms;
	size_t limit;    /* PROC_TIMED_OUT: timeout_ms; PROC_TOO_MUCH_OUTPUT: max_output */
};

#define PROC_RESULT_INIT { .end = PROC_EXITED, .status = 0, .out = STRBUF_INIT, \
			   .err = STRBUF_INIT, .elapsed_ms = 0, .limit = 0 }

/*
 * Runs opts->argv. res must be PROC_RESULT_INIT (or released); its buffers
 * receive stdout and stderr (stdout cut at max_output when exceeded).
 * Returns 0 when the process was run or could not be started (whatever
 * its exit status: inspect res), -1 only on an internal failure (pipe,
 * poll) with err set. proc_result_release frees the buffers.
 */
int proc_run(const struct proc_opts *opts, struct proc_result *res, struct strbuf *err);
void proc_result_release(struct proc_result *res);
/* 1 if the process exited 0. */
int proc_ok(const struct proc_result *res);
/*
 * Appends "exited with status 3" / "was killed by signal 9 (Killed)" /
 * "timed out after 60 s" / "printed more than N bytes" / "could not be
 * started: <strerror>" / "was cancelled". timeout_ms <= 0 uses the timeout recorded in res.
 */
/*
 * The signals a child of databuild starts with at their default action
 * (posix_spawnattr_setsigdefault): those a daemon typically blocks,
 * handles or ignores (PIPE, INT, TERM, HUP, QUIT, CHLD, ALRM, USR1, USR2,
 * TSTP, TTIN, TTOU, XFSZ, XCPU) always; every other one except those
 * that were ignored when the process first called this, which the child
 * inherits ignored (exec keeps SIG_IGN, as under nohup); not SIGKILL and
 * SIGSTOP. Naming every signal matters to the spawn's cost: glibc's child
 * resets a named signal with one system call, but queries an unnamed one
 * first (62 calls instead of 108 per spawn, in a child its parent waits
 * for). The ignored ones are read once (thread-safe); a signal first
 * ignored after that is not passed on as ignored (databuild itself
 * ignores only SIGPIPE, which children get at its default anyway).
 */
void proc_sigdefault(sigset_t *out);

void proc_describe(const struct proc_result *res, long timeout_ms, struct strbuf *out);

#endif
