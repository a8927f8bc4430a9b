#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "model/ref.h"
#include "service/internal.h"
#include "service/query.h"

/*
 * GET /api/datasets, /api/partitions and /api/partitions/REF: the
 * catalog's partitions, grouped, paged and one by one.
 */

/* Partitions read per catalog query when a handler walks many. */
#define PAGE 1000
/* At most this many downstream refs in a partition's reply. */
#define DOWNSTREAM_MAX 1000

/* --- GET /api/datasets */

struct dataset_counts {
	int64_t n[PART_STATUS_NR];
	int64_t total;
};

/*
 * The datasets of output patterns whose variables all have domains, counted
 * over their domains: what the catalog holds inside the domain by status,
 * the rest missing (as `databuild status` counts them). Replaces the
 * catalog-only counts of a dataset of the same name, or adds one that has
 * no partition yet. 0, or -1 with err.
 */
static int domain_counts(const struct graph *g, struct catalog *c, struct strmap *m,
			 struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	int ret = -1;

	for (size_t j = 0; j < g->jobs_nr; j++) {
		const struct job *job = &g->jobs[j];

		for (size_t k = 0; k < job->outputs_nr; k++) {
			const struct pattern *p = &job->outputs[k];
			struct dataset_counts *dc = xcalloc(1, sizeof(*dc));
			char *prefix = xstrndup(p->text, p->literal_prefix), *after = NULL;
			uint64_t total = 0, known = 0;
			int open_ended = 0, rc = 0;

			for (size_t v = 0; v < p->names.nr && !open_ended; v++)
				open_ended = !job_domain(job, p->names.v[v]);
			if (open_ended || job_space_count(job, p, &total, NULL) < 0) {
				free(dc);
				free(prefix);
				continue;
			}
			for (;;) {
				struct partition_list page = PARTITION_LIST_INIT;
				size_t got;

				rc = catalog_list_partitions(c, prefix, after, PAGE, 0, &page, err);
				for (size_t i = 0; rc >= 0 && i < page.nr; i++) {
					if (!pattern_match(p, page.items[i].ref, NULL) ||
					    job_space_contains(job, p, page.items[i].ref, NULL) != 1)
						continue;
					dc->n[page.items[i].status]++;
					known++;
				}
				got = page.nr;
				if (rc >= 0 && got) {
					free(after);
					after = xstrdup(page.items[got - 1].ref);
				}
				partition_list_release(&page);
				if (rc < 0 || got < PAGE)
					break;
			}
			free(prefix);
			free(after);
			if (rc < 0) {
				free(dc);
				goto out;
			}
			dc->n[PART_MISSING] = (int64_t)(total - known);
			dc->total = (int64_t)total;
			strbuf_reset(&name);
			pattern_dataset_name(p->text, &name);
			free(strmap_put(m, name.buf, dc));
		}
	}
	ret = 0;
out:
	strbuf_release(&name);
	return ret;
}

enum MHD_Result api_datasets(const struct api_request *rq, struct catalog *c)
{
	struct strmap m = STRMAP_INIT;
	struct strvec names = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, name = STRBUF_INIT;
	char *after = NULL;
	cJSON *list = NULL, *o;
	enum MHD_Result ret;
	const char *k;
	void *v;

	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		int rc = catalog_list_partitions(c, "", after, PAGE, 0, &page, &err);

		for (size_t i = 0; rc >= 0 && i < page.nr; i++) {
			struct dataset_counts *dc;

			strbuf_reset(&name);
			strbuf_add(&name, page.items[i].ref, dataset_len(page.items[i].ref));
			if (!(dc = strmap_get(&m, name.buf))) {
				dc = xcalloc(1, sizeof(*dc));
				strmap_put(&m, name.buf, dc);
			}
			dc->n[page.items[i].status]++;
			dc->total++;
		}
		size_t got = page.nr;

		if (rc >= 0 && got) {
			free(after);
			after = xstrdup(page.items[got - 1].ref);
		}
		partition_list_release(&page);
		if (rc < 0) {
			ret = api_catalog_failed(rq, &err);
			goto out;
		}
		if (got < PAGE)
			break;
	}
	if (domain_counts(rq->svc->opts.graph, c, &m, &err) < 0) {
		ret = api_catalog_failed(rq, &err);
		goto out;
	}
	for (size_t i = 0; strmap_next(&m, &i, &k, NULL); )
		strvec_push(&names, k);
	strvec_sort(&names, 0);
	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "datasets");
	for (size_t i = 0; i < names.nr; i++) {
		struct dataset_counts *dc = strmap_get(&m, names.v[i]);
		cJSON *d = cJSON_CreateObject(), *counts;

		cJSON_AddStringToObject(d, "name", names.v[i]);
		json_add_int64(d, "partitions", dc->total);
		counts = cJSON_AddObjectToObject(d, "counts");
		for (int s = PART_MISSING + 1; s < PART_STATUS_NR; s++)
			json_add_int64(counts, part_status_name((enum part_status)s), dc->n[s]);
		json_add_int64(counts, "missing", dc->n[PART_MISSING]);
		cJSON_AddItemToArray(list, d);
	}
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
out:
	for (size_t i = 0; strmap_next(&m, &i, NULL, &v); )
		free(v);
	strmap_clear(&m);
	strvec_clear(&names);
	strbuf_release(&name);
	strbuf_release(&err);
	free(after);
	return ret;
}

/* --- GET /api/partitions?dataset=D&state=S&after=CURSOR&limit=N */

enum MHD_Result api_partitions(const struct api_request *rq, struct catalog *c)
{
	const char *dataset = api_arg(rq, "dataset"), *after_arg = api_arg(rq, "after");
	struct strbuf err = STRBUF_INIT, prefix = STRBUF_INIT;
	char *after = NULL, *next = NULL;
	unsigned mask;
	size_t limit, got = 0;
	int more = 0;
	cJSON *o = NULL, *items;
	enum MHD_Result ret;

	if ((dataset && query_dataset(dataset, &err) < 0) ||
	    query_states(api_arg(rq, "state"), &mask, &err) < 0 ||
	    (after_arg && query_ref("after", after_arg, &err) < 0) ||
	    query_limit(api_arg(rq, "limit"), &limit, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	if (dataset)
		strbuf_addf(&prefix, "%s/", dataset);
	after = after_arg ? xstrdup(after_arg) : NULL;
	o = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(o, "partitions");
	/* one more than asked, to know whether there is a next page */
	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		size_t want = limit + 1 - got < PAGE ? limit + 1 - got : PAGE;
		int rc = catalog_list_partitions(c, prefix.buf, after, want, mask, &page, &err);

		for (size_t i = 0; rc >= 0 && i < page.nr && !more; i++) {
			if (got == limit) {
				more = 1;
				break;
			}
			cJSON_AddItemToArray(items, api_partition_json(&page.items[i]));
			got++;
			free(next);
			next = xstrdup(page.items[i].ref);
		}
		size_t page_nr = page.nr;

		if (page_nr) {
			free(after);
			after = xstrdup(page.items[page_nr - 1].ref);
		}
		partition_list_release(&page);
		if (rc < 0) {
			ret = api_catalog_failed(rq, &err);
			goto out;
		}
		if (more || page_nr < want)
			break;
	}
	json_add_string_or_null(o, "next", more ? next : NULL);
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
	o = NULL;
out:
	cJSON_Delete(o);
	free(after);
	free(next);
	strbuf_release(&prefix);
	strbuf_release(&err);
	return ret;
}

/* --- GET /api/partitions/REF */

cJSON *api_ref_state_json(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct partition p;
	cJSON *o = NULL;

	if (catalog_get_partition(c, ref, &p, err) < 0)
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ref", ref);
	api_add_dataset(o, ref);
	cJSON_AddStringToObject(o, "status", part_status_name(p.status));
out:
	partition_release(&p);
	return o;
}

/* The reply's "inputs": the manifest's inputs, each with its status now. */
static cJSON *inputs_json(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; m && i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];
		cJSON *o = api_ref_state_json(c, in->ref, err);

		if (!o) {
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddStringToObject(o, "dep_type", dep_type_name(in->type));
		cJSON_AddStringToObject(o, "sha256", in->sha256);
		json_add_string_or_null(o, "run_id", in->run_id);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *downstream_json(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct strvec refs = STRVEC_INIT;
	cJSON *arr = NULL;

	if (catalog_lineage(c, ref, 1, &refs, err) < 0)
		goto out;
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < refs.nr && i < DOWNSTREAM_MAX; i++) {
		cJSON *o = api_ref_state_json(c, refs.v[i], err);

		if (!o) {
			cJSON_Delete(arr);
			arr = NULL;
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
	}
out:
	strvec_clear(&refs);
	return arr;
}

/* 404 for a ref no job produces; 200 "missing" for one a job would. */
/* Versions shown per partition: the newest ones (the CLI's history has them all). */
#define API_VERSIONS_MAX 100

/* The newest API_VERSIONS_MAX versions of ref, newest first, or NULL (err). */
static cJSON *versions_json(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct version_list l = VERSION_LIST_INIT;
	cJSON *a = NULL;

	if (catalog_list_versions(c, ref, &l, err) < 0)
		goto out;
	a = cJSON_CreateArray();
	for (size_t i = l.nr, n = 0; i-- > 0 && n < API_VERSIONS_MAX; n++)
		cJSON_AddItemToArray(a, version_to_json(&l.items[i]));
out:
	version_list_release(&l);
	return a;
}

static enum MHD_Result partition_missing(const struct api_request *rq, struct catalog *c,
					 const char *ref)
{
	const struct graph *g = rq->svc->opts.graph;
	struct strbuf err = STRBUF_INIT;
	const struct job *j = g->lookup.nr ? NULL : graph_lookup(g, ref, &err);
	enum MHD_Result ret;
	cJSON *o, *p;

	if (!j && !g->lookup.nr) {
		struct strbuf msg = STRBUF_INIT;

		strbuf_addstr(&msg, "partition '");
		ref_addquoted(&msg, ref);
		strbuf_addf(&msg, "': not in the catalog, and %s", err.buf);
		ret = reply_error_buf(rq->conn, MHD_HTTP_NOT_FOUND, &msg);
		strbuf_release(&msg);
		goto out;
	}
	o = cJSON_CreateObject();
	p = cJSON_AddObjectToObject(o, "partition");
	cJSON_AddStringToObject(p, "ref", ref);
	api_add_dataset(p, ref);
	cJSON_AddStringToObject(p, "status", part_status_name(PART_MISSING));
	json_add_string_or_null(p, "job", j ? j->label : NULL);
	cJSON_AddNullToObject(o, "manifest");
	cJSON_AddArrayToObject(o, "inputs");
	cJSON_AddArrayToObject(o, "downstream");
	cJSON_AddArrayToObject(o, "runs");
	cJSON_AddNullToObject(o, "reason");
	/* a removed partition keeps its versions */
	if (!(p = versions_json(c, ref, &err))) {
		cJSON_Delete(o);
		ret = api_catalog_failed(rq, &err);
		goto out;
	}
	cJSON_AddItemToObject(o, "versions", p);
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
out:
	strbuf_release(&err);
	return ret;
}

enum MHD_Result api_partition(const struct api_request *rq, struct catalog *c,
			      const char *ref)
{
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	struct manifest m;
	int rc, have_m = 0;
	cJSON *o = NULL, *part, *x;
	enum MHD_Result ret;

	partition_init(&p);
	manifest_init(&m);
	if (ref_validate(ref, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	if ((rc = catalog_get_partition(c, ref, &p, &err)) < 0)
		goto failed;
	if (!rc) {
		ret = partition_missing(rq, c, ref);
		goto out;
	}
	if (p.published_run) {
		manifest_release(&m);
		if ((rc = catalog_get_manifest(c, p.published_run, &m, &err)) < 0)
			goto failed;
		have_m = rc > 0;
	}
	o = cJSON_CreateObject();
	part = api_partition_json(&p);
	cJSON_AddItemToObject(o, "partition", part);
	cJSON_AddItemToObject(o, "manifest", have_m ? manifest_to_json(&m) : cJSON_CreateNull());
	if (!(x = inputs_json(c, have_m ? &m : NULL, &err)))
		goto failed;
	cJSON_AddItemToObject(o, "inputs", x);
	if (!(x = downstream_json(c, ref, &err)))
		goto failed;
	cJSON_AddItemToObject(o, "downstream", x);
	x = cJSON_AddArrayToObject(o, "runs");
	if (p.run_id && api_add_run(c, p.run_id, x, &err) < 0)
		goto failed;
	if (p.published_run && (!p.run_id || strcmp(p.run_id, p.published_run)) &&
	    api_add_run(c, p.published_run, x, &err) < 0)
		goto failed;
	json_add_string_or_null(o, "reason", p.error);
	if (!(x = versions_json(c, ref, &err)))
		goto failed;
	cJSON_AddItemToObject(o, "versions", x);
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
	o = NULL;
	goto out;
failed:
	ret = api_catalog_failed(rq, &err);
out:
	cJSON_Delete(o);
	partition_release(&p);
	manifest_release(&m);
	strbuf_release(&err);
	return ret;
}
