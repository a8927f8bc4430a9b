#ifndef DATABUILD_GRAPH_H
#define DATABUILD_GRAPH_H

#include <stdint.h>

#include "core/array.h"
#include "model/domain.h"
#include "model/pattern.h"
#include "model/schedule.h"
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
 *
 * Partition domains (model/domain.h, docs/design/domains.md):
 *
 *   "domains": {"day2024": {"dates": {"start": "2024-01-01", "end": "2024-12-31"}},
 *               "station": {"values": ["north", "south"]}},
 *   "jobs": [{"label": "ingest", "outputs": ["raw/station={station}/date={date}"],
 *             "partitions": {"station": "station",
 *                            "date": {"dates": {"start": "2024-01-01", "end": "today"}}},
 *             ...},
 *            {"label": "packages", "source": "/srv/drops/{date}.csv",
 *             "outputs": ["src/packages/date={date}"]}]
 *
 * Domain names are made of [A-Za-z0-9_.-]. Each key of "partitions" must
 * be a placeholder of one of the job's output patterns; its value names a
 * domain of "domains" or is an inline domain (named "<label>.<variable>"
 * in messages). A command domain's argv[0] is resolved like configure's.
 * A source job has "source" (a path pattern, relative paths resolved
 * against the graph's directory) and exactly one output pattern with the
 * same placeholders, and no "configure" or "exec".
 *
 * Triggers (model/schedule.h, docs/schedules.md): "schedules" (an array,
 * names unique), "freshness" (dataset -> {"max_age"}; the dataset, which
 * may have placeholders, must be the dataset part of some job's output
 * pattern unless the graph has a lookup executable) and a job's "eager"
 * (a boolean). A schedule's refs must each be claimed by a job (unless
 * the graph has a lookup executable).
 */
/*
 * Retention (docs/design/history.md): which versions of a partition gc
 * keeps. The graph's top-level "retention" is global; a job's applies to
 * its outputs and overrides the global one field by field:
 *
 *   "retention": {"keep_versions": 5, "keep_days": 30}
 *
 * keep_versions is an integer >= 1, keep_days an integer >= 0; any other
 * member or type is an error naming its path (`jobs[0].retention.keep`).
 * A zeroed struct retention is "no policy".
 */
enum retention_fields {
	RETENTION_VERSIONS = 1 << 0,  /* keep_versions is set */
	RETENTION_DAYS = 1 << 1,      /* keep_days is set */
};
struct retention {
	unsigned set;        /* enum retention_fields; 0: no policy (keep every version) */
	long keep_versions;  /* >= 1 when RETENTION_VERSIONS */
	long keep_days;      /* >= 0 when RETENTION_DAYS */
};
/* Bounds of the retention fields. */
#define RETENTION_VERSIONS_MAX 1000000000L
#define RETENTION_DAYS_MAX 3650000L

/*
 * Whether r keeps a version: current, or rank (0 for the newest version
 * of its partition, 1 for the one before...) below keep_versions, or
 * younger than keep_days (age_us, the time since its publish). A field
 * not set has no say; with neither set every version is kept.
 */
int retention_keeps(const struct retention *r, int current, size_t rank, int64_t age_us);

struct semver {
	long major, minor, patch;
	char *text;  /* the original text, owned */
};

int semver_parse(struct semver *v, const char *text, struct strbuf *err);
void semver_release(struct semver *v);

/* Bounds of a job's "timeout_s" (30 days) and "retries". */
#define JOB_TIMEOUT_MAX_S 2592000L
#define JOB_RETRIES_MAX 100L

/* A variable of a job bound to a domain by "partitions". */
struct job_var {
	char *name;              /* the placeholder's name, owned */
	struct domain *domain;   /* borrowed from struct graph, or owned when inline */
	int owned;               /* 1: an inline domain, freed with the job */
};

struct job {
	char *label;
	struct pattern *outputs;
	size_t outputs_nr;
	struct strvec configure;  /* argv[0] resolved to an absolute path; empty for a source */
	struct strvec exec;       /* argv[0] resolved to an absolute path; a source's: its import */
	struct strvec key_ignore; /* "key_ignore": absolute path prefixes of files named in
				     args or env that stay out of the build key */
	struct semver version;
	long timeout_s;           /* 0: no timeout; at most JOB_TIMEOUT_MAX_S */
	long configure_timeout_s; /* 0: the caller's (120 s by default); at most JOB_TIMEOUT_MAX_S */
	long retries;
	const char *graph_dir;    /* the graph's directory (borrowed from struct graph) */
	struct job_var *vars;     /* variables with a domain, in the file's order; others are open-ended */
	size_t vars_nr;
	char *source;             /* source jobs: absolute path pattern of the files; NULL otherwise */
	struct pattern source_pattern; /* source jobs: source without its leading '/' */
	int eager;                /* "eager": rebuilt when an upstream is republished */
	struct retention retention; /* "retention": the job's own fields (graph_retention merges) */
};

struct graph {
	char *path;   /* absolute path of the graph file */
	char *dir;    /* its directory */
	char *name;
	struct strvec lookup;  /* empty unless a lookup executable is set */
	struct job *jobs;
	size_t jobs_nr;
	struct domain *domains;  /* the named domains of "domains", in the file's order */
	size_t domains_nr;
	struct schedule *schedules;  /* "schedules", in the file's order */
	size_t schedules_nr;
	struct freshness_policy *freshness; /* "freshness", in the file's order */
	size_t freshness_nr;
	struct retention retention;  /* the top-level "retention" (set 0: none) */
};

/* Loads and validates path. 0, or -1 with err ("<file>: <what>"). */
int graph_load(struct graph *g, const char *path, struct strbuf *err);
/* Same, from text already in memory; `path` names it in messages. */
int graph_load_text(struct graph *g, const char *path, const char *text,
		    size_t len, struct strbuf *err);
void graph_release(struct graph *g);

/* The first of j's output patterns that matches ref, or NULL. */
const struct pattern *job_match(const struct job *j, const char *ref);

/* Whether s is a valid job label (or schedule name): [A-Za-z0-9_.-]+. */
int graph_label_valid(const char *s);

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
 * The effective retention of ref: the global policy with the fields of
 * the job producing ref (graph_lookup: the one job whose output pattern
 * matches) over it. A ref no job or two jobs claim gets the global one.
 */
void graph_retention(const struct graph *g, const char *ref, struct retention *out);
/* 1 if g has a retention policy anywhere (globally or in a job), else 0. */
int graph_has_retention(const struct graph *g);

/* The named domain, or NULL. */
struct domain *graph_domain(const struct graph *g, const char *name);
/* The domain of variable var of j, or NULL when it is open-ended. */
struct domain *job_domain(const struct job *j, const char *var);
/* 1 if j is a source job (its partitions are files outside the store). */
static inline int job_is_source(const struct job *j) { return j->source != NULL; }
/*
 * A source job's exec: /bin/sh -c SOURCE_IMPORT_SCRIPT databuild-source
 * FILE REF IDENTITY copies FILE to $DATABUILD_OUTPUT_DIR/REF (IDENTITY,
 * the file's size, mtime and inode, is there so that a changed file makes
 * the import stale). The file is opened read-only; nothing writes it.
 */
#define SOURCE_IMPORT_SCRIPT \
	"set -e; out=\"$DATABUILD_OUTPUT_DIR/$2\"; mkdir -p \"${out%/*}\"; " \
	"cat -- \"$1\" >\"$out\""

/*
 * Re-reads every domain of g (named and inline): relative bounds against
 * now_s(), command domains run again. 0, or -1 with the first failure in
 * err (the other domains are still refreshed). Not safe while other
 * threads use g.
 */
int graph_domains_refresh(struct graph *g, struct strbuf *err);

/*
 * Partition spaces. The space of one output pattern p of job j is the
 * product of the domains of p's placeholders; a placeholder without a
 * domain accepts any value (the space is then open-ended). p NULL means
 * the first of j's patterns that matches ref.
 *
 * job_space_contains: 1 if ref matches p and each value is in its
 * variable's domain; 0 otherwise with err (may be NULL):
 *   ref 'raw/date=2025-01-01' is outside the partitions of job 'ingest':
 *   variable 'date': date '2025-01-01' is outside domain 'day2024'
 *   (dates 2024-01-01..2024-12-31)
 * -1 when a command domain cannot be read.
 */
int job_space_contains(const struct job *j, const struct pattern *p, const char *ref,
		       struct strbuf *err);
/*
 * graph_lookup, then job_space_contains: what the mount's lookup and the
 * command line ask of a ref. 1 with *out set when ref is a partition of
 * the graph; 0 when it is not (no job, two jobs, or outside the job's
 * space: ENOENT, exit 2), with err; -1 when a command domain cannot be
 * read (err says why), *out then set to the job.
 */
int graph_resolve(const struct graph *g, const char *ref, struct job **out,
		  struct strbuf *err);

/*
 * The number of refs in p's space (saturating at UINT64_MAX): 0, or -1
 * with err when a variable is open-ended ("variable 'x' of job 'j' has no
 * domain: its partitions are open-ended") or a command domain fails.
 */
int job_space_count(const struct job *j, const struct pattern *p, uint64_t *count,
		    struct strbuf *err);
/*
 * Position of ref in the order of space_iter (for health bars), or -1 if
 * ref is not in the space or a variable is open-ended. Domains must be
 * ready (job_space_count makes them so).
 */
int64_t job_space_index(const struct job *j, const struct pattern *p, const char *ref);

/*
 * Streams the refs of p's space, or of a selection written as a ref whose
 * placeholder values may be globs or ranges (model/domain.h):
 *   report/date=2024-02-*
 *   raw/station=n?rth/date=2024-01-0[1-7]
 *   report/date=2024-01-01..2024-03-31
 * Order: placeholder order, the last placeholder varying fastest, each
 * in its domain's order. Memory is constant (one buffer per placeholder
 * and one for the ref). Literal text of the pattern must be spelled out
 * (globs apply to placeholder values only). An open-ended placeholder
 * accepts a plain value and refuses a glob, a range (any text with "..")
 * or the whole space (NULL expr):
 *   variable 'station' of job 'ingest' has no domain: glob '*' needs one
 * A glob that matches nothing yields no ref. The iterator borrows j and p.
 * A source job's space holds what its domains allow; which of those files
 * exist is planner/source.h's question.
 *
 *   struct space_iter it;
 *   if (space_iter_init(&it, j, NULL, "report/date=2024-02-*", &err) < 0) ...
 *   for (const char *ref; (ref = space_iter_next(&it)); ) ...
 *   space_iter_release(&it);
 */
struct space_iter {
	const struct job *job;
	const struct pattern *pattern;
	size_t nr;                  /* placeholders of pattern */
	struct domain_iter *vars;   /* one per placeholder */
	const char **cur;           /* the current value of each */
	struct strvec exprs;        /* the selection's text per placeholder */
	struct strbuf ref;
	int state;                  /* 0 before the first ref, 1 running, 2 done */
	struct pattern segment;     /* space_iter_init_below: the listed segment (owned) */
};

/* 0, or -1 with err (it is released either way on failure). */
int space_iter_init(struct space_iter *it, const struct job *j, const struct pattern *p,
		    const char *expr, struct strbuf *err);
/*
 * Directory listings: the distinct texts of the segment that follows dir
 * (a ref prefix, "" for the root) among the refs of p's space, in order.
 * Under raw/station={station}/date={date}, dir "raw" lists
 * "station=north", "station=south", ...; dir "raw/station=north" lists
 * "date=2024-01-01", ... (space_iter_next then returns segment texts, not
 * refs). dir must match p's leading segments with values in their
 * domains; every placeholder of the listed segment needs a domain (a
 * literal segment is listed once). Errors:
 *   'raw/station=west' is outside the partitions of job 'ingest':
 *   variable 'station': 'west' is not in domain 'station' (...)
 *   variable 'key' of job 'free' has no domain: its partitions cannot be listed
 */
int space_iter_init_below(struct space_iter *it, const struct job *j, const struct pattern *p,
			  const char *dir, struct strbuf *err);
/* graph_lookup of expr, then space_iter_init with the job's matching pattern. */
int graph_expand_init(struct space_iter *it, const struct graph *g, const char *expr,
		      struct strbuf *err);
/* The next ref (valid until the next call), or NULL at the end. */
const char *space_iter_next(struct space_iter *it);
void space_iter_release(struct space_iter *it);

/*
 * Source jobs: the file of a ref and the ref of a file (pure: nothing is
 * looked at on disk). job_source_path sets out to the path of ref's file
 * ("/srv/drops/2024-01-01.csv") and returns 1, or 0 if ref is not one of
 * j's. job_source_ref sets out to the ref of an absolute path and returns
 * 1, or 0 if path does not match j's source pattern or gives no valid ref.
 * Both return 0 for jobs that are not sources.
 */
int job_source_path(const struct job *j, const char *ref, struct strbuf *out);
int job_source_ref(const struct job *j, const char *path, struct strbuf *out);

/*
 * Appends refs quoted and comma-separated, at most max of them then
 * " and N more": `'a', 'b', 'c', 'd', 'e' and 3 more`. For messages.
 */
void refs_describe(const char *const *refs, size_t nr, size_t max, struct strbuf *out);

#endif
