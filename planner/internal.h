#ifndef DATABUILD_PLANNER_INTERNAL_H
#define DATABUILD_PLANNER_INTERNAL_H

#include "core/proc.h"
#include "model/graph.h"

/* Shared by configure.c and lookup.c; private to planner/. */

/*
 * Runs a graph helper (a job's configure, the graph's lookup) in the
 * graph's directory with at most max_output bytes of output and timeout_ms
 * (<= 0: none), killed when cancel_fd (<= 0: none) is readable, filling res. 0 if it exited 0; else -1 with err set to
 * "<what>: <why>" (it could not run) or "<what> <how it ended>" followed
 * by the tail of its stderr.
 */
int helper_run(const struct graph *g, const char *const *argv, long timeout_ms,
	       int cancel_fd, size_t max_output, const char *what, struct proc_result *res,
	       struct strbuf *err);
/* Appends "\n  stderr:\n" and the last lines of res's stderr (if any) to err. */
void helper_add_stderr_tail(struct strbuf *err, const struct proc_result *res);

#endif
