#ifndef DATABUILD_PLANNER_H
#define DATABUILD_PLANNER_H

#include "catalog/catalog.h"
#include "model/graph.h"
#include "model/jobconfig.h"
#include "model/jobgraph.h"

/*
 * The planner (docs/design/planner.md): refs -> JobGraph.
 *
 * Analyze: look up each ref's job; call each job's configure once per wave
 * with all of that job's refs of the wave; follow materialize inputs
 * recursively (query inputs must be live); memoise resolved refs; merge
 * identical configs; a multi-output config is one node for all its
 * outputs. Prune: partitions live and fresh in the catalog get no node.
 * Errors (all configuration errors, exit 2): cycles (as a chain of refs),
 * overlap (two configs claim one ref: both jobs named), configure failures
 * or omissions, lookup failures, a query input that is not live.
 */
enum freshness {
	FRESH_PRESENCE,  /* live is enough */
	FRESH_KEYS,      /* live and its build key matches the key computed now */
};
const char *freshness_name(enum freshness f);
int freshness_parse(const char *name);  /* -1 if unknown */

struct planner_opts {
	enum freshness freshness;
	int force;                 /* plan every requested ref even if fresh */
	int ignore_catalog;        /* plan as if nothing were live (data-dir renders) */
	long configure_timeout_ms; /* unless the job sets configure_timeout_s; default 120000 */
	/*
	 * Bytes of argv (strings and pointers) one configure or lookup call may
	 * take; a wave whose refs of one job exceed it calls configure several
	 * times. 0: half of sysconf(_SC_ARG_MAX) minus the environment.
	 */
	size_t arg_max;
	/*
	 * Readable => stop planning (-1: never): checked before every wave and
	 * every configure or lookup call, and a configure or lookup running
	 * then is killed; planner_plan then fails.
	 */
	int cancel_fd;
};
#define PLANNER_OPTS_INIT { .freshness = FRESH_KEYS, .force = 0, .ignore_catalog = 0, \
			    .configure_timeout_ms = 120000, .arg_max = 0, .cancel_fd = -1 }
/* 1 if fd (>= 0) is readable now, without consuming anything. */
int planner_cancelled(int fd);

struct planner_stats {
	size_t configure_calls;  /* configure processes run */
	size_t refs_resolved;    /* refs looked up and configured */
	size_t pruned;           /* needed refs left to their live partition */
};

/*
 * Plans refs (each must be a valid ref). catalog may be NULL: nothing is
 * live (with ignore_catalog, query inputs are not checked either: the
 * rendered script checks them). On success fills out (initialised by the
 * callee) and returns 0; on error returns -1 with a precise message in err
 * and out left empty. stats may be NULL.
 *
 * Node reasons: "forced", "missing", "missing: last run failed",
 * "missing: being built", "stale: tainted", "stale: upstream tainted",
 * "stale: <what changed>" (keys: the recorded build key differs from the
 * one computed now), "upstream" (keys: fresh itself but an input is
 * rebuilt; the executor may cut it off). Query inputs never make edges.
 */
int planner_plan(const struct graph *g, struct catalog *c, const struct strvec *refs,
		 const struct planner_opts *opts, struct job_graph *out,
		 struct planner_stats *stats, struct strbuf *err);

/*
 * Runs `job`'s configure with refs and decodes its answer; verifies every
 * requested ref is an output of exactly one config and every ref in them
 * is valid. Errors name the job, the refs, the JSON path and the tail of
 * stderr. (The foundation's job protocol, configure side.) The configure
 * is killed after the job's configure_timeout_s if it has one, else
 * timeout_ms (0: the default, 120 s), or as soon as cancel_fd (<= 0: none)
 * becomes readable ("... was cancelled").
 */
int planner_configure(const struct graph *g, const struct job *job,
		      const struct strvec *refs, long timeout_ms, int cancel_fd,
		      struct job_config_list *out, struct strbuf *err);

/*
 * Lookup for many refs: through the graph's lookup
 * executable if it has one, else pattern matching. jobs_out receives, for
 * refs->v[i], the job (index-aligned). Errors name the ref and candidates.
 */
int planner_lookup(const struct graph *g, const struct strvec *refs,
		   const struct job **jobs_out, long timeout_ms, int cancel_fd,
		   struct strbuf *err);

/* Renderers: `databuild plan --format F`. */
enum plan_format {
	PLAN_JSON,
	PLAN_MERMAID,
	PLAN_DOT,
	PLAN_BASH,
	PLAN_NINJA,
	PLAN_TEXT,
};
int plan_format_parse(const char *name);  /* -1 if unknown */

/*
 * Renders plan to out (appending). json is job_graph_to_json's text; text
 * a human summary; mermaid and dot one node per job run, pruned inputs
 * drawn apart; bash a standalone script and ninja a standalone ninja file
 * that run the nodes in order with the exec protocol, reading inputs from
 * and publishing outputs to data_dir (bash, ninja: required, absolute;
 * the bash script takes another as its argument). g is required for bash
 * and ninja (exec argv, the graph's directory). Plans for bash and ninja
 * are made with ignore_catalog. 0, or -1 with err (a job of the plan not
 * in g, a path ninja cannot name).
 */
int plan_render(const struct graph *g, const struct job_graph *plan, enum plan_format f,
		const char *data_dir, struct strbuf *out, struct strbuf *err);

#endif
