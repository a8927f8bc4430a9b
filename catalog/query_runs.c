/*
 * Builds, runs and manifests in the query layer (catalog/query.h): a build
 * begun and finished, a run begun, its pid, its end and its publish (one
 * batch per 64 manifests, or set-at-a-time over arrays), and the records
 * read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "core/array.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/strmap.h"

/* ---- builds ---------------------------------------------------------- */

struct finish_build_args {
	int64_t id;
	const char *status, *payload;
	int64_t t;
};

static int finish_build_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct finish_build_args *b = arg;
	struct qparams p = QPARAMS_INIT;
	long nch = 0;

	qp_int(&p, b->id);
	qp_text(&p, b->status);
	qp_int(&p, b->t);
	if (q_exec(c, Q_BUILD_FINISH, &p, &nch, err) < 0)
		return -1;
	if (!nch) {
		strbuf_addf(err, "catalog '%s': unknown build %lld", c->location,
			    (long long)b->id);
		return -1;
	}
	return q_event(c, b->t, b->id, EV_BUILD_FINISHED, NULL, 0, b->payload, NULL,
				err);
}

int q_finish_build(struct catalog *c, int64_t build_id, const char *status,
		   struct strbuf *err)
{
	cJSON *o = cJSON_CreateObject();
	struct finish_build_args b = { build_id, status, NULL, now_us() };
	char *payload;
	int ret;

	cJSON_AddStringToObject(o, "status", status);
	payload = rows_json_take(o);
	b.payload = payload;
	ret = q_backend(c)->write_tx(c, finish_build_tx, &b, err);
	free(payload);
	return ret;
}

static int read_build_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	struct build_record *out = arg;

	out->id = q_col_int(c, rows, 0);
	rows_strvec_from_json(&out->refs, q_backend(c)->text(rows, 1, NULL));
	out->requester = q_col_dup(c, rows, 2);
	out->status = q_col_dup(c, rows, 3);
	out->start_us = q_col_int(c, rows, 4);
	out->end_us = q_col_int(c, rows, 5);
	return 0;
}

int q_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
		struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_int(&p, build_id);
	return q_one(c, Q_BUILD_GET, &p, read_build_fn, out, err);
}

/* ---- runs ------------------------------------------------------------ */

struct run_row {
	struct run_record *r;
	char **prior;
};

static int read_run_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	struct run_row *rr = arg;
	struct run_record *r = rr->r;
	const char *status = q_backend(c)->text(rows, 4, NULL);
	int st = status ? run_status_parse(status) : -1;

	r->run_id = q_col_id(c, rows, 0);
	r->build_id = q_col_int(c, rows, 1);
	r->job = q_col_dup(c, rows, 2);
	r->config_json = q_col_dup(c, rows, 3);
	r->status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
	r->pid = (long)q_col_int(c, rows, 5);
	r->host = q_col_dup(c, rows, 6);
	r->start_us = q_col_int(c, rows, 7);
	r->end_us = q_col_int(c, rows, 8);
	r->exit_status = (int)q_col_int(c, rows, 9);
	r->log_path = q_col_dup(c, rows, 10);
	r->error = q_col_dup(c, rows, 11);
	rows_strvec_from_json(&r->outputs, q_backend(c)->text(rows, 12, NULL));
	if (rr->prior)
		*rr->prior = q_col_dup(c, rows, 13);
	return 0;
}

int q_get_run_row(struct catalog *c, int64_t id, struct run_record *r, char **prior,
		  struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	struct run_row rr = { r, prior };

	run_record_init(r);
	if (prior)
		*prior = NULL;
	qp_int(&p, id);
	return q_one(c, Q_RUN_GET, &p, read_run_fn, &rr, err);
}

int q_get_run(struct catalog *c, const char *run_id, struct run_record *out,
	      struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);

	return id ? q_get_run_row(c, id, out, NULL, err) : 0;
}

int q_set_run_pid(struct catalog *c, const char *run_id, long pid, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t id;
	long nch = 0;

	if (rows_run_id(c, run_id, &id, err) < 0)
		return -1;
	qp_int(&p, id);
	qp_int(&p, pid);
	if (q_exec(c, Q_RUN_PID, &p, &nch, err) < 0)
		return -1;
	if (!nch) {
		strbuf_addf(err, "catalog '%s': unknown run '%s'", c->location, run_id);
		return -1;
	}
	return 0;
}

int q_end_run(struct catalog *c, int64_t id, enum run_status status, int64_t t, int exit_status,
	      const char *error, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_int(&p, id);
	qp_text(&p, run_status_name(status));
	qp_int(&p, t);
	qp_int(&p, exit_status);
	qp_text(&p, error);
	return q_exec(c, Q_RUN_FINISH, &p, NULL, err);
}

struct finish_run_args {
	const char *run_id;
	int64_t id;
	enum run_status status;
	const char *ev;
	int exit_status;
	const char *error;
};

static int finish_run_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct finish_run_args *f = arg;

	return rows_finish_run(c, f->run_id, f->id, f->status, f->ev,
			       f->exit_status, f->error, q_backend(c)->retrying(c), now_us(), err);
}

int q_finish_run(struct catalog *c, const char *run_id, enum run_status status,
		 int exit_status, const char *error, struct strbuf *err)
{
	struct finish_run_args f = { run_id, 0, status, NULL, exit_status, error };

	if (!(f.ev = rows_end_event(c, run_id, status, err)) ||
	    rows_run_id(c, run_id, &f.id, err) < 0)
		return -1;
	return q_backend(c)->write_tx(c, finish_run_tx, &f, err);
}

/* ---- manifests ------------------------------------------------------- */

struct manifest_row {
	struct manifest *out;
	const char *run_id;
	struct strbuf *err;
};

static int read_manifest_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	struct manifest_row *mr = arg;
	size_t len = 0;
	const char *json = q_backend(c)->text(rows, 0, &len);

	if (manifest_parse(mr->out, json ? json : "", json ? len : 0, mr->err) < 0) {
		strbuf_addf(mr->err, " (manifest of run '%s' in catalog '%s')", mr->run_id,
			    c->location);
		return -1;
	}
	return 0;
}

int q_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
		   struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);
	struct qparams p = QPARAMS_INIT;
	struct manifest_row mr = { out, run_id, err };

	if (!id)
		return 0;
	qp_int(&p, id);
	return q_one(c, Q_MAN_GET, &p, read_manifest_fn, &mr, err);
}

static int read_durations_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	int64_t *avg_us = arg;

	*avg_us = q_col_int(c, rows, 1) && !q_backend(c)->is_null(rows, 0) ?
		(int64_t)q_backend(c)->real(rows, 0) : 0;
	return 0;
}

int q_last_durations(struct catalog *c, const char *job, size_t n, int64_t *avg_us,
		     struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, job);
	qp_int(&p, n ? (int64_t)n : QUERY_NO_LIMIT);
	return q_one(c, Q_DURATIONS, &p, read_durations_fn, avg_us, err) < 0 ? -1 : 0;
}


/* ---- builds begun ---------------------------------------------------- */

struct begin_build_args {
	const char *refs_json, *requester, *payload;
	int64_t t, id;
	const struct event *es;  /* appended after build_requested, with its id */
	struct event *scratch;   /* es with the build's id set: n entries */
	size_t n;
};

static int begin_build_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct begin_build_args *b = arg;
	struct qparams p = QPARAMS_INIT;
	int rc;

	if (B->new_id && B->new_id(c, Q_BUILD_INSERT, &b->id, err) < 0)
		return -1;
	if (b->id && B->retrying(c)) {
		/* the first attempt's COMMIT was lost: did it go through? */
		qp_int(&p, b->id);
		if ((rc = q_one(c, Q_BUILD_GET, &p, NULL, NULL, err)) != 0)
			return rc < 0 ? -1 : 0;
		p.n = 0;
	}
	qp_id(&p, b->id);
	qp_text(&p, b->refs_json);
	qp_text(&p, b->requester);
	qp_int(&p, b->t);
	if (q_one_int(c, Q_BUILD_INSERT, &p, &b->id, err) <= 0 ||
	    q_event(c, b->t, b->id, EV_BUILD_REQUESTED, NULL, 0, b->payload, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		b->scratch[i] = b->es[i];
		b->scratch[i].build_id = b->id;
	}
	return q_events_in_tx(c, b->scratch, b->n, err);
}

int q_begin_build(struct catalog *c, const struct strvec *refs, const char *requester,
		  const struct event *es, size_t n, int64_t *build_id, struct strbuf *err)
{
	cJSON *arr = cJSON_CreateArray(), *payload = cJSON_CreateObject();
	struct begin_build_args b = { NULL, requester ? requester : "cli", NULL, now_us(), 0,
				      es, xcalloc(n + 1, sizeof(*b.scratch)), n };
	char *refs_json, *payload_json;
	int ret;

	for (size_t i = 0; i < refs->nr; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(refs->v[i]));
	cJSON_AddItemReferenceToObject(payload, "refs", arr);
	cJSON_AddStringToObject(payload, "requester", b.requester);
	payload_json = rows_json_take(payload);
	refs_json = rows_json_take(arr);
	b.refs_json = refs_json;
	b.payload = payload_json;
	ret = q_backend(c)->write_tx(c, begin_build_tx, &b, err);
	if (!ret)
		*build_id = b.id;
	free(b.scratch);
	free(refs_json);
	free(payload_json);
	return ret;
}

/* ---- writes done one statement at a time ----------------------------- */

struct begin_run_args {
	struct run_record *run;
	int64_t id, t;
	int given;        /* the caller chose the run id */
	char *log_path;   /* the log path assigned when the run has none (owned) */
};

/* The job_started event's payload of run (log: its log path). */
static char *started_payload(const struct run_record *run, cJSON *outs, const char *log)
{
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddStringToObject(payload, "job", run->job);
	cJSON_AddItemReferenceToObject(payload, "outputs", outs);
	json_add_int64(payload, "pid", run->pid);
	if (run->host)
		cJSON_AddStringToObject(payload, "host", run->host);
	if (log)
		cJSON_AddStringToObject(payload, "log", log);
	return rows_json_take(payload);
}

/* Assigns the run its log path (<store>/logs/<run id>.log) unless it has one. */
static void assign_log_path(struct catalog *c, struct begin_run_args *b)
{
	struct strbuf path = STRBUF_INIT;
	char num[32];

	free(b->log_path);
	b->log_path = NULL;
	if (b->run->log_path)
		return;
	snprintf(num, sizeof(num), "%lld", (long long)b->id);
	store_log_path(c->store, num, &path);
	b->log_path = strbuf_detach(&path, NULL);
}

/*
 * Inserts the run's row: sent with its id when b->id is known, else
 * inserted at once for the id the database assigns (then its log path is
 * recorded after).
 */
static int insert_run(struct catalog *c, struct begin_run_args *b, const char *outs_json,
		      const char *prior_json, struct strbuf *err)
{
	struct run_record *run = b->run;
	struct qparams p = QPARAMS_INIT;

	qp_id(&p, b->id);
	qp_id(&p, run->build_id);
	qp_text(&p, run->job);
	qp_text(&p, run->config_json);
	qp_int(&p, run->pid);
	qp_text(&p, run->host);
	qp_int(&p, b->t);
	qp_text(&p, run->log_path ? run->log_path : b->log_path);
	qp_text(&p, outs_json);
	qp_text(&p, prior_json);
	if (b->id)
		return q_send(c, Q_RUN_INSERT, &p, NULL, err);
	if (q_one_int(c, Q_RUN_INSERT, &p, &b->id, err) <= 0)
		return -1;
	assign_log_path(c, b);
	if (!b->log_path)
		return 0;
	p.n = 0;
	qp_int(&p, b->id);
	qp_text(&p, b->log_path);
	return q_send(c, Q_RUN_LOG, &p, NULL, err);
}

/* The outputs' state before the run, as JSON (rows_prior_add). */
static int read_prior(struct catalog *c, const struct run_record *run, cJSON *outs,
		      cJSON *prior, struct strbuf *err)
{
	for (size_t i = 0; i < run->outputs.nr; i++) {
		struct partition part;
		int rc;

		cJSON_AddItemToArray(outs, cJSON_CreateString(run->outputs.v[i]));
		partition_init(&part);
		rc = q_get_partition(c, run->outputs.v[i], &part, err);
		if (rc >= 0)
			rows_prior_add(prior, run->outputs.v[i], &part);
		partition_release(&part);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int begin_run_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	static const enum query_id sent[] = {
		Q_RUN_INSERT, Q_RUN_LOG, Q_PART_INSERT, Q_DS_INSERT, Q_PART_BUILDING, Q_EV_INSERT,
	};
	const struct query_backend *B = q_backend(c);
	struct begin_run_args *b = arg;
	struct run_record *run = b->run;
	cJSON *outs = cJSON_CreateArray(), *prior = cJSON_CreateArray();
	char *outs_json = NULL, *prior_json = NULL, *payload = NULL;
	struct qparams p = QPARAMS_INIT;
	int ret = -1, rc, batched = 0;

	if (B->new_id && B->new_id(c, Q_RUN_INSERT, &b->id, err) < 0)
		goto out;
	if (b->id && B->retrying(c)) {
		/* the first attempt's COMMIT was lost: did it go through? */
		qp_int(&p, b->id);
		if ((rc = q_one(c, Q_RUN_GET, &p, NULL, NULL, err)) != 0) {
			ret = rc < 0 ? -1 : 0;
			goto out;
		}
	}
	if (read_prior(c, run, outs, prior, err) < 0)
		goto out;
	outs_json = cJSON_PrintUnformatted(outs);
	prior_json = cJSON_PrintUnformatted(prior);
	if (b->given && B->id_given && B->id_given(c, Q_RUN_INSERT, b->id, err) < 0)
		goto out;
	if (b->id)
		assign_log_path(c, b);
	if (B->batch_begin) {
		if (B->batch_begin(c, sent, sizeof(sent) / sizeof(sent[0]), err) < 0)
			goto out;
		batched = 1;
	}
	if (insert_run(c, b, outs_json, prior_json, err) < 0)
		goto out;
	for (size_t i = 0; i < run->outputs.nr; i++) {
		if (q_ensure_partition(c, run->outputs.v[i], PART_BUILDING, b->t, NULL, err) < 0)
			goto out;
		p.n = 0;
		qp_text(&p, run->outputs.v[i]);
		qp_int(&p, b->id);
		qp_text(&p, run->job);
		qp_int(&p, b->t);
		if (q_send(c, Q_PART_BUILDING, &p, NULL, err) < 0)
			goto out;
	}
	payload = started_payload(run, outs, run->log_path ? run->log_path : b->log_path);
	p.n = 0;
	q_ev_params(&p, b->t, run->build_id, EV_JOB_STARTED, NULL, b->id, payload);
	if (q_send(c, Q_EV_INSERT, &p, NULL, err) < 0)
		goto out;
	ret = 0;
out:
	if (batched && B->batch_end(c, ret ? NULL : err) < 0)
		ret = -1;
	cJSON_Delete(outs);
	cJSON_Delete(prior);
	free(outs_json);
	free(prior_json);
	free(payload);
	return ret;
}

int q_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err)
{
	struct begin_run_args b = { run, 0, run->start_us ? run->start_us : now_us(), 0, NULL };
	int ret = -1;

	if (run->run_id) {
		if (rows_run_id(c, run->run_id, &b.id, err) < 0)
			goto out;
		b.given = 1;
	}
	if (!run->job || !run->outputs.nr) {
		strbuf_addf(err, "catalog '%s': a run needs a job and at least one output",
			    c->location);
		goto out;
	}
	if (q_backend(c)->write_tx(c, begin_run_tx, &b, err) < 0)
		goto out;
	if (!run->run_id)
		run->run_id = xstrfmt("%lld", (long long)b.id);
	run->status = RUN_RUNNING;
	run->start_us = b.t;
	if (!run->log_path) {
		run->log_path = b.log_path;
		b.log_path = NULL;
	}
	ret = 0;
out:
	free(b.log_path);
	return ret;
}

/*
 * Publishing, written once: the runs of a chunk of manifests are looked up
 * first, then every row their publishing writes is sent, one batch per
 * chunk where the backend has batches (PostgreSQL: one round trip).
 */

/* The manifest's rows: the manifest, its inputs. */
static int put_manifest(struct catalog *c, const struct manifest *m, int64_t id,
			struct strbuf *err)
{
	char *json = rows_json_take(manifest_to_json(m));
	struct qparams p = QPARAMS_INIT;
	int ret = -1;

	qp_int(&p, id);
	qp_text(&p, json);
	if (q_send(c, Q_MAN_PUT, &p, NULL, err) < 0)
		goto out;
	p.n = 0;
	qp_int(&p, id);
	if (q_send(c, Q_MI_DELETE, &p, NULL, err) < 0)
		goto out;
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		p.n = 0;
		qp_int(&p, id);
		qp_text(&p, in->ref);
		qp_text(&p, dep_type_name(in->type));
		qp_text(&p, in->sha256);
		qp_id(&p, rows_parse_run_id(in->run_id));
		if (q_send(c, Q_MI_INSERT, &p, NULL, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(json);
	return ret;
}

/* An output's row live, and its event. */
static int publish_output(struct catalog *c, const struct manifest *m,
			  const struct manifest_output *o, int64_t id, int64_t build_id,
			  int64_t t, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	char payload[160];

	if (q_ensure_partition(c, o->ref, PART_LIVE, t, NULL, err) < 0)
		return -1;
	qp_text(&p, o->ref);
	qp_text(&p, m->build_key);
	qp_text(&p, o->sha256);
	qp_int(&p, o->size);
	qp_text(&p, m->version);
	qp_text(&p, m->job);
	qp_int(&p, id);
	qp_int(&p, t);
	qp_text(&p, o->ident);
	if (q_send(c, Q_PART_PUBLISH, &p, NULL, err) < 0)
		return -1;
	p.n = 8;  /* the same but the ident */
	if (q_send(c, Q_VER_INSERT, &p, NULL, err) < 0)
		return -1;
	snprintf(payload, sizeof(payload), "{\"sha256\":\"%s\",\"size\":%lld}", o->sha256,
		 (long long)o->size);
	p.n = 0;
	q_ev_params(&p, t, build_id, EV_PARTITION_PUBLISHED, o->ref, id, payload);
	return q_send(c, Q_EV_INSERT, &p, NULL, err);
}

/* A run to publish: its id, its build, whether it is published already. */
struct publish_run {
	int64_t id;
	int64_t build_id;
	int done;
};

/* Looks up m's run into *pr: 0, or -1 with err (unknown run, no outputs). */
static int publish_check(struct catalog *c, const struct manifest *m, struct publish_run *pr,
			 struct strbuf *err)
{
	struct run_record r;
	int rc, ret = -1;

	if (rows_run_id(c, m->run_id, &pr->id, err) < 0)
		return -1;
	if ((rc = q_get_run_row(c, pr->id, &r, NULL, err)) < 0)
		goto out;
	if (!rc) {
		strbuf_addf(err, "catalog '%s': cannot publish run '%s': unknown run (begin it first)",
			    c->location, m->run_id);
		goto out;
	}
	if (!m->outputs_nr) {
		strbuf_addf(err, "catalog '%s': cannot publish run '%s': no outputs", c->location,
			    m->run_id);
		goto out;
	}
	pr->build_id = r.build_id;
	/* a retry after a lost COMMIT: the first attempt is recorded */
	pr->done = q_backend(c)->retrying(c) && r.status == RUN_SUCCEEDED;
	ret = 0;
out:
	run_record_release(&r);
	return ret;
}

/* Sends every row publishing m (of run pr) writes. */
static int publish_send(struct catalog *c, const struct manifest *m,
			const struct publish_run *pr, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	char *done_json;
	int64_t t = m->end_time_us ? m->end_time_us : now_us();
	int ret;

	if (put_manifest(c, m, pr->id, err) < 0)
		return -1;
	for (size_t i = 0; i < m->outputs_nr; i++)
		if (publish_output(c, m, &m->outputs[i], pr->id, pr->build_id, t, err) < 0)
			return -1;
	qp_int(&p, pr->id);
	qp_text(&p, run_status_name(RUN_SUCCEEDED));
	qp_int(&p, t);
	qp_int(&p, 0);
	qp_text(&p, NULL);
	if (q_send(c, Q_RUN_FINISH, &p, NULL, err) < 0)
		return -1;
	{
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "job", m->job);
		json_add_int64(o, "outputs", m->outputs_nr);
		json_add_int64(o, "duration_us", (t - m->start_time_us));
		done_json = rows_json_take(o);
	}
	p.n = 0;
	q_ev_params(&p, t, pr->build_id, EV_JOB_FINISHED, NULL, pr->id, done_json);
	ret = q_send(c, Q_EV_INSERT, &p, NULL, err);
	free(done_json);
	return ret;
}

/* Manifests per batch: a batch's results must fit the socket buffers. */
#define PUBLISH_CHUNK 64

/* Publishes ms[0..n) (n <= PUBLISH_CHUNK): the lookups, then one batch. */
static int publish_chunk(struct catalog *c, const struct manifest *const *ms, size_t n,
			 struct strbuf *err)
{
	static const enum query_id sent[] = {
		Q_MAN_PUT, Q_MI_DELETE, Q_MI_INSERT, Q_PART_INSERT, Q_DS_INSERT, Q_PART_PUBLISH,
		Q_VER_INSERT, Q_EV_INSERT, Q_RUN_FINISH,
	};
	const struct query_backend *B = q_backend(c);
	struct publish_run runs[PUBLISH_CHUNK];
	int ret = -1, batched = 0;

	for (size_t i = 0; i < n; i++)
		if (publish_check(c, ms[i], &runs[i], err) < 0)
			return -1;
	if (B->batch_begin) {
		if (B->batch_begin(c, sent, sizeof(sent) / sizeof(sent[0]), err) < 0)
			return -1;
		batched = 1;
	}
	ret = 0;
	for (size_t i = 0; i < n && !ret; i++)
		if (!runs[i].done)
			ret = publish_send(c, ms[i], &runs[i], err);
	if (batched && B->batch_end(c, ret ? NULL : err) < 0)
		ret = -1;
	return ret;
}

/* The arrays of publish_set, parameter by parameter of its statements. */
enum {
	A_MAN_ID, A_MAN_JSON,
	A_MI_RUN, A_MI_REF, A_MI_DEP, A_MI_SHA, A_MI_INRUN,
	A_PI_REF, A_PI_DS, A_PI_NAME, A_PI_T,
	A_DS_PATH, A_DS_PARENT, A_DS_NAME,
	A_PP_REF, A_PP_KEY, A_PP_SHA, A_PP_SIZE, A_PP_VER, A_PP_JOB, A_PP_RUN, A_PP_T,
	A_PP_IDENT,
	A_RF_RUN, A_RF_T,
	A_EV_T, A_EV_BUILD, A_EV_TYPE, A_EV_REF, A_EV_RUN, A_EV_PAYLOAD,
	A__NR
};

/* Adds the rows publishing m (of run pr) writes to the arrays a. */
static void publish_collect(struct qarray *a, const struct manifest *m,
			    const struct publish_run *pr)
{
	int64_t t = m->end_time_us ? m->end_time_us : now_us();
	char *json = rows_json_take(manifest_to_json(m));
	cJSON *p = cJSON_CreateObject();

	qa_int(&a[A_MAN_ID], pr->id);
	qa_text(&a[A_MAN_JSON], json);
	free(json);
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		qa_int(&a[A_MI_RUN], pr->id);
		qa_text(&a[A_MI_REF], in->ref);
		qa_text(&a[A_MI_DEP], dep_type_name(in->type));
		qa_text(&a[A_MI_SHA], in->sha256);
		qa_id(&a[A_MI_INRUN], rows_parse_run_id(in->run_id));
	}
	for (size_t i = 0; i < m->outputs_nr; i++) {
		const struct manifest_output *o = &m->outputs[i];
		size_t dlen = rows_dir_len(o->ref, strlen(o->ref));
		char payload[160];

		qa_text(&a[A_PI_REF], o->ref);
		qa_textn(&a[A_PI_DS], o->ref, dlen);
		qa_text(&a[A_PI_NAME], o->ref + dlen + (dlen ? 1 : 0));
		qa_int(&a[A_PI_T], t);
		for (size_t n = dlen; n; n = rows_dir_len(o->ref, n)) {
			size_t plen = rows_dir_len(o->ref, n);
			size_t off = plen + (plen ? 1 : 0);
			char *name = xstrfmt("%.*s/", (int)(n - off), o->ref + off);

			qa_textn(&a[A_DS_PATH], o->ref, n);
			qa_textn(&a[A_DS_PARENT], o->ref, plen);
			qa_text(&a[A_DS_NAME], name);
			free(name);
		}
		qa_text(&a[A_PP_REF], o->ref);
		qa_text(&a[A_PP_KEY], m->build_key);
		qa_text(&a[A_PP_SHA], o->sha256);
		qa_int(&a[A_PP_SIZE], o->size);
		qa_text(&a[A_PP_VER], m->version);
		qa_text(&a[A_PP_JOB], m->job);
		qa_int(&a[A_PP_RUN], pr->id);
		qa_int(&a[A_PP_T], t);
		qa_text(&a[A_PP_IDENT], o->ident);
		snprintf(payload, sizeof(payload), "{\"sha256\":\"%s\",\"size\":%lld}", o->sha256,
			 (long long)o->size);
		qa_int(&a[A_EV_T], t);
		qa_id(&a[A_EV_BUILD], pr->build_id);
		qa_text(&a[A_EV_TYPE], EV_PARTITION_PUBLISHED);
		qa_text(&a[A_EV_REF], o->ref);
		qa_int(&a[A_EV_RUN], pr->id);
		qa_text(&a[A_EV_PAYLOAD], payload);
	}
	qa_int(&a[A_RF_RUN], pr->id);
	qa_int(&a[A_RF_T], t);
	cJSON_AddStringToObject(p, "job", m->job);
	json_add_int64(p, "outputs", m->outputs_nr);
	json_add_int64(p, "duration_us", (t - m->start_time_us));
	json = rows_json_take(p);
	qa_int(&a[A_EV_T], t);
	qa_id(&a[A_EV_BUILD], pr->build_id);
	qa_text(&a[A_EV_TYPE], EV_JOB_FINISHED);
	qa_text(&a[A_EV_REF], NULL);
	qa_int(&a[A_EV_RUN], pr->id);
	qa_text(&a[A_EV_PAYLOAD], json);
	free(json);
}

/* The runs of ms[0..n) in one statement (ids already in runs[].id). */
static int publish_set_runs(struct catalog *c, const struct manifest *const *ms, size_t n,
			    struct publish_run *runs, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qarray ids = QARRAY_INIT;
	struct qparams p = QPARAMS_INIT;
	struct strmap pos = STRMAP_INIT;
	struct qrows rows;
	int rc = -1, retrying = B->retrying(c);

	for (size_t i = 0; i < n; i++) {
		runs[i].build_id = -1;
		qa_int(&ids, runs[i].id);
		strmap_put(&pos, ids.v[i], (void *)(uintptr_t)(i + 1));
	}
	qp_array(&p, &ids);
	if (B->run(c, Q_SET_RUNS_GET, &p, &rows, err) < 0)
		goto out;
	while ((rc = B->next(c, &rows, err)) > 0) {
		size_t i = (size_t)(uintptr_t)strmap_get(&pos, B->text(&rows, 0, NULL));
		int st = run_status_parse(B->text(&rows, 2, NULL));

		if (!i--)
			continue;
		runs[i].build_id = B->integer(&rows, 1);
		/* a retry after a lost COMMIT: the first attempt is recorded */
		runs[i].done = retrying && st == RUN_SUCCEEDED;
	}
	B->done(c, &rows);
	if (rc < 0)
		goto out;
	rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (runs[i].build_id < 0) {
			strbuf_addf(err, "catalog '%s': cannot publish run '%s': unknown run "
				    "(begin it first)", c->location, ms[i]->run_id);
			goto out;
		}
		if (!ms[i]->outputs_nr) {
			strbuf_addf(err, "catalog '%s': cannot publish run '%s': no outputs",
				    c->location, ms[i]->run_id);
			goto out;
		}
	}
	rc = 0;
out:
	strmap_clear(&pos);
	qa_release(&ids);
	return rc;
}

/*
 * publish_chunk for many manifests at once, on an adapter with arrays:
 * each table is written by one statement over arrays, all in one batch.
 * Only for batches in which no run and no output appears twice (an UPDATE
 * over arrays would apply one of them arbitrarily); the caller checks.
 */
static int publish_set(struct catalog *c, const struct manifest *const *ms, size_t n,
		       struct strbuf *err)
{
	static const struct {
		enum query_id id;
		int first, nr;
	} stmts[] = {
		{ Q_SET_MAN_PUT, A_MAN_ID, 2 },
		{ Q_SET_MI_DELETE, A_MAN_ID, 1 },
		{ Q_SET_MI_INSERT, A_MI_RUN, 5 },
		{ Q_SET_PART_INSERT, A_PI_REF, 4 },
		{ Q_SET_DS_INSERT, A_DS_PATH, 3 },
		{ Q_SET_PART_PUBLISH, A_PP_REF, 9 },
		{ Q_SET_VER_INSERT, A_PP_REF, 8 },
		{ Q_SET_RUN_FINISH, A_RF_RUN, 2 },
		{ Q_SET_EV_INSERT, A_EV_T, 6 },
	};
	enum query_id sent[sizeof(stmts) / sizeof(stmts[0])];
	const struct query_backend *B = q_backend(c);
	struct publish_run *runs = xcalloc(n, sizeof(*runs));
	struct qarray a[A__NR];
	int ret = -1, batched = 0;

	for (int k = 0; k < A__NR; k++)
		a[k] = (struct qarray)QARRAY_INIT;
	for (size_t i = 0; i < n; i++)
		if (rows_run_id(c, ms[i]->run_id, &runs[i].id, err) < 0)
			goto out;
	if (publish_set_runs(c, ms, n, runs, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!runs[i].done)
			publish_collect(a, ms[i], &runs[i]);
	for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]); k++)
		sent[k] = stmts[k].id;
	if (B->batch_begin) {
		if (B->batch_begin(c, sent, sizeof(sent) / sizeof(sent[0]), err) < 0)
			goto out;
		batched = 1;
	}
	ret = 0;
	for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]) && !ret; k++) {
		struct qparams p = QPARAMS_INIT;

		for (int j = 0; j < stmts[k].nr; j++)
			qp_array(&p, &a[stmts[k].first + j]);
		ret = q_send(c, stmts[k].id, &p, NULL, err);
	}
	if (batched && B->batch_end(c, ret ? NULL : err) < 0)
		ret = -1;
out:
	for (int k = 0; k < A__NR; k++)
		qa_release(&a[k]);
	free(runs);
	return ret;
}

/* 1 if no run and no output appears twice among ms[0..n). */
static int publish_distinct(const struct manifest *const *ms, size_t n)
{
	struct strmap seen = STRMAP_INIT;
	struct strbuf key = STRBUF_INIT;
	int ok = 1;

	for (size_t i = 0; ok && i < n; i++) {
		strbuf_reset(&key);
		strbuf_addf(&key, "r:%s", ms[i]->run_id ? ms[i]->run_id : "");
		ok = !strmap_contains(&seen, key.buf);
		strmap_put(&seen, key.buf, NULL);
		for (size_t k = 0; ok && k < ms[i]->outputs_nr; k++) {
			strbuf_reset(&key);
			strbuf_addf(&key, "o:%s", ms[i]->outputs[k].ref);
			ok = !strmap_contains(&seen, key.buf);
			strmap_put(&seen, key.buf, NULL);
		}
	}
	strbuf_release(&key);
	strmap_clear(&seen);
	return ok;
}

/* Manifests per statement of publish_set. */
#define PUBLISH_SET_CHUNK 2000

struct publish_args {
	const struct manifest *const *ms;
	size_t n;
};

static int publish_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct publish_args *pa = arg;

	if (q_backend(c)->arrays && pa->n > 1 && publish_distinct(pa->ms, pa->n)) {
		for (size_t i = 0; i < pa->n; i += PUBLISH_SET_CHUNK)
			if (publish_set(c, pa->ms + i, pa->n - i < PUBLISH_SET_CHUNK ?
					pa->n - i : PUBLISH_SET_CHUNK, err) < 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < pa->n; i += PUBLISH_CHUNK)
		if (publish_chunk(c, pa->ms + i, pa->n - i < PUBLISH_CHUNK ? pa->n - i :
				  PUBLISH_CHUNK, err) < 0)
			return -1;
	return 0;
}

int q_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
		    struct strbuf *err)
{
	struct publish_args pa = { ms, n };

	return n ? q_backend(c)->write_tx(c, publish_tx, &pa, err) : 0;
}

int q_publish(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	return q_publish_batch(c, &m, 1, err);
}
