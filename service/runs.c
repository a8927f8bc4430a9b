#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service/internal.h"
#include "service/query.h"

/*
 * GET /api/runs, /api/runs/ID and /api/runs/ID/log: job runs in the order
 * they started, one run, and its log (whole, a byte range, or followed).
 */

int api_add_run(struct catalog *c, const char *run_id, cJSON *arr, struct strbuf *err)
{
	struct run_record r;
	int rc;

	run_record_init(&r);
	rc = catalog_get_run(c, run_id, &r, err);
	if (rc > 0)
		cJSON_AddItemToArray(arr, run_record_to_json(&r));
	run_record_release(&r);
	return rc < 0 ? -1 : 0;
}

/* --- GET /api/runs?after=SEQ&limit=N */

struct run_walk {
	struct strvec ids;
	int64_t last_seq;   /* the seq of the last run's start */
	size_t limit;
};

static int run_started(const struct event *e, void *arg)
{
	struct run_walk *w = arg;

	if (strcmp(e->type, EV_JOB_STARTED) || !e->run_id)
		return 0;
	strvec_push(&w->ids, e->run_id);
	w->last_seq = e->seq;
	return w->ids.nr >= w->limit;
}

enum MHD_Result api_runs(const struct api_request *rq, struct catalog *c)
{
	struct run_walk w = { .ids = STRVEC_INIT, .last_seq = 0, .limit = 0 };
	struct strbuf err = STRBUF_INIT;
	int64_t after;
	cJSON *o = NULL, *runs;
	enum MHD_Result ret;

	if (query_seq("after", api_arg(rq, "after"), &after, &err) < 0 ||
	    query_limit(api_arg(rq, "limit"), &w.limit, &err) < 0) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_BAD_REQUEST, &err);
		goto out;
	}
	if (catalog_read_events(c, after, 0, run_started, &w, &err) < 0)
		goto failed;
	o = cJSON_CreateObject();
	runs = cJSON_AddArrayToObject(o, "runs");
	for (size_t i = 0; i < w.ids.nr; i++)
		if (api_add_run(c, w.ids.v[i], runs, &err) < 0)
			goto failed;
	if (w.ids.nr >= w.limit)
		json_add_int64(o, "next", w.last_seq);
	else
		cJSON_AddNullToObject(o, "next");
	ret = reply_json(rq->conn, MHD_HTTP_OK, o);
	o = NULL;
	goto out;
failed:
	ret = api_catalog_failed(rq, &err);
out:
	cJSON_Delete(o);
	strvec_clear(&w.ids);
	strbuf_release(&err);
	return ret;
}

/* --- GET /api/runs/ID, /api/runs/ID/log */

/* Reads run id into r: 1, or 0 with the answer queued in *ret (404, 500). */
static int load_run(const struct api_request *rq, struct catalog *c, const char *id,
		    struct run_record *r, enum MHD_Result *ret)
{
	struct strbuf err = STRBUF_INIT;
	int rc = catalog_get_run(c, id, r, &err);

	if (rc < 0)
		*ret = api_catalog_failed(rq, &err);
	else if (!rc)
		*ret = reply_error(rq->conn, MHD_HTTP_NOT_FOUND, "run '%s': not in the catalog", id);
	strbuf_release(&err);
	return rc > 0;
}

enum MHD_Result api_run(const struct api_request *rq, struct catalog *c, const char *id)
{
	struct run_record r;
	enum MHD_Result ret;

	run_record_init(&r);
	if (api_check_id(rq, "run", id, &ret) < 0 || !load_run(rq, c, id, &r, &ret))
		goto out;
	ret = reply_json(rq->conn, MHD_HTTP_OK, run_record_to_json(&r));
out:
	run_record_release(&r);
	return ret;
}

/* The whole log, or the bytes of a Range: 200, 206 or 416. */
static enum MHD_Result log_file(const struct api_request *rq, const char *id, const char *path)
{
	const char *range = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_RANGE);
	struct MHD_Response *r;
	struct strbuf hdr = STRBUF_INIT;
	struct stat st;
	int64_t from = 0, to = -1;
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ret;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int saved = fd < 0 ? errno : 0;

		ret = reply_error(rq->conn, saved == ENOENT ? MHD_HTTP_NOT_FOUND :
				  MHD_HTTP_INTERNAL_SERVER_ERROR, "log of run '%s': cannot open "
				  "'%s': %s", id, path, saved ? strerror(saved) : "not a regular file");
		goto out;
	}
	to = st.st_size - 1;
	if (range && (rc = range_parse(range, st.st_size, &from, &to)) >= 0) {
		if (!rc) {
			strbuf_addf(&hdr, "bytes */%lld", (long long)st.st_size);
			r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
			reply_headers(r, "text/plain; charset=utf-8");
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, hdr.buf);
			ret = MHD_queue_response(rq->conn, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
			MHD_destroy_response(r);
			goto out;
		}
		status = MHD_HTTP_PARTIAL_CONTENT;
		strbuf_addf(&hdr, "bytes %lld-%lld/%lld", (long long)from, (long long)to,
			    (long long)st.st_size);
	}
	r = MHD_create_response_from_fd_at_offset64((uint64_t)(to - from + 1), fd,
						    (uint64_t)from);
	fd = -1;  /* the response owns it */
	reply_headers(r, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (hdr.len)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, hdr.buf);
	ret = MHD_queue_response(rq->conn, status, r);
	MHD_destroy_response(r);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&hdr);
	return ret;
}

enum MHD_Result api_run_log(const struct api_request *rq, struct catalog *c,
			    const char *id)
{
	const char *follow = api_arg(rq, "follow");
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	struct run_record r;
	enum MHD_Result ret;
	struct MHD_Response *resp;

	run_record_init(&r);
	if (api_check_id(rq, "run", id, &ret) < 0 || !load_run(rq, c, id, &r, &ret))
		goto out;
	if (follow && strcmp(follow, "0") && strcmp(follow, "1")) {
		ret = reply_error(rq->conn, MHD_HTTP_BAD_REQUEST,
				  "parameter 'follow': expected 0 or 1");
		goto out;
	}
	if (r.log_path)
		strbuf_addstr(&path, r.log_path);
	else
		store_log_path(rq->svc->opts.store, id, &path);
	if (!follow || !strcmp(follow, "0")) {
		ret = log_file(rq, id, path.buf);
		goto out;
	}
	if (!(resp = stream_log(rq->svc, id, path.buf, 0, &err))) {
		ret = reply_error_buf(rq->conn, MHD_HTTP_NOT_FOUND, &err);
		goto out;
	}
	ret = MHD_queue_response(rq->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
out:
	run_record_release(&r);
	strbuf_release(&path);
	strbuf_release(&err);
	return ret;
}
