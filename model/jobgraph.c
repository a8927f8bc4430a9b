#include <string.h>

#include "model/jobgraph.h"
#include "model/ref.h"

void job_graph_init(struct job_graph *g)
{
	memset(g, 0, sizeof(*g));
	strvec_init(&g->outputs);
}

void job_graph_release(struct job_graph *g)
{
	strvec_clear(&g->outputs);
	for (size_t i = 0; i < g->nodes_nr; i++) {
		free(g->nodes[i].job);
		free(g->nodes[i].reason);
		job_config_release(&g->nodes[i].config);
	}
	free(g->nodes);
	free(g->edges);
	for (size_t i = 0; i < g->pruned_nr; i++) {
		free(g->pruned[i].ref);
		free(g->pruned[i].job);
	}
	free(g->pruned);
	job_graph_init(g);
}

static struct graph_node *add_node(struct job_graph *g, const char *job, const char *reason)
{
	struct graph_node *n;

	ALLOC_GROW(g->nodes, g->nodes_nr + 1, g->nodes_alloc);
	n = &g->nodes[g->nodes_nr];
	n->id = g->nodes_nr++;
	n->job = xstrdup(job);
	n->reason = reason ? xstrdup(reason) : NULL;
	job_config_init(&n->config);
	return n;
}

struct graph_node *job_graph_add_node(struct job_graph *g, const char *job,
				      const struct job_config *config,
				      const char *reason)
{
	struct graph_node *n = add_node(g, job, reason);

	job_config_copy(&n->config, config);
	return n;
}

void job_graph_add_edge(struct job_graph *g, size_t from, size_t to)
{
	ALLOC_GROW(g->edges, g->edges_nr + 1, g->edges_alloc);
	g->edges[g->edges_nr].from = from;
	g->edges[g->edges_nr].to = to;
	g->edges_nr++;
}

void job_graph_add_pruned(struct job_graph *g, const char *ref, const char *job)
{
	ALLOC_GROW(g->pruned, g->pruned_nr + 1, g->pruned_alloc);
	g->pruned[g->pruned_nr].ref = xstrdup(ref);
	g->pruned[g->pruned_nr].job = job ? xstrdup(job) : NULL;
	g->pruned_nr++;
}

static int decode_outputs(struct job_graph *g, const cJSON *obj, const struct jpath *p,
			  struct strbuf *err)
{
	struct jpath mp = { p, "outputs", 0 };

	if (json_get_strvec(obj, p, "outputs", 1, &g->outputs, err) < 0)
		return -1;
	for (size_t i = 0; i < g->outputs.nr; i++) {
		struct jpath ep = { &mp, NULL, i };

		if (ref_validate_at(g->outputs.v[i], &ep, err) < 0)
			return -1;
	}
	return 0;
}

static int decode_nodes(struct job_graph *g, const cJSON *obj, const struct jpath *p,
			struct strbuf *err)
{
	struct jpath mp = { p, "nodes", 0 };
	const cJSON *arr;
	size_t i = 0;

	if (json_get_array(obj, p, "nodes", JSON_REQUIRED, "nodes", &arr, err) < 0)
		return -1;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct jpath idp = { &ep, "id", 0 };
		struct jpath jp = { &ep, "job", 0 };
		struct jpath cp = { &ep, "config", 0 };
		const cJSON *config;
		const char *job, *reason;
		struct graph_node *n;
		int64_t id;

		if (json_check_object(e, &ep, "a node object", err) < 0 ||
		    json_get_int64(e, &ep, "id", 1, &id, err) < 0)
			return -1;
		if (id < 0 || (uint64_t)id != i)
			return json_fail(err, &idp, "expected %zu (node ids are their index), "
					 "got %lld", i, (long long)id);
		if (json_get_string(e, &ep, "job", 1, &job, err) < 0)
			return -1;
		if (!*job)
			return json_fail(err, &jp, "expected a job label, got an empty string");
		if (json_get_nullable_string(e, &ep, "reason", &reason, err) < 0 ||
		    json_find(e, &ep, "config", 1, &config, err) < 0)
			return -1;
		n = add_node(g, job, reason);
		if (job_config_from_json(&n->config, config, &cp, err) < 0)
			return -1;
	}
	return 0;
}

static int decode_edge_end(const cJSON *e, const struct jpath *ep, const char *key,
			   size_t nodes, size_t *out, struct strbuf *err)
{
	struct jpath mp = { ep, key, 0 };
	int64_t v;

	if (json_get_int64(e, ep, key, 1, &v, err) < 0)
		return -1;
	if (v < 0 || (uint64_t)v >= nodes)
		return json_fail(err, &mp, "no node %lld (the graph has %zu)", (long long)v,
				 nodes);
	*out = (size_t)v;
	return 0;
}

static int decode_edges(struct job_graph *g, const cJSON *obj, const struct jpath *p,
			struct strbuf *err)
{
	struct jpath mp = { p, "edges", 0 };
	const cJSON *arr;
	size_t i = 0;

	if (json_get_array(obj, p, "edges", 0, "edges", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		size_t from, to;

		if (json_check_object(e, &ep, "an object {\"from\", \"to\"}", err) < 0 ||
		    decode_edge_end(e, &ep, "from", g->nodes_nr, &from, err) < 0 ||
		    decode_edge_end(e, &ep, "to", g->nodes_nr, &to, err) < 0)
			return -1;
		if (from >= to)
			return json_fail(err, &ep, "edge %zu -> %zu does not follow the "
					 "topological order of nodes", from, to);
		job_graph_add_edge(g, from, to);
	}
	return 0;
}

static int decode_pruned(struct job_graph *g, const cJSON *obj, const struct jpath *p,
			 struct strbuf *err)
{
	struct jpath mp = { p, "pruned", 0 };
	const cJSON *arr;
	size_t i = 0;

	if (json_get_array(obj, p, "pruned", 0, "pruned refs", &arr, err) < 0)
		return -1;
	if (!arr)
		return 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		struct jpath ep = { &mp, NULL, i };
		struct jpath rp = { &ep, "ref", 0 };
		const char *ref, *job;

		if (json_check_object(e, &ep, "an object {\"ref\", \"job\"}", err) < 0 ||
		    json_get_string(e, &ep, "ref", 1, &ref, err) < 0 ||
		    ref_validate_at(ref, &rp, err) < 0 ||
		    json_get_nullable_string(e, &ep, "job", &job, err) < 0)
			return -1;
		job_graph_add_pruned(g, ref, job);
	}
	return 0;
}

int job_graph_from_json(struct job_graph *g, const cJSON *obj,
			const struct jpath *p, struct strbuf *err)
{
	int ret = -1;

	job_graph_init(g);
	if (json_check_object(obj, p, "a job graph object", err) < 0 ||
	    decode_outputs(g, obj, p, err) < 0 || decode_nodes(g, obj, p, err) < 0 ||
	    decode_edges(g, obj, p, err) < 0 || decode_pruned(g, obj, p, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		job_graph_release(g);
	return ret;
}

int job_graph_parse(struct job_graph *g, const char *text, size_t len, struct strbuf *err)
{
	struct jpath root = JPATH_ROOT;
	cJSON *json;
	int ret;

	job_graph_init(g);
	if (!(json = json_parse(text, len, err)))
		return -1;
	ret = job_graph_from_json(g, json, &root, err);
	cJSON_Delete(json);
	return ret;
}

cJSON *job_graph_to_json(const struct job_graph *g)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *nodes = cJSON_CreateArray();
	cJSON *edges = cJSON_CreateArray();
	cJSON *pruned = cJSON_CreateArray();

	cJSON_AddItemToObject(obj, "outputs", json_strvec(&g->outputs));
	for (size_t i = 0; i < g->nodes_nr; i++) {
		const struct graph_node *n = &g->nodes[i];
		cJSON *o = cJSON_CreateObject();

		json_add_int64(o, "id", (int64_t)i);
		cJSON_AddStringToObject(o, "job", n->job);
		cJSON_AddItemToObject(o, "config", job_config_to_json(&n->config));
		json_add_string_or_null(o, "reason", n->reason);
		cJSON_AddItemToArray(nodes, o);
	}
	cJSON_AddItemToObject(obj, "nodes", nodes);
	for (size_t i = 0; i < g->edges_nr; i++) {
		cJSON *o = cJSON_CreateObject();

		json_add_int64(o, "from", (int64_t)g->edges[i].from);
		json_add_int64(o, "to", (int64_t)g->edges[i].to);
		cJSON_AddItemToArray(edges, o);
	}
	cJSON_AddItemToObject(obj, "edges", edges);
	for (size_t i = 0; i < g->pruned_nr; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "ref", g->pruned[i].ref);
		json_add_string_or_null(o, "job", g->pruned[i].job);
		cJSON_AddItemToArray(pruned, o);
	}
	cJSON_AddItemToObject(obj, "pruned", pruned);
	return obj;
}
