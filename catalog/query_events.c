/*
 * The event log in the query layer (catalog/query.h): events appended one
 * at a time or many in one statement, read back in pages; and lineage and
 * taint, which follow the manifests' inputs.
 */
#include <stdlib.h>

#include "catalog/query.h"
#include "core/array.h"
#include "core/clock.h"
#include "core/json.h"

/* ---- events ---------------------------------------------------------- */

void q_ev_params(struct qparams *p, int64_t time_us, int64_t build_id, const char *type,
		 const char *ref, int64_t run_id, const char *payload)
{
	qp_int(p, time_us ? time_us : now_us());
	qp_id(p, build_id);
	qp_text(p, type);
	qp_text(p, ref);
	qp_id(p, run_id);
	qp_text(p, payload);
}

int q_event(struct catalog *c, int64_t time_us, int64_t build_id, const char *type,
	    const char *ref, int64_t run_id, const char *payload, int64_t *seq,
	    struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t s = 0;

	q_ev_params(&p, time_us, build_id, type, ref, run_id, payload);
	if (q_one_int(c, Q_EV_INSERT, &p, &s, err) < 0)
		return -1;
	if (seq)
		*seq = s;
	return 0;
}

/* An event as callers may append it: a type, a valid run id, a JSON object payload. */
static int check_event(struct catalog *c, const struct event *e, int64_t *run,
		       struct strbuf *err)
{
	*run = 0;
	if (!e->type || !*e->type) {
		strbuf_addf(err, "catalog '%s': an event needs a type", c->location);
		return -1;
	}
	if (e->run_id && rows_run_id(c, e->run_id, run, err) < 0)
		return -1;
	if (e->payload) {
		cJSON *p = cJSON_Parse(e->payload);
		int obj = cJSON_IsObject(p);

		cJSON_Delete(p);
		if (!obj) {
			strbuf_addf(err, "catalog '%s': payload of event '%s' is not a JSON object",
				    c->location, e->type);
			return -1;
		}
	}
	return 0;
}

int q_event_params(struct catalog *c, const struct event *e, struct qparams *p,
		   struct strbuf *err)
{
	int64_t run;

	if (check_event(c, e, &run, err) < 0)
		return -1;
	q_ev_params(p, e->time_us, e->build_id, e->type, e->ref, run, e->payload);
	return 0;
}

struct events_args {
	const struct event *es;
	size_t n;
	int64_t seq;
};

static int append_events_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct events_args *ea = arg;

	for (size_t i = 0; i < ea->n; i++) {
		const struct event *e = &ea->es[i];
		int64_t run;

		if (check_event(c, e, &run, err) < 0 ||
		    q_event(c, e->time_us, e->build_id, e->type, e->ref, run, e->payload,
			      &ea->seq, err) < 0)
			return -1;
	}
	return 0;
}

int q_append_event(struct catalog *c, const struct event *e, int64_t *seq,
		   struct strbuf *err)
{
	struct events_args ea = { e, 1, 0 };
	int64_t run;

	if (check_event(c, e, &run, err) < 0 ||
	    q_backend(c)->write_tx(c, append_events_tx, &ea, err) < 0)
		return -1;
	if (seq)
		*seq = ea.seq;
	return 0;
}

/*
 * append_events_tx on an adapter with arrays: one statement for them all
 * instead of a round trip each (a plan's job_planned events, say).
 */
static int append_events_set_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct events_args *ea = arg;
	struct qarray a[6];
	struct qparams p = QPARAMS_INIT;
	int64_t now = now_us();
	int ret = -1;

	for (int k = 0; k < 6; k++)
		a[k] = (struct qarray)QARRAY_INIT;
	for (size_t i = 0; i < ea->n; i++) {
		const struct event *e = &ea->es[i];
		int64_t run;

		if (check_event(c, e, &run, err) < 0)
			goto out;
		qa_int(&a[0], e->time_us ? e->time_us : now);
		qa_id(&a[1], e->build_id);
		qa_text(&a[2], e->type);
		qa_text(&a[3], e->ref);
		qa_id(&a[4], run);
		qa_text(&a[5], e->payload);
	}
	for (int k = 0; k < 6; k++)
		qp_array(&p, &a[k]);
	ret = q_exec(c, Q_SET_EV_INSERT, &p, NULL, err);
out:
	for (int k = 0; k < 6; k++)
		qa_release(&a[k]);
	return ret;
}

int q_append_events(struct catalog *c, const struct event *es, size_t n, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct events_args ea = { es, n, 0 };

	return B->write_tx(c, B->arrays && n > 1 ? append_events_set_tx : append_events_tx,
			   &ea, err);
}

int q_events_in_tx(struct catalog *c, const struct event *es, size_t n, struct strbuf *err)
{
	struct events_args ea = { es, n, 0 };

	if (!n)
		return 0;
	return q_backend(c)->arrays && n > 1 ? append_events_set_tx(c, &ea, err) :
					       append_events_tx(c, &ea, err);
}

#define EVENT_PAGE 512

/*
 * Each page is read in full before fn runs, so fn may use the handle.
 */
int q_read_events(struct catalog *c, int64_t after_seq, size_t limit,
		  int (*fn)(const struct event *e, void *arg), void *arg, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct event *page = xcalloc(EVENT_PAGE, sizeof(*page));
	size_t seen = 0, nr = 0;
	int ret = -1, stop = 0;

	while (!stop) {
		size_t want = EVENT_PAGE;
		struct qparams p = QPARAMS_INIT;
		struct qrows rows;
		int rc;

		if (limit && limit - seen < want)
			want = limit - seen;
		if (!want)
			break;
		qp_int(&p, after_seq);
		qp_int(&p, (int64_t)want);
		if (B->run(c, Q_EV_READ, &p, &rows, err) < 0)
			goto out;
		nr = 0;
		while ((rc = B->next(c, &rows, err)) > 0) {
			struct event *e = &page[nr++];

			e->seq = q_col_int(c, &rows, 0);
			e->time_us = q_col_int(c, &rows, 1);
			e->build_id = q_col_int(c, &rows, 2);
			e->type = q_col_dup(c, &rows, 3);
			e->ref = q_col_dup(c, &rows, 4);
			e->run_id = q_col_id(c, &rows, 5);
			e->payload = q_col_dup(c, &rows, 6);
		}
		B->done(c, &rows);
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < nr; i++) {
			if (!stop)
				stop = fn(&page[i], arg) != 0;
			after_seq = page[i].seq;
			event_release(&page[i]);
		}
		seen += nr;
		if (nr < want)
			break;
		nr = 0;
	}
	ret = 0;
out:
	for (size_t i = 0; i < nr; i++)
		event_release(&page[i]);
	free(page);
	return ret;
}

int q_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err)
{
	return q_one_int(c, Q_EV_LAST, NULL, seq, err) < 0 ? -1 : 0;
}

/* ---- lineage and taint ----------------------------------------------- */

int q_neighbours(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		 struct strvec *states, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qparams p = QPARAMS_INIT;
	struct qrows rows;
	int rc;

	qp_text(&p, ref);
	if (B->run(c, downstream ? Q_DOWNSTREAM : Q_UPSTREAM, &p, &rows, err) < 0)
		return -1;
	while ((rc = B->next(c, &rows, err)) > 0) {
		strvec_push(refs, B->text(&rows, 0, NULL));
		if (downstream)
			strvec_push(states, B->text(&rows, 1, NULL));
	}
	B->done(c, &rows);
	return rc;
}

int q_lineage(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
	      struct strbuf *err)
{
	return rows_lineage(c, ref, downstream, refs, err);
}

struct taint_args {
	const struct strvec *refs;
	int downstream;
	int64_t t, build_id;
	struct strvec changed;  /* this attempt's changes */
};

static int taint_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct taint_args *ta = arg;

	strvec_clear(&ta->changed);
	return rows_taint(c, ta->refs, ta->downstream, ta->t, ta->build_id,
			  &ta->changed, err);
}

int q_taint(struct catalog *c, const struct strvec *refs, int downstream, int64_t build_id,
	    struct strvec *changed, struct strbuf *err)
{
	struct taint_args ta = { refs, downstream, now_us(), build_id, STRVEC_INIT };
	int ret = q_backend(c)->write_tx(c, taint_tx, &ta, err);

	if (!ret && changed)
		for (size_t i = 0; i < ta.changed.nr; i++)
			strvec_push(changed, ta.changed.v[i]);
	strvec_clear(&ta.changed);
	return ret;
}
