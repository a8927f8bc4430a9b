#include <stdint.h>
#include <string.h>

#include "core/strmap.h"
#include "service/internal.h"
#include "service/query.h"

/*
 * GET /api/graph: the lineage around a partition or of a dataset, from
 * the inputs the manifests recorded.
 */

/* At most this many nodes in a lineage graph (the reply says "truncated"). */
#define GRAPH_MAX 2000

/* --- GET /api/graph?ref=REF | ?dataset=D */

struct lineage {
	struct strmap index;   /* ref -> node number + 1 */
	struct strvec refs;    /* the nodes, in the order found */
	cJSON *edges;
	int truncated;
};

/* Adds ref as a node (once). 1 added or present, 0 full. */
static int node_add(struct lineage *l, const char *ref)
{
	if (strmap_contains(&l->index, ref))
		return 1;
	if (l->refs.nr >= GRAPH_MAX) {
		l->truncated = 1;
		return 0;
	}
	strvec_push(&l->refs, ref);
	strmap_put(&l->index, ref, (void *)(uintptr_t)l->refs.nr);
	return 1;
}

/*
 * The edges into node `to` from the inputs of the manifest that built
 * it; inputs not yet nodes are added when add_inputs, else skipped.
 */
static int node_edges(struct lineage *l, struct catalog *c, const char *to, int add_inputs,
		      struct strbuf *err)
{
	struct partition p;
	struct manifest m;
	int rc = 0;

	manifest_init(&m);
	if ((rc = catalog_get_partition(c, to, &p, err)) <= 0 || !p.published_run)
		goto out;
	manifest_release(&m);
	if ((rc = catalog_get_manifest(c, p.published_run, &m, err)) <= 0)
		goto out;
	for (size_t i = 0; i < m.inputs_nr; i++) {
		const char *from = m.inputs[i].ref;
		cJSON *e;

		if (add_inputs ? !node_add(l, from) : !strmap_contains(&l->index, from))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "from", from);
		cJSON_AddStringToObject(e, "to", to);
		cJSON_AddStringToObject(e, "dep_type", dep_type_name(m.inputs[i].type));
		cJSON_AddItemToArray(l->edges, e);
	}
out:
	partition_release(&p);
	manifest_release(&m);
	return rc < 0 ? -1 : 0;
}

/* The nodes of ?ref=: ref, its upstream and its downstream. */
static int lineage_of_ref(struct lineage *l, struct catalog *c, const char *ref,
			  struct strbuf *err)
{
	struct strvec up = STRVEC_INIT, down = STRVEC_INIT;
	int ret = -1;

	if (catalog_lineage(c, ref, 0, &up, err) < 0 || catalog_lineage(c, ref, 1, &down, err) < 0)
		goto out;
	node_add(l, ref);
	for (size_t i = 0; i < up.nr; i++)
		node_add(l, up.v[i]);
	for (size_t i = 0; i < down.nr; i++)
		node_add(l, down.v[i]);
	ret = 0;
	for (size_t i = 0; i < l->refs.nr && !ret; i++)
		ret = node_edges(l, c, l->refs.v[i], 0, err);
out:
	strvec_clear(&up);
	strvec_clear(&down);
	return ret;
}

/* The nodes of ?dataset=: the partitions under it and their direct inputs. */
static int lineage_of_dataset(struct lineage *l, struct catalog *c, const char *dataset,
			      struct strbuf *err)
{
	struct partition_list page = PARTITION_LIST_INIT;
	struct strbuf prefix = STRBUF_INIT;
	size_t members;
	int ret = -1;

	strbuf_addf(&prefix, "%s/", dataset);
	if (catalog_list_partitions(c, prefix.buf, NULL, GRAPH_MAX / 2, 0, &page, err) < 0)
		goto out;
	if (page.nr == GRAPH_MAX / 2)
		l->truncated = 1;
	for (size_t i = 0; i < page.nr; i++)
		node_add(l, page.items[i].ref);
	members = l->refs.nr;
	ret = 0;
	for (size_t i = 0; i < members && !ret; i++)
		ret = node_edges(l, c, l->refs.v[i], 1, err);
out:
	partition_list_release(&page);
	strbuf_release(&prefix);
	return ret;
}

enum MHD_Result api_graph(const struct api_request *rq, struct catalog *c)
{
	const char *ref = api_arg(rq, "ref"), *dataset = api_arg(rq, "dataset");
	struct lineage l = { .index = STRMAP_INIT, .refs = STRVEC_INIT, .edges = NULL,
			     .truncated = 0 };
	struct strbuf err = STRBUF_INIT;
	cJSON *o = NULL, *nodes;
	enum MHD_Result ret;
	int rc;

	if (!ref == !dataset) {
		ret = reply_error(rq->conn, MHD_HTTP_BAD_REQUEST,
				  "parameters 'ref' and 'dataset': give exactly one of them");
		goto out;
	}
	if (ref ? query_ref("ref", ref, &err) < 0 : query_dataset(dataset, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	l.edges = cJSON_CreateArray();
	rc = ref ? lineage_of_ref(&l, c, ref, &err) : lineage_of_dataset(&l, c, dataset, &err);
	if (rc < 0) {
		ret = api_catalog_failed(rq, &err);
		goto out;
	}
	o = cJSON_CreateObject();
	nodes = cJSON_AddArrayToObject(o, "nodes");
	for (size_t i = 0; i < l.refs.nr; i++) {
		struct partition p;
		cJSON *n;

		if (catalog_get_partition(c, l.refs.v[i], &p, &err) < 0) {
			partition_release(&p);
			ret = api_catalog_failed(rq, &err);
			goto out;
		}
		n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "ref", l.refs.v[i]);
		api_add_dataset(n, l.refs.v[i]);
		cJSON_AddStringToObject(n, "status", part_status_name(p.status));
		json_add_string_or_null(n, "job", p.job);
		cJSON_AddItemToArray(nodes, n);
		partition_release(&p);
	}
	cJSON_AddItemToObject(o, "edges", l.edges);
	l.edges = NULL;
	cJSON_AddBoolToObject(o, "truncated", l.truncated);
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
	o = NULL;
out:
	cJSON_Delete(o);
	cJSON_Delete(l.edges);
	strmap_clear(&l.index);
	strvec_clear(&l.refs);
	strbuf_release(&err);
	return ret;
}
