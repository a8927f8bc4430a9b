#include <stdlib.h>
#include <string.h>

#include "catalog/rows.h"
#include "catalog/query.h"
#include "core/json.h"
#include "core/hash.h"
#include "store/store.h"
#include "core/strmap.h"

int64_t rows_parse_run_id(const char *s)
{
	int64_t v = 0;

	if (!s || !*s || *s == '0')
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int rows_run_id(struct catalog *c, const char *run_id, int64_t *id, struct strbuf *err)
{
	*id = rows_parse_run_id(run_id);
	if (*id)
		return 0;
	strbuf_addf(err, "catalog '%s': invalid run id '%s' (expected a positive integer)",
		    c->location, run_id ? run_id : "");
	return -1;
}

char *rows_json_take(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	if (!text)
		abort();
	return text;
}

void rows_strvec_from_json(struct strvec *out, const char *text)
{
	cJSON *arr = text ? cJSON_Parse(text) : NULL, *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			strvec_push(out, it->valuestring);
	cJSON_Delete(arr);
}

size_t rows_dir_len(const char *s, size_t n)
{
	while (n && s[n - 1] != '/')
		n--;
	return n ? n - 1 : 0;
}

void rows_status_filter(unsigned mask, struct strbuf *out)
{
	strbuf_addch(out, ',');
	for (int i = PART_MISSING; i < PART_STATUS_NR; i++)
		if (mask & (1u << i))
			strbuf_addf(out, "%s,", part_status_name((enum part_status)i));
}

/* An event whose payload is {"KEY": value} (value NULL: no payload). */
static int event_with(struct catalog *c, int64_t t, int64_t build_id, const char *type,
		      const char *ref, int64_t run_id, const char *key, const char *value,
		      struct strbuf *err)
{
	char *payload = NULL;
	int rc;

	if (value) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, key, value);
		payload = rows_json_take(o);
	}
	rc = q_event(c, t, build_id, type, ref, run_id, payload, NULL, err);
	free(payload);
	return rc;
}

int rows_forget_partition(struct catalog *c, const char *ref, struct strbuf *err)
{
	if (q_delete_partition(c, ref, err) < 0)
		return -1;
	for (size_t n = rows_dir_len(ref, strlen(ref)); n; n = rows_dir_len(ref, n)) {
		int rc = q_dataset_used(c, ref, n, err);

		if (rc < 0)
			return -1;
		if (rc)
			break;
		if (q_delete_dataset(c, ref, n, err) < 0)
			return -1;
	}
	return 0;
}

static const char *status_event(enum part_status st)
{
	switch (st) {
	case PART_STALE:
		return EV_PARTITION_STALE;
	case PART_TAINTED:
		return EV_PARTITION_TAINTED;
	case PART_DAMAGED:
		return EV_PARTITION_DAMAGED;
	case PART_FAILED:
		return EV_PARTITION_FAILED;
	default:
		return NULL;
	}
}

int rows_set_status(struct catalog *c, const char *ref, enum part_status status,
		    const char *error, int64_t t, struct strbuf *err)
{
	const char *ev = status_event(status);

	if (status == PART_MISSING)
		return rows_forget_partition(c, ref, err);
	if (q_ensure_partition(c, ref, status, t, NULL, err) < 0 ||
	    q_update_status(c, ref, status, error, t, err) < 0)
		return -1;
	return ev ? event_with(c, t, 0, ev, ref, 0, "error", error, err) : 0;
}

void rows_prior_add(cJSON *prior, const char *ref, const struct partition *p)
{
	cJSON *o = cJSON_CreateObject();
	enum part_status status = p->status;
	const char *run_id = p->run_id;

	if (status == PART_BUILDING) {
		status = p->published_run ? PART_STALE : PART_MISSING;
		run_id = p->published_run;
	}
	cJSON_AddStringToObject(o, "ref", ref);
	cJSON_AddStringToObject(o, "status", part_status_name(status));
	if (run_id)
		cJSON_AddStringToObject(o, "run_id", run_id);
	if (p->job)
		cJSON_AddStringToObject(o, "job", p->job);
	if (p->error)
		cJSON_AddStringToObject(o, "error", p->error);
	json_add_int64(o, "updated_us", p->updated_us);
	cJSON_AddItemToArray(prior, o);
}

const char *rows_end_event(struct catalog *c, const char *run_id, enum run_status status,
			   struct strbuf *err)
{
	switch (status) {
	case RUN_FAILED:
		return EV_JOB_FAILED;
	case RUN_CANCELLED:
		return EV_JOB_CANCELLED;
	case RUN_ABANDONED:
		return EV_JOB_ABANDONED;
	default:
		strbuf_addf(err, "catalog '%s': run '%s' cannot be finished as %s (publish it)",
			    c->location, run_id, run_status_name(status));
		return NULL;
	}
}

/* 1 if ref is still held by run id (its partition's run_id), 0 if not, -1 error. */
static int held_by(struct catalog *c, const char *ref, int64_t id, struct strbuf *err)
{
	struct partition p;
	int rc;

	partition_init(&p);
	rc = q_get_partition(c, ref, &p, err);
	if (rc > 0)
		rc = rows_parse_run_id(p.run_id) == id && p.status == PART_BUILDING;
	partition_release(&p);
	return rc;
}

/*
 * An abandoned run may have died between moving its outputs into data/ and
 * publishing them: a partition it would restore to live must still hold
 * the bytes its row records, else it is restored stale (same transaction,
 * so the catalog never calls such a partition live). 1 if it differs.
 */
static int data_differs(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct partition p;
	struct strbuf path = STRBUF_INIT, herr = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];
	int rc;

	partition_init(&p);
	rc = q_get_partition(c, ref, &p, err);
	if (rc > 0) {
		store_data_path(c->store, ref, &path);
		rc = sha256_file(path.buf, hex, NULL, &herr) < 0 || strcmp(hex, p.sha256) ? 1 : 0;
	}
	partition_release(&p);
	strbuf_release(&path);
	strbuf_release(&herr);
	return rc;
}

/* Puts back one output of run id as rows_prior_add recorded it. */
static int restore_output(struct catalog *c, const cJSON *o, int64_t id, int64_t t,
			  int check_data, struct strbuf *err)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "ref");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run_id");
	const cJSON *job = cJSON_GetObjectItemCaseSensitive(o, "job");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *upd = cJSON_GetObjectItemCaseSensitive(o, "updated_us");
	char *why = NULL;
	int status, rc;

	if (!cJSON_IsString(ref) || !cJSON_IsString(st))
		return 0;
	if ((rc = held_by(c, ref->valuestring, id, err)) <= 0)
		return rc;
	status = part_status_parse(st->valuestring);
	if (status <= PART_MISSING)
		return rows_forget_partition(c, ref->valuestring, err);
	if (status == PART_LIVE && check_data) {
		if ((rc = data_differs(c, ref->valuestring, err)) < 0)
			return -1;
		if (rc) {
			status = PART_STALE;
			why = xstrfmt("data of '%s' differs from its manifest after run %lld was "
				      "interrupted", ref->valuestring, (long long)id);
		}
	}
	rc = q_restore_partition(c, ref->valuestring, (enum part_status)status,
				  cJSON_IsString(run) ? rows_parse_run_id(run->valuestring) : 0,
				  cJSON_IsString(job) ? job->valuestring : NULL,
				  why ? why : cJSON_IsString(error) ? error->valuestring : NULL,
				  why ? t : cJSON_IsNumber(upd) ? (int64_t)upd->valuedouble : t,
				  err);
	if (rc == 0 && why)
		rc = event_with(c, t, 0, EV_PARTITION_STALE, ref->valuestring, id, "error", why,
				err);
	free(why);
	return rc;
}

/* The outputs run r (id) still holds become failed, each with an event. */
static int fail_outputs(struct catalog *c, const struct run_record *r, int64_t id,
			const char *error, int64_t t, struct strbuf *err)
{
	for (size_t i = 0; i < r->outputs.nr; i++) {
		const char *ref = r->outputs.v[i];
		cJSON *o;
		char *pj;
		int rc;

		if ((rc = held_by(c, ref, id, err)) < 0)
			return -1;
		if (!rc)
			continue;
		if (q_update_status(c, ref, PART_FAILED, error, t, err) < 0)
			return -1;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "job", r->job);
		if (error)
			cJSON_AddStringToObject(o, "error", error);
		pj = rows_json_take(o);
		rc = q_event(c, t, r->build_id, EV_PARTITION_FAILED, ref, id, pj, NULL, err);
		free(pj);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int rows_finish_run(struct catalog *c, const char *run_id, int64_t id, enum run_status status,
		    const char *ev, int exit_status, const char *error, int replay, int64_t t,
		    struct strbuf *err)
{
	struct run_record r;
	cJSON *payload, *prior = NULL, *o;
	char *prior_json = NULL, *payload_json = NULL;
	int ret = -1, rc;

	if ((rc = q_get_run_row(c, id, &r, &prior_json, err)) < 0)
		goto out;
	if (!rc) {
		strbuf_addf(err, "catalog '%s': unknown run '%s'", c->location, run_id);
		goto out;
	}
	if (r.status != RUN_RUNNING) {
		if (replay && r.status == status) {
			ret = 0;
			goto out;
		}
		strbuf_addf(err, "catalog '%s': run '%s' is already %s", c->location, run_id,
			    run_status_name(r.status));
		goto out;
	}
	if (q_end_run(c, id, status, t, exit_status, error, err) < 0)
		goto out;
	if (status == RUN_FAILED) {
		if (fail_outputs(c, &r, id, error, t, err) < 0)
			goto out;
	} else {
		prior = prior_json ? cJSON_Parse(prior_json) : NULL;
		cJSON_ArrayForEach(o, prior)
			if (restore_output(c, o, id, t, status == RUN_ABANDONED, err) < 0)
				goto out;
	}
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "job", r.job);
	json_add_int64(payload, "exit_status", exit_status);
	json_add_int64(payload, "duration_us", (t - r.start_us));
	if (error)
		cJSON_AddStringToObject(payload, "error", error);
	payload_json = rows_json_take(payload);
	if (q_event(c, t, r.build_id, ev, NULL, id, payload_json, NULL, err) < 0)
		goto out;
	ret = 0;
out:
	cJSON_Delete(prior);
	free(prior_json);
	free(payload_json);
	run_record_release(&r);
	return ret;
}

typedef int (*visit_fn)(struct catalog *c, const char *ref,
			enum part_status st, const char *from, void *arg);

/*
 * Breadth-first over the lineage from the refs in queue (already in seen):
 * every ref reached is appended to queue and, with visit, visited with
 * its status and the ref it was reached from.
 */
static int walk(struct catalog *c, struct strvec *queue, struct strmap *seen, int downstream,
		visit_fn visit, void *arg, struct strbuf *err)
{
	struct strvec found = STRVEC_INIT, states = STRVEC_INIT;
	int ret = -1;

	for (size_t i = 0; i < queue->nr; i++) {
		strvec_clear(&found);
		strvec_clear(&states);
		if (q_neighbours(c, queue->v[i], downstream, &found, &states, err) < 0)
			goto out;
		for (size_t k = 0; k < found.nr; k++) {
			int st = downstream && k < states.nr ? part_status_parse(states.v[k]) : -1;

			if (strmap_contains(seen, found.v[k]))
				continue;
			strmap_put(seen, found.v[k], NULL);
			strvec_push(queue, found.v[k]);
			if (visit && visit(c, found.v[k],
					   st < 0 ? PART_MISSING : (enum part_status)st,
					   queue->v[i], arg) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	strvec_clear(&found);
	strvec_clear(&states);
	return ret;
}

int rows_lineage(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		 struct strbuf *err)
{
	struct strvec queue = STRVEC_INIT;
	struct strmap seen = STRMAP_INIT;
	int ret;

	strvec_push(&queue, ref);
	strmap_put(&seen, ref, NULL);
	ret = walk(c, &queue, &seen, downstream, NULL, NULL, err);
	if (!ret)
		for (size_t i = 1; i < queue.nr; i++)
			strvec_push(refs, queue.v[i]);
	strvec_clear(&queue);
	strmap_clear(&seen);
	return ret;
}

struct taint {
	int64_t t, build_id;
	struct strvec *changed;
	struct strbuf *err;
};

/* A live partition downstream of a tainted one becomes stale. */
static int mark_stale(struct catalog *c, const char *ref, enum part_status st, const char *from,
		      void *arg)
{
	struct taint *tn = arg;

	if (st != PART_LIVE)
		return 0;
	if (q_update_status(c, ref, PART_STALE, NULL, tn->t, tn->err) < 0 ||
	    event_with(c, tn->t, tn->build_id, EV_PARTITION_STALE, ref, 0, "upstream", from,
		       tn->err) < 0)
		return -1;
	if (tn->changed)
		strvec_push(tn->changed, ref);
	return 0;
}

int rows_taint(struct catalog *c, const struct strvec *refs, int downstream, int64_t t,
	       int64_t build_id, struct strvec *changed, struct strbuf *err)
{
	struct taint tn = { t, build_id, changed, err };
	struct strvec queue = STRVEC_INIT;
	struct strmap seen = STRMAP_INIT;
	int ret = -1;

	for (size_t i = 0; i < refs->nr; i++) {
		const char *ref = refs->v[i];
		struct partition p;
		int rc;

		partition_init(&p);
		rc = q_get_partition(c, ref, &p, err);
		if (rc == 0)
			strbuf_addf(err, "'%s' is not in the catalog", ref);
		if (rc > 0 && p.status != PART_TAINTED && p.status != PART_BUILDING) {
			rc = q_update_status(c, ref, PART_TAINTED, p.error, t, err) == 0 &&
			     event_with(c, t, build_id, EV_PARTITION_TAINTED, ref, 0, NULL, NULL,
					err) == 0;
			if (rc && changed)
				strvec_push(changed, ref);
		}
		partition_release(&p);
		if (rc <= 0)
			goto out;
		if (!strmap_contains(&seen, ref)) {
			strmap_put(&seen, ref, NULL);
			strvec_push(&queue, ref);
		}
	}
	if (downstream && walk(c, &queue, &seen, 1, mark_stale, &tn, err) < 0)
		goto out;
	ret = 0;
out:
	strvec_clear(&queue);
	strmap_clear(&seen);
	return ret;
}
