#ifndef DATABUILD_JOBGRAPH_H
#define DATABUILD_JOBGRAPH_H

#include "model/jobconfig.h"

/*
 * JobGraph: what must run, in dependency order, to produce
 * `outputs`.
 *
 * JSON form:
 *   {"outputs": ["ref", ...],
 *    "nodes": [{"id": 0, "job": "label", "config": <JobConfig>,
 *               "reason": "missing"}, ...],
 *    "edges": [{"from": 0, "to": 1}, ...],
 *    "pruned": [{"ref": "r", "job": "label"}, ...]}
 * Nodes are listed in a topological order (every edge goes from a lower
 * index to a higher one) and node ids equal their index. An edge from A to
 * B means B reads an output of A. `pruned` lists live partitions that
 * planned nodes read but that need no run (drawn distinctly by renderers).
 * `reason` says why the node runs: "missing", "stale: <why>", "forced",
 * "upstream" (it may be cut off at run time if its inputs come out
 * byte-identical); null when not given.
 * Decoding requires outputs and nodes (edges and pruned default to empty),
 * checks refs, ids, and that every edge joins existing nodes from a lower
 * to a higher index; encode(decode(j)) == j for any j produced by encode.
 */
struct graph_node {
	size_t id;
	char *job;
	char *reason;
	struct job_config config;
};

struct graph_edge {
	size_t from, to;
};

struct pruned_ref {
	char *ref;
	char *job;  /* may be NULL (e.g. a query input) */
};

struct job_graph {
	struct strvec outputs;
	struct graph_node *nodes;
	size_t nodes_nr, nodes_alloc;
	struct graph_edge *edges;
	size_t edges_nr, edges_alloc;
	struct pruned_ref *pruned;
	size_t pruned_nr, pruned_alloc;
};

void job_graph_init(struct job_graph *g);
void job_graph_release(struct job_graph *g);
/* Appends a node (id = index) with a copy of config; reason may be NULL. */
struct graph_node *job_graph_add_node(struct job_graph *g, const char *job,
				      const struct job_config *config,
				      const char *reason);
void job_graph_add_edge(struct job_graph *g, size_t from, size_t to);
void job_graph_add_pruned(struct job_graph *g, const char *ref, const char *job);

/* g is initialised by the callee (and left empty on error). */
int job_graph_from_json(struct job_graph *g, const cJSON *obj,
			const struct jpath *p, struct strbuf *err);
int job_graph_parse(struct job_graph *g, const char *text, size_t len, struct strbuf *err);
cJSON *job_graph_to_json(const struct job_graph *g);

#endif
