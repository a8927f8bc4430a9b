#include <stdlib.h>
#include <string.h>

#include "model/ref.h"
#include "service/internal.h"
#include "service/query.h"

/*
 * The JSON API (docs/api.md): the routes under /api/, the helpers every
 * handler shares, and the handlers that start or change things (builds,
 * taint) or stream (events). The reading handlers live in partitions.c,
 * lineage.c and runs.c. Each handler answers exactly once; errors are
 * {"error": "..."} naming the parameter, ref or id at fault. Handlers read
 * the catalog through a handle of the request's own and never wait on a
 * build.
 */

const char *api_arg(const struct api_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result not_allowed(const struct api_request *rq, const char *allow)
{
	cJSON *o = cJSON_CreateObject();
	struct strbuf msg = STRBUF_INIT;

	strbuf_addf(&msg, "method %s: /api/%s accepts %s", rq->method, rq->path, allow);
	cJSON_AddStringToObject(o, "error", msg.buf);
	strbuf_release(&msg);
	return reply_json_with(rq->conn, MHD_HTTP_METHOD_NOT_ALLOWED, o, MHD_HTTP_HEADER_ALLOW,
			       allow);
}

enum MHD_Result api_not_found(const struct api_request *rq)
{
	struct strbuf msg = STRBUF_INIT;
	enum MHD_Result ret;

	strbuf_addstr(&msg, "path '/api/");
	ref_addquoted(&msg, rq->path);
	strbuf_addstr(&msg, "': no such endpoint (see docs/api.md)");
	ret = reply_error_buf(rq->conn, MHD_HTTP_NOT_FOUND, &msg);
	strbuf_release(&msg);
	return ret;
}

enum MHD_Result api_catalog_failed(const struct api_request *rq, const struct strbuf *err)
{
	return reply_error_buf(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
}

void api_add_dataset(cJSON *o, const char *ref)
{
	char *d = xstrndup(ref, dataset_len(ref));

	cJSON_AddStringToObject(o, "dataset", d);
	free(d);
}

cJSON *api_partition_json(const struct partition *p)
{
	cJSON *o = partition_to_json(p);

	api_add_dataset(o, p->ref);
	return o;
}

int api_check_id(const struct api_request *rq, const char *what, const char *id,
		 enum MHD_Result *ret)
{
	struct strbuf msg = STRBUF_INIT;
	size_t n = strlen(id);

	if (n && n <= 18 && strspn(id, "0123456789") == n)
		return 0;
	strbuf_addf(&msg, "%s id '", what);
	ref_addquoted(&msg, id);
	strbuf_addstr(&msg, "': expected a decimal number");
	*ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &msg);
	strbuf_release(&msg);
	return -1;
}

/* --- GET /api/events (SSE) */

static enum MHD_Result get_events(const struct api_request *rq)
{
	const char *last = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
						       "Last-Event-ID");
	struct strbuf err = STRBUF_INIT;
	struct MHD_Response *r;
	enum MHD_Result ret;
	int64_t after;

	if ((last ? query_seq("Last-Event-ID", last, &after, &err) :
	     query_seq("after", api_arg(rq, "after"), &after, &err)) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	if (!(r = stream_events(rq->svc, after, &err))) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, &err);
		goto out;
	}
	ret = MHD_queue_response(rq->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
out:
	strbuf_release(&err);
	return ret;
}

/* --- POST /api/builds, GET /api/builds/ID, POST /api/builds/ID/cancel */

static enum MHD_Result post_builds(const struct api_request *rq)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, url = STRBUF_INIT;
	enum MHD_Result ret;
	int64_t id;
	cJSON *o;

	if (body_refs(rq->body, rq->body_len, &refs, NULL, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	if (builds_start(rq->svc, &refs, &id, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, &err);
		goto out;
	}
	strbuf_addf(&url, "/api/builds/%lld", (long long)id);
	o = cJSON_CreateObject();
	json_add_int64(o, "id", id);
	cJSON_AddStringToObject(o, "state", "running");
	cJSON_AddStringToObject(o, "url", url.buf);
	ret = reply_json_with(rq->conn, MHD_HTTP_ACCEPTED, o, MHD_HTTP_HEADER_LOCATION, url.buf);
out:
	strvec_clear(&refs);
	strbuf_release(&url);
	strbuf_release(&err);
	return ret;
}

static enum MHD_Result get_build(const struct api_request *rq, const char *id)
{
	enum MHD_Result ret;
	cJSON *o;

	if (api_check_id(rq, "build", id, &ret) < 0)
		return ret;
	if (!(o = builds_json(&rq->svc->builds, strtoll(id, NULL, 10))))
		return reply_error(rq->conn, MHD_HTTP_NOT_FOUND,
				   "build '%s': not started by this service", id);
	return reply_json(rq->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result post_cancel(const struct api_request *rq, const char *id)
{
	enum MHD_Result ret;
	cJSON *o;
	int rc;

	if (api_check_id(rq, "build", id, &ret) < 0)
		return ret;
	rc = builds_cancel(&rq->svc->builds, strtoll(id, NULL, 10));
	if (!rc)
		return reply_error(rq->conn, MHD_HTTP_NOT_FOUND,
				   "build '%s': not started by this service", id);
	if (rc < 0)
		return reply_error(rq->conn, MHD_HTTP_CONFLICT, "build '%s': already finished",
				   id);
	o = cJSON_CreateObject();
	json_add_int64(o, "id", strtoll(id, NULL, 10));
	cJSON_AddStringToObject(o, "state", "cancelling");
	return reply_json(rq->conn, MHD_HTTP_ACCEPTED, o);
}

/* --- POST /api/taint */

static enum MHD_Result post_taint(const struct api_request *rq, struct catalog *c)
{
	struct strvec refs = STRVEC_INIT, changed = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	enum MHD_Result ret;
	int downstream = 0;
	cJSON *o = NULL, *arr;

	if (body_refs(rq->body, rq->body_len, &refs, &downstream, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	for (size_t i = 0; i < refs.nr; i++) {
		struct partition p;
		int rc = catalog_get_partition(c, refs.v[i], &p, &err);

		partition_release(&p);
		if (rc < 0)
			goto failed;
		if (!rc) {
			strbuf_addstr(&err, "partition '");
			ref_addquoted(&err, refs.v[i]);
			strbuf_addstr(&err, "': not in the catalog (nothing to taint)");
			ret = reply_error_buf(rq->conn, MHD_HTTP_NOT_FOUND, &err);
			goto out;
		}
	}
	if (catalog_taint(c, &refs, downstream, 0, &changed, &err) < 0)
		goto failed;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "changed");
	for (size_t i = 0; i < changed.nr; i++) {
		cJSON *x = api_ref_state_json(c, changed.v[i], &err);

		if (!x)
			goto failed;
		cJSON_AddItemToArray(arr, x);
	}
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
	o = NULL;
	goto out;
failed:
	ret = api_catalog_failed(rq, &err);
out:
	cJSON_Delete(o);
	strvec_clear(&refs);
	strvec_clear(&changed);
	strbuf_release(&err);
	return ret;
}

/* --- routing */

static int is(const struct api_request *rq, const char *method)
{
	return !strcmp(rq->method, method) ||
		(!strcmp(method, MHD_HTTP_METHOD_GET) && !strcmp(rq->method, MHD_HTTP_METHOD_HEAD));
}

/* path == prefix + rest: *rest set. */
static int under(const char *path, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) || !path[n])
		return 0;
	*rest = path + n;
	return 1;
}

/* 1 if path is one of the GET routes of route_catalog. */
static int catalog_route_known(const char *p)
{
	const char *rest, *slash;

	if (!strcmp(p, "datasets") || !strcmp(p, "partitions") || !strcmp(p, "graph") ||
	    !strcmp(p, "runs") || under(p, "partitions/", &rest))
		return 1;
	if (!under(p, "runs/", &rest))
		return 0;
	slash = strchr(rest, '/');
	return !slash || !strcmp(slash, "/log");
}

/* The routes that read the catalog, with the request's handle. */
static enum MHD_Result route_catalog(const struct api_request *rq, struct catalog *c)
{
	const char *p = rq->path, *rest;
	const char *slash;

	if (!strcmp(p, "datasets"))
		return api_datasets(rq, c);
	if (!strcmp(p, "partitions"))
		return api_partitions(rq, c);
	if (under(p, "partitions/", &rest))
		return api_partition(rq, c, rest);
	if (!strcmp(p, "graph"))
		return api_graph(rq, c);
	if (!strcmp(p, "runs"))
		return api_runs(rq, c);
	if (under(p, "runs/", &rest)) {
		slash = strchr(rest, '/');
		if (!slash)
			return api_run(rq, c, rest);
		if (!strcmp(slash, "/log")) {
			char *id = xstrndup(rest, (size_t)(slash - rest));
			enum MHD_Result ret = api_run_log(rq, c, id);

			free(id);
			return ret;
		}
	}
	return api_not_found(rq);
}

enum MHD_Result api_handle(struct api_request *rq)
{
	const char *p = rq->path, *rest;
	struct strbuf err = STRBUF_INIT;
	struct catalog *c;
	enum MHD_Result ret;

	if (!strcmp(p, "builds"))
		return is(rq, MHD_HTTP_METHOD_POST) ? post_builds(rq) : not_allowed(rq, "POST");
	if (under(p, "builds/", &rest)) {
		const char *slash = strchr(rest, '/');

		if (!slash)
			return is(rq, MHD_HTTP_METHOD_GET) ? get_build(rq, rest) :
				not_allowed(rq, "GET");
		if (!strcmp(slash, "/cancel")) {
			char *id = xstrndup(rest, (size_t)(slash - rest));

			ret = is(rq, MHD_HTTP_METHOD_POST) ? post_cancel(rq, id) :
				not_allowed(rq, "POST");
			free(id);
			return ret;
		}
		return api_not_found(rq);
	}
	if (!strcmp(p, "events"))
		return is(rq, MHD_HTTP_METHOD_GET) ? get_events(rq) : not_allowed(rq, "GET");
	if (!strcmp(p, "taint") && !is(rq, MHD_HTTP_METHOD_POST))
		return not_allowed(rq, "POST");
	if (strcmp(p, "taint") && !catalog_route_known(p))
		return api_not_found(rq);
	if (strcmp(p, "taint") && !is(rq, MHD_HTTP_METHOD_GET))
		return not_allowed(rq, "GET");
	if (!(c = service_catalog_open(rq->svc, &err))) {
		ret = api_catalog_failed(rq, &err);
		goto out;
	}
	ret = !strcmp(p, "taint") ? post_taint(rq, c) : route_catalog(rq, c);
	service_catalog_close(c);
out:
	strbuf_release(&err);
	return ret;
}
