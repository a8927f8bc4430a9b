/*
 * A partition's history in the query layer (catalog/query.h,
 * docs/design/history.md): its versions listed, found, restored and
 * removed.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "core/array.h"
#include "core/clock.h"
#include "core/json.h"

/* ---- versions -------------------------------------------------------- */

/* The current row of a Q_VER_* statement (VER_SQL) into v. */
static void read_version(struct catalog *c, const struct qrows *rows, struct version *v)
{
	v->ref = q_col_dup(c, rows, 0);
	v->run_id = q_col_id(c, rows, 1);
	v->time_us = q_col_int(c, rows, 2);
	q_col_hex(c, rows, 3, v->build_key);
	q_col_hex(c, rows, 4, v->sha256);
	v->size = q_col_int(c, rows, 5);
	v->job = q_col_dup(c, rows, 6);
	v->version = q_col_dup(c, rows, 7);
	v->current = q_col_int(c, rows, 8) != 0;
}

static int read_version_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	read_version(c, rows, arg);
	return 0;
}

/* Appends every row of statement id (VER_SQL) to out. */
static int read_versions(struct catalog *c, enum query_id id, const struct qparams *p,
			 struct version_list *out, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qrows rows;
	int rc;

	if (B->run(c, id, p, &rows, err) < 0)
		return -1;
	while ((rc = B->next(c, &rows, err)) > 0) {
		ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		version_init(&out->items[out->nr]);
		read_version(c, &rows, &out->items[out->nr++]);
	}
	B->done(c, &rows);
	return rc;
}

int q_list_versions(struct catalog *c, const char *ref, struct version_list *out,
		    struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, ref);
	return read_versions(c, Q_VER_LIST, &p, out, err);
}

int q_page_versions(struct catalog *c, const char *prefix, const char *after_ref,
		    int64_t after_us, size_t limit, struct version_list *out, struct strbuf *err)
{
	struct strbuf upper = STRBUF_INIT;
	struct qparams p = QPARAMS_INIT;
	int has_upper = q_prefix_upper(prefix, &upper);
	int from_after = after_ref && strcmp(after_ref, prefix) >= 0;
	int rc;

	/* (ref, time_us) strictly after: the prefix itself from its first version */
	qp_text(&p, from_after ? after_ref : prefix);
	qp_int(&p, from_after ? after_us : INT64_MIN);
	if (has_upper)
		qp_text(&p, upper.buf);
	qp_int(&p, limit ? (int64_t)limit : QUERY_NO_LIMIT);
	rc = read_versions(c, has_upper ? Q_VER_PAGE_LT : Q_VER_PAGE, &p, out, err);
	strbuf_release(&upper);
	return rc;
}

int q_find_version(struct catalog *c, const char *ref, const char *build_key,
		   struct version *out, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, ref);
	qp_text(&p, build_key);
	return q_one(c, Q_VER_FIND, &p, read_version_fn, out, err);
}

int q_get_version(struct catalog *c, const char *ref, const char *which, struct version *out,
		  struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t key;
	enum query_id id;

	if (catalog_parse_version_name(which, &key) == 0)
		id = Q_VER_BY_TIME;
	else if ((key = rows_parse_run_id(which)))
		id = Q_VER_BY_RUN;
	else
		return 0;
	qp_text(&p, ref);
	qp_int(&p, key);
	return q_one(c, id, &p, read_version_fn, out, err);
}

/* -1 with err if p is being built by a run that is still running, else 0. */
static int check_not_building(struct catalog *c, const char *verb, const struct partition *p,
			      struct strbuf *err)
{
	int64_t id = rows_parse_run_id(p->run_id);
	struct run_record r;
	int rc;

	if (p->status != PART_BUILDING || !id)
		return 0;
	rc = q_get_run_row(c, id, &r, NULL, err);
	if (rc > 0 && r.status == RUN_RUNNING) {
		strbuf_addf(err, "catalog '%s': cannot %s '%s': run %s is building it", c->location,
			    verb, p->ref, p->run_id);
		rc = -1;
	}
	run_record_release(&r);
	return rc < 0 ? -1 : 0;
}

struct restore_args {
	const struct version *vs;
	const char *const *idents;
	size_t n;
	const char *event;
	int64_t build_id, t;
};

/* Makes version v current again (with ident), and its event. */
static int restore_version(struct catalog *c, const struct restore_args *ra,
			   const struct version *v, const char *ident, struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	struct qparams p = QPARAMS_INIT;
	struct partition part;
	char *payload = NULL;
	cJSON *o;
	int64_t run;
	int rc, ret = -1;

	partition_init(&part);
	if (rows_run_id(c, v->run_id, &run, err) < 0 ||
	    (rc = q_get_partition(c, v->ref, &part, err)) < 0 ||
	    check_not_building(c, "restore", &part, err) < 0)
		goto out;
	if (rc && q_backend(c)->retrying(c) && part.status == PART_LIVE &&
	    rows_parse_run_id(part.published_run) == run) {
		/* the first attempt's COMMIT went through */
		ret = 0;
		goto out;
	}
	if (!rc && q_ensure_partition(c, v->ref, PART_LIVE, ra->t, NULL, err) < 0)
		goto out;
	qp_text(&p, v->ref);
	qp_text(&p, v->build_key);
	qp_text(&p, v->sha256);
	qp_int(&p, v->size);
	qp_text(&p, v->version);
	qp_text(&p, v->job);
	qp_int(&p, run);
	qp_int(&p, ra->t);
	qp_text(&p, ident);
	if (q_exec(c, Q_PART_PUBLISH, &p, NULL, err) < 0)
		goto out;
	/* a version of its own: the log of what the partition held (same params) */
	p.n = 8;
	if (q_exec(c, Q_VER_INSERT, &p, NULL, err) < 0)
		goto out;
	catalog_format_version_name(v->time_us, &name);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "run_id", v->run_id);
	cJSON_AddStringToObject(o, "version", name.buf);
	cJSON_AddStringToObject(o, "sha256", v->sha256);
	json_add_int64(o, "size", v->size);
	payload = rows_json_take(o);
	ret = q_event(c, ra->t, ra->build_id, ra->event, v->ref, run, payload, NULL, err);
out:
	partition_release(&part);
	strbuf_release(&name);
	free(payload);
	return ret;
}

static int restore_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct restore_args *ra = arg;

	for (size_t i = 0; i < ra->n; i++)
		if (restore_version(c, ra, &ra->vs[i], ra->idents ? ra->idents[i] : NULL, err) < 0)
			return -1;
	return 0;
}

int q_restore_versions(struct catalog *c, const struct version *vs, const char *const *idents,
		       size_t n, const char *event, int64_t build_id, struct strbuf *err)
{
	struct restore_args ra = { vs, idents, n, event, build_id, now_us() };

	return q_backend(c)->write_tx(c, restore_tx, &ra, err);
}

/* Forgets ref's row (its versions stay), and its event. */
static int remove_partition(struct catalog *c, const char *ref, int64_t t, struct strbuf *err)
{
	struct partition part;
	char *payload = NULL;
	cJSON *o;
	int rc, ret = -1;

	partition_init(&part);
	if ((rc = q_get_partition(c, ref, &part, err)) < 0)
		goto out;
	if (!rc) {
		/* unknown, or removed by the first attempt whose COMMIT went through */
		if (q_backend(c)->retrying(c))
			ret = 0;
		else
			strbuf_addf(err, "catalog '%s': cannot remove '%s': not in the catalog",
				    c->location, ref);
		goto out;
	}
	if (check_not_building(c, "remove", &part, err) < 0 ||
	    rows_forget_partition(c, ref, err) < 0)
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", part_status_name(part.status));
	if (part.published_run)
		cJSON_AddStringToObject(o, "published_run", part.published_run);
	payload = rows_json_take(o);
	ret = q_event(c, t, 0, EV_PARTITION_REMOVED, ref, 0, payload, NULL, err);
out:
	partition_release(&part);
	free(payload);
	return ret;
}

struct remove_args {
	const struct strvec *refs;
	int64_t t;
};

static int remove_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct remove_args *ra = arg;

	for (size_t i = 0; i < ra->refs->nr; i++)
		if (remove_partition(c, ra->refs->v[i], ra->t, err) < 0)
			return -1;
	return 0;
}

int q_remove_partitions(struct catalog *c, const struct strvec *refs, struct strbuf *err)
{
	struct remove_args ra = { refs, now_us() };

	return q_backend(c)->write_tx(c, remove_tx, &ra, err);
}

struct delete_args {
	const struct version *vs;
	size_t n, deleted;
};

static int delete_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct delete_args *da = arg;

	da->deleted = 0;
	for (size_t i = 0; i < da->n; i++) {
		struct qparams p = QPARAMS_INIT;
		long nch = 0;

		qp_text(&p, da->vs[i].ref);
		qp_int(&p, da->vs[i].time_us);
		if (q_exec(c, Q_VER_DELETE, &p, &nch, err) < 0)
			return -1;
		da->deleted += nch > 0;
	}
	return 0;
}

int q_delete_versions(struct catalog *c, const struct version *vs, size_t n, size_t *deleted,
		      struct strbuf *err)
{
	struct delete_args da = { vs, n, 0 };

	if (q_backend(c)->write_tx(c, delete_tx, &da, err) < 0)
		return -1;
	*deleted = da.deleted;
	return 0;
}

int q_hash_referenced(struct catalog *c, const char *sha256, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t v = 0;

	qp_text(&p, sha256);
	if (q_one_int(c, Q_HASH_REF, &p, &v, err) < 0)
		return -1;
	return v != 0;
}

int q_run_referenced(struct catalog *c, const char *run_id, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t id = rows_parse_run_id(run_id), v = 0;

	if (!id)
		return 0;
	qp_int(&p, id);
	if (q_one_int(c, Q_RUN_REF, &p, &v, err) < 0)
		return -1;
	if (!v) {
		/* a run that failed on a partition: its row names it (by ref, no scan) */
		struct run_record r;
		int rc = q_get_run_row(c, id, &r, NULL, err);

		for (size_t i = 0; rc > 0 && !v && i < r.outputs.nr; i++) {
			struct partition part;

			partition_init(&part);
			rc = q_get_partition(c, r.outputs.v[i], &part, err);
			v = rc > 0 && rows_parse_run_id(part.run_id) == id;
			partition_release(&part);
		}
		run_record_release(&r);
		if (rc < 0)
			return -1;
	}
	return v != 0;
}
