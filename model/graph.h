#ifndef DATABUILD_GRAPH_H
#define DATABUILD_GRAPH_H

#include "core/array.h"
#include "model/pattern.h"
#include "core/strbuf.h"

/*
 * The graph file, databuild.json:
 *
 *   {"name": "podcast_reviews",
 *    "lookup": ["bin/lookup"],                         (optional)
 *    "jobs": [{"label": "daily_summary",
 *              "outputs": ["summaries/category={category}/date={date}"],
 *              "configure": ["jobs/daily_summary", "configure"],
 *              "exec": ["jobs/daily_summary", "exec"],
 *              "version": "1.2.0",                     (default "0.0.0")
 *              "timeout_s": 600,                       (optional, 0 = none)
 *              "retries": 1}]}                         (optional, default 0)
 *
 * Loading validates: name non-empty; labels unique and made of
 * [A-Za-z0-9_.-]; configure/exec/lookup argv non-empty arrays of strings;
 * version semver MAJOR.MINOR.PATCH[-pre][+build]; patterns valid and no
 * two patterns identical up to placeholder names (`a/{x}` and `a/{y}`
 * could never be told apart), within a job or across jobs; timeout_s an
 * integer from 0 to JOB_TIMEOUT_MAX_S, retries from 0 to JOB_RETRIES_MAX.
 * The graph file must be a regular file (a FIFO is refused, never waited on). argv[0] of configure, exec and lookup is
 * resolved: if it contains '/', relative to the graph file's directory
 * (made absolute); otherwise searched in PATH at load time. A missing or
 * non-executable argv[0] is an error naming the job, the member and the
 * path. Errors name the file: `databuild.json: jobs[1].version: ...`, and
 * syntax errors give line and column.
 */
struct semver {
	long major, minor, patch;
	char *text;  /* the original text, owned */
};

int semver_parse(struct semver *v, const char *text, struct strbuf *err);
void semver_release(struct semver *v);

/* Bounds of a job's "timeout_s" (30 days) and "retries". */
#define JOB_TIMEOUT_MAX_S 2592000L
#define JOB_RETRIES_MAX 100L

struct job {
	char *label;
	struct pattern *outputs;
	size_t outputs_nr;
	struct strvec configure;  /* argv[0] resolved to an absolute path */
	struct strvec exec;       /* argv[0] resolved to an absolute path */
	struct semver version;
	long timeout_s;           /* 0: no timeout; at most JOB_TIMEOUT_MAX_S */
	long configure_timeout_s; /* 0: the caller's (120 s by default); at most JOB_TIMEOUT_MAX_S */
	long retries;
	const char *graph_dir;    /* the graph's directory (borrowed from struct graph) */
};

struct graph {
	char *path;   /* absolute path of the graph file */
	char *dir;    /* its directory */
	char *name;
	struct strvec lookup;  /* empty unless a lookup executable is set */
	struct job *jobs;
	size_t jobs_nr;
};

/* Loads and validates path. 0, or -1 with err ("<file>: <what>"). */
int graph_load(struct graph *g, const char *path, struct strbuf *err);
/* Same, from text already in memory; `path` names it in messages. */
int graph_load_text(struct graph *g, const char *path, const char *text,
		    size_t len, struct strbuf *err);
void graph_release(struct graph *g);

/* The first of j's output patterns that matches ref, or NULL. */
const struct pattern *job_match(const struct job *j, const char *ref);

/* The job with this label, or NULL. */
struct job *graph_job(const struct graph *g, const char *label);

/*
 * Pattern lookup for one ref: the one job one of whose output patterns
 * matches. Returns the job, or NULL with err:
 *   no job produces 'x/y' (patterns: a/{d}, b/{d})        [no match]
 *   ref 'x/y' is claimed by 2 jobs: a (a/{d}), b (x/{d})   [ambiguous]
 * The ref must already be valid.
 */
struct job *graph_lookup(const struct graph *g, const char *ref, struct strbuf *err);

/*
 * Appends refs quoted and comma-separated, at most max of them then
 * " and N more": `'a', 'b', 'c', 'd', 'e' and 3 more`. For messages.
 */
void refs_describe(const char *const *refs, size_t nr, size_t max, struct strbuf *out);

#endif
