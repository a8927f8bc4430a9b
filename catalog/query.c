/*
 * The query layer of the SQL backends (catalog/query.h): the statements,
 * their parameters, row decoding, partitions, datasets and meta. Builds
 * and runs are in query_runs.c, events in query_events.c, versions in
 * query_versions.c.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "core/array.h"
#include "core/clock.h"
#include "core/strmap.h"

#define PART_COLS "ref, status, build_key, sha256, size, version, job, run_id, " \
	"created_us, updated_us, error, published_run, ident"
#define LIST_SQL(range) "SELECT " PART_COLS " FROM partitions WHERE " range \
	" AND (CAST(?3 AS TEXT) IS NULL OR CAST(?3 AS TEXT) LIKE ('%,' || status || ',%'))" \
	" ORDER BY ref LIMIT ?4"
#define VER_SQL(where) "SELECT v.ref, v.run_id, v.time_us, v.build_key, v.sha256, v.size," \
	" v.job, v.version, CASE WHEN p.published_run = v.run_id AND v.time_us =" \
	" (SELECT max(w.time_us) FROM versions w WHERE w.ref = v.ref) THEN 1 ELSE 0 END" \
	" FROM versions v LEFT JOIN partitions p ON p.ref = v.ref WHERE " where
#define RUN_COLS "id, build_id, job, config_json, status, pid, host, start_us, end_us, " \
	"exit_status, log_path, error, outputs, prior"

const char *const query_sql[Q__NR] = {
	[Q_PART_GET] = "SELECT " PART_COLS " FROM partitions WHERE ref = ?1",
	[Q_LIST_GE_LT] = LIST_SQL("ref >= ?1 AND ref < ?2"),
	[Q_LIST_GT_LT] = LIST_SQL("ref > ?1 AND ref < ?2"),
	[Q_LIST_GE] = LIST_SQL("ref >= ?1 AND CAST(?2 AS TEXT) IS NULL"),
	[Q_LIST_GT] = LIST_SQL("ref > ?1 AND CAST(?2 AS TEXT) IS NULL"),
	[Q_CHILDREN] =
		"SELECT name FROM partitions WHERE dataset = ?1 AND name > ?2"
		" UNION ALL SELECT name FROM datasets WHERE parent = ?1 AND name > ?2"
		" ORDER BY 1 LIMIT ?3",
	[Q_PART_INSERT] =
		"INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (ref) DO NOTHING",
	[Q_DS_INSERT] = "INSERT INTO datasets (path, parent, name) VALUES (?1, ?2, ?3)"
		" ON CONFLICT DO NOTHING",
	[Q_DS_ANY] = "SELECT 1 FROM partitions WHERE ref >= ?1 AND ref < ?2 LIMIT 1",
	[Q_DS_DELETE] = "DELETE FROM datasets WHERE path = ?1",
	[Q_PART_DELETE] = "DELETE FROM partitions WHERE ref = ?1",
	[Q_PART_STATUS] =
		"UPDATE partitions SET status = ?2, error = ?3, updated_us = ?4 WHERE ref = ?1",
	[Q_PART_BUILDING] =
		"UPDATE partitions SET status = 'building', run_id = ?2, job = ?3,"
		" updated_us = ?4, error = NULL WHERE ref = ?1",
	[Q_PART_PUBLISH] =
		"UPDATE partitions SET status = 'live', build_key = ?2, sha256 = ?3, size = ?4,"
		" version = ?5, job = ?6, run_id = ?7, published_run = ?7, updated_us = ?8,"
		" error = NULL, ident = NULLIF(?9, '') WHERE ref = ?1",
	[Q_PART_RESTORE] =
		"UPDATE partitions SET status = ?2, run_id = ?3, job = ?4, error = ?5,"
		" updated_us = ?6 WHERE ref = ?1",
	[Q_PART_IDENT] = "UPDATE partitions SET ident = ?3 WHERE ref = ?1 AND status = 'live'"
		" AND published_run = ?2",
	/* id NULL: the database assigns one (SQLite); PostgreSQL passes nextval's */
	[Q_BUILD_INSERT] =
		"INSERT INTO builds (id, refs, requester, status, start_us)"
		" VALUES (?1, ?2, ?3, 'running', ?4) RETURNING id",
	[Q_BUILD_FINISH] = "UPDATE builds SET status = ?2, end_us = ?3 WHERE id = ?1",
	[Q_BUILD_GET] = "SELECT id, refs, requester, status, start_us, end_us FROM builds"
		" WHERE id = ?1",
	[Q_RUN_INSERT] =
		"INSERT INTO runs (id, build_id, job, config_json, status, pid, host, start_us,"
		" log_path, outputs, prior)"
		" VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
	[Q_RUN_PID] = "UPDATE runs SET pid = ?2 WHERE id = ?1",
	[Q_RUN_LOG] = "UPDATE runs SET log_path = ?2 WHERE id = ?1",
	[Q_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
	[Q_RUN_FINISH] =
		"UPDATE runs SET status = ?2, end_us = ?3, exit_status = ?4, error = ?5 WHERE id = ?1",
	[Q_MAN_PUT] = "INSERT INTO manifests (run_id, json) VALUES (?1, ?2)"
		" ON CONFLICT (run_id) DO UPDATE SET json = excluded.json",
	[Q_MAN_GET] = "SELECT json FROM manifests WHERE run_id = ?1",
	[Q_MI_DELETE] = "DELETE FROM manifest_inputs WHERE run_id = ?1",
	[Q_MI_INSERT] =
		"INSERT INTO manifest_inputs (run_id, input_ref, dep_type, sha256, input_run_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	[Q_UPSTREAM] =
		"SELECT mi.input_ref FROM partitions p JOIN manifest_inputs mi"
		" ON mi.run_id = p.published_run WHERE p.ref = ?1 ORDER BY mi.input_ref",
	[Q_DOWNSTREAM] =
		"SELECT p.ref, p.status FROM manifest_inputs mi JOIN partitions p"
		" ON p.published_run = mi.run_id WHERE mi.input_ref = ?1 ORDER BY p.ref",
	[Q_DURATIONS] =
		"SELECT CAST(avg(d) AS DOUBLE PRECISION), count(*) FROM (SELECT end_us - start_us"
		" AS d FROM runs WHERE job = ?1 AND status = 'succeeded' ORDER BY end_us DESC"
		" LIMIT ?2) t",
	[Q_EV_INSERT] =
		"INSERT INTO events (time_us, build_id, type, ref, run_id, payload)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq",
	[Q_EV_READ] = "SELECT seq, time_us, build_id, type, ref, run_id, payload FROM events"
		" WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[Q_EV_LAST] = "SELECT max(seq) FROM events",
	[Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[Q_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[Q_COUNT] = "SELECT status, count(*) FROM partitions GROUP BY status",
	/*
	 * The parameters of Q_PART_PUBLISH but its ident: a version's time is
	 * the publish time, or one µs after the ref's newest if that is later.
	 */
	[Q_VER_INSERT] =
		"INSERT INTO versions (ref, time_us, run_id, build_key, sha256, size, job, version)"
		" VALUES (?1, (SELECT CASE WHEN m >= ?8 THEN m + 1 ELSE ?8 END FROM"
		" (SELECT max(time_us) AS m FROM versions WHERE ref = ?1) t), ?7, ?2, ?3, ?4, ?6, ?5)"
		" ON CONFLICT (ref, time_us) DO NOTHING",
	[Q_VER_LIST] = VER_SQL("v.ref = ?1 ORDER BY v.time_us"),
	[Q_VER_PAGE] = VER_SQL("(v.ref, v.time_us) > (?1, ?2) ORDER BY v.ref, v.time_us LIMIT ?3"),
	[Q_VER_PAGE_LT] = VER_SQL("(v.ref, v.time_us) > (?1, ?2) AND v.ref < ?3"
				  " ORDER BY v.ref, v.time_us LIMIT ?4"),
	[Q_VER_FIND] = VER_SQL("v.ref = ?1 AND v.build_key = ?2 ORDER BY v.time_us DESC LIMIT 1"),
	[Q_VER_BY_TIME] = VER_SQL("v.ref = ?1 AND v.time_us = ?2"),
	[Q_VER_BY_RUN] = VER_SQL("v.ref = ?1 AND v.run_id = ?2 ORDER BY v.time_us DESC LIMIT 1"),
	/* never the current version: the newest, while the row points at its run */
	[Q_VER_DELETE] = "DELETE FROM versions WHERE ref = ?1 AND time_us = ?2 AND NOT (EXISTS"
		" (SELECT 1 FROM partitions p WHERE p.ref = ?1 AND p.published_run = versions.run_id)"
		" AND time_us = (SELECT max(w.time_us) FROM versions w WHERE w.ref = ?1))",
	/* every partition with data has its current version: versions alone say */
	[Q_HASH_REF] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM versions WHERE sha256 = ?1)"
		" THEN 1 ELSE 0 END",
	/* (a failed run named by its outputs' rows: q_run_referenced, by their refs) */
	[Q_RUN_REF] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM runs WHERE id = ?1"
		" AND status = 'running') OR EXISTS (SELECT 1 FROM versions WHERE run_id = ?1)"
		" OR EXISTS (SELECT 1 FROM partitions WHERE published_run = ?1) THEN 1 ELSE 0 END",
	/* PostgreSQL only (arrays): publish_set */
	[Q_SET_RUNS_GET] = "SELECT id, build_id, status FROM runs"
		" WHERE id = ANY(CAST(?1 AS BIGINT[]))",
	[Q_SET_PART_GET] = "SELECT " PART_COLS " FROM partitions WHERE ref = ANY(CAST(?1 AS TEXT[]))",
	[Q_SET_MAN_PUT] = "INSERT INTO manifests (run_id, json)"
		" SELECT * FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS TEXT[]))"
		" ON CONFLICT (run_id) DO UPDATE SET json = excluded.json",
	[Q_SET_MI_DELETE] = "DELETE FROM manifest_inputs WHERE run_id = ANY(CAST(?1 AS BIGINT[]))",
	[Q_SET_MI_INSERT] =
		"INSERT INTO manifest_inputs (run_id, input_ref, dep_type, sha256, input_run_id)"
		" SELECT * FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]),"
		" CAST(?4 AS TEXT[]), CAST(?5 AS BIGINT[])) ON CONFLICT DO NOTHING",
	[Q_SET_PART_INSERT] =
		"INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" SELECT r, d, n, 'live', t, t FROM unnest(CAST(?1 AS TEXT[]), CAST(?2 AS TEXT[]),"
		" CAST(?3 AS TEXT[]), CAST(?4 AS BIGINT[])) WITH ORDINALITY AS u(r, d, n, t, o)"
		" ORDER BY o ON CONFLICT (ref) DO NOTHING",
	[Q_SET_DS_INSERT] = "INSERT INTO datasets (path, parent, name)"
		" SELECT * FROM unnest(CAST(?1 AS TEXT[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]))"
		" ON CONFLICT DO NOTHING",
	[Q_SET_PART_PUBLISH] =
		"UPDATE partitions p SET status = 'live', build_key = u.k, sha256 = u.h, size = u.s,"
		" version = u.v, job = u.j, run_id = u.i, published_run = u.i, updated_us = u.t,"
		" error = NULL, ident = NULLIF(u.d, '') FROM unnest(CAST(?1 AS TEXT[]),"
		" CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]), CAST(?4 AS BIGINT[]), CAST(?5 AS TEXT[]),"
		" CAST(?6 AS TEXT[]), CAST(?7 AS BIGINT[]), CAST(?8 AS BIGINT[]), CAST(?9 AS TEXT[]))"
		" AS u(r, k, h, s, v, j, i, t, d) WHERE p.ref = u.r",
	[Q_SET_RUN_FINISH] =
		"UPDATE runs SET status = 'succeeded', end_us = u.t, exit_status = 0, error = NULL"
		" FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BIGINT[])) AS u(i, t)"
		" WHERE runs.id = u.i",
	[Q_SET_EV_INSERT] =
		"INSERT INTO events (time_us, build_id, type, ref, run_id, payload)"
		" SELECT t, b, y, r, i, p FROM unnest(CAST(?1 AS BIGINT[]), CAST(?2 AS BIGINT[]),"
		" CAST(?3 AS TEXT[]), CAST(?4 AS TEXT[]), CAST(?5 AS BIGINT[]), CAST(?6 AS TEXT[]))"
		" WITH ORDINALITY AS u(t, b, y, r, i, p, o) ORDER BY o",
	/*
	 * Q_VER_INSERT over the arrays of Q_SET_PART_PUBLISH but its idents
	 * (OFFSET 0: the newest time is looked up once per row, not per use)
	 */
	[Q_SET_VER_INSERT] =
		"INSERT INTO versions (ref, time_us, run_id, build_key, sha256, size, job, version)"
		" SELECT r, CASE WHEN m >= t THEN m + 1 ELSE t END, i, k, h, s, j, v FROM"
		" (SELECT u.*, (SELECT max(x.time_us) FROM versions x WHERE x.ref = u.r) AS m"
		" FROM unnest(CAST(?1 AS TEXT[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]),"
		" CAST(?4 AS BIGINT[]), CAST(?5 AS TEXT[]), CAST(?6 AS TEXT[]), CAST(?7 AS BIGINT[]),"
		" CAST(?8 AS BIGINT[])) AS u(r, k, h, s, v, j, i, t) OFFSET 0) w"
		" ON CONFLICT (ref, time_us) DO NOTHING",
};

/* ---- parameters ------------------------------------------------------ */

/* More parameters than any statement has is a bug in catalog/. */
static struct qparam *qp_add(struct qparams *p)
{
	if (p->n >= QUERY_MAX_PARAMS)
		abort();
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	return &p->v[p->n++];
}

void qp_textn(struct qparams *p, const char *s, size_t n)
{
	struct qparam *q = qp_add(p);

	q->type = s ? QP_TEXT : QP_NULL;
	q->text = s;
	q->len = s ? n : 0;
}

void qp_text(struct qparams *p, const char *s)
{
	qp_textn(p, s, s ? strlen(s) : 0);
}

void qp_int(struct qparams *p, int64_t x)
{
	struct qparam *q = qp_add(p);

	q->type = QP_INT;
	q->num = x;
}

void qp_id(struct qparams *p, int64_t x)
{
	if (x > 0)
		qp_int(p, x);
	else
		qp_add(p)->type = QP_NULL;
}

void qp_array(struct qparams *p, const struct qarray *a)
{
	struct qparam *q = qp_add(p);

	q->type = QP_ARRAY;
	q->arr = a;
}

void qa_textn(struct qarray *a, const char *s, size_t n)
{
	ALLOC_GROW(a->v, a->nr + 1, a->alloc);
	a->v[a->nr++] = s ? xstrndup(s, n) : NULL;
}

void qa_text(struct qarray *a, const char *s)
{
	qa_textn(a, s, s ? strlen(s) : 0);
}

void qa_int(struct qarray *a, int64_t x)
{
	ALLOC_GROW(a->v, a->nr + 1, a->alloc);
	a->v[a->nr++] = xstrfmt("%lld", (long long)x);
}

void qa_id(struct qarray *a, int64_t x)
{
	if (x > 0)
		qa_int(a, x);
	else
		qa_text(a, NULL);
}

void qa_release(struct qarray *a)
{
	for (size_t i = 0; i < a->nr; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->nr = a->alloc = 0;
}

/* ---- running statements ---------------------------------------------- */

int q_exec(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
	   struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qrows rows;
	int rc;

	if (B->run(c, id, p, &rows, err) < 0)
		return -1;
	while ((rc = B->next(c, &rows, err)) > 0)
		;
	if (!rc && changes)
		*changes = B->changes(c, &rows);
	B->done(c, &rows);
	return rc;
}

int q_one(struct catalog *c, enum query_id id, const struct qparams *p,
	  int (*fn)(struct catalog *c, const struct qrows *rows, void *arg), void *arg,
	  struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qrows rows;
	int rc;

	if (B->run(c, id, p, &rows, err) < 0)
		return -1;
	rc = B->next(c, &rows, err);
	if (rc > 0 && fn && fn(c, &rows, arg) < 0)
		rc = -1;
	B->done(c, &rows);
	return rc;
}

int q_send(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
	   struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);

	return B->send ? B->send(c, id, p, changes, err) : q_exec(c, id, p, changes, err);
}

static int read_int_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	*(int64_t *)arg = q_backend(c)->integer(rows, 0);
	return 0;
}

int q_one_int(struct catalog *c, enum query_id id, const struct qparams *p, int64_t *out,
	      struct strbuf *err)
{
	return q_one(c, id, p, read_int_fn, out, err);
}

/* ---- row decoding ---------------------------------------------------- */

char *q_col_dup(struct catalog *c, const struct qrows *rows, int i)
{
	const char *t = q_backend(c)->text(rows, i, NULL);

	return t ? xstrdup(t) : NULL;
}

int64_t q_col_int(struct catalog *c, const struct qrows *rows, int i)
{
	return q_backend(c)->integer(rows, i);
}

char *q_col_id(struct catalog *c, const struct qrows *rows, int i)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t v;
	int64_t x;

	if (q_backend(c)->is_null(rows, i))
		return NULL;
	x = q_backend(c)->integer(rows, i);
	v = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (x < 0)
		*--p = '-';
	return xstrdup(p);
}

void q_col_hex(struct catalog *c, const struct qrows *rows, int i, char out[SHA256_HEX_LEN + 1])
{
	size_t n = 0;
	const char *t = q_backend(c)->text(rows, i, &n);

	if (!t)
		n = 0;
	if (n > SHA256_HEX_LEN)
		n = SHA256_HEX_LEN;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

void q_read_partition(struct catalog *c, const struct qrows *rows, struct partition *p)
{
	const char *status = q_backend(c)->text(rows, 1, NULL);
	int st = status ? part_status_parse(status) : -1;

	p->ref = q_col_dup(c, rows, 0);
	p->status = st < 0 ? PART_MISSING : (enum part_status)st;
	q_col_hex(c, rows, 2, p->build_key);
	q_col_hex(c, rows, 3, p->sha256);
	p->size = q_col_int(c, rows, 4);
	p->version = q_col_dup(c, rows, 5);
	p->job = q_col_dup(c, rows, 6);
	p->run_id = q_col_id(c, rows, 7);
	p->created_us = q_col_int(c, rows, 8);
	p->updated_us = q_col_int(c, rows, 9);
	p->error = q_col_dup(c, rows, 10);
	p->published_run = q_col_id(c, rows, 11);
	p->ident = q_col_dup(c, rows, 12);
}

/* ---- partitions and datasets ----------------------------------------- */

static int read_partition_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	q_read_partition(c, rows, arg);
	return 0;
}

int q_get_partition(struct catalog *c, const char *ref, struct partition *out,
		    struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int rc;

	qp_text(&p, ref);
	rc = q_one(c, Q_PART_GET, &p, read_partition_fn, out, err);
	if (!rc)
		out->ref = xstrdup(ref);
	return rc;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void partition_dup(struct partition *dst, const struct partition *src)
{
	*dst = *src;
	dst->ref = dup_or_null(src->ref);
	dst->version = dup_or_null(src->version);
	dst->job = dup_or_null(src->job);
	dst->run_id = dup_or_null(src->run_id);
	dst->error = dup_or_null(src->error);
	dst->published_run = dup_or_null(src->published_run);
	dst->ident = dup_or_null(src->ident);
}

int q_get_partitions(struct catalog *c, const char *const *refs, size_t n,
		     struct partition *out, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qarray a = QARRAY_INIT;
	struct qparams p = QPARAMS_INIT;
	struct strmap pos = STRMAP_INIT;
	struct partition row;
	struct qrows rows;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		qa_text(&a, refs[i]);
		if (!strmap_contains(&pos, refs[i]))
			strmap_put(&pos, refs[i], (void *)(uintptr_t)(i + 1));
	}
	qp_array(&p, &a);
	if (B->run(c, Q_SET_PART_GET, &p, &rows, err) < 0)
		goto out;
	while ((rc = B->next(c, &rows, err)) > 0) {
		size_t i;

		partition_init(&row);
		q_read_partition(c, &rows, &row);
		i = row.ref ? (size_t)(uintptr_t)strmap_get(&pos, row.ref) : 0;
		if (i) {
			partition_release(&out[i - 1]);
			out[i - 1] = row;
		} else {
			partition_release(&row);
		}
	}
	B->done(c, &rows);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t first = (size_t)(uintptr_t)strmap_get(&pos, refs[i]) - 1;

		if (first != i && out[first].status != PART_MISSING) {
			/* a ref asked for twice: the second gets a copy of the row */
			partition_release(&out[i]);
			partition_dup(&out[i], &out[first]);
		} else if (!out[i].ref) {
			out[i].ref = xstrdup(refs[i]);
		}
	}
	rc = 0;
out:
	strmap_clear(&pos);
	qa_release(&a);
	return rc;
}

static void add_utf8(struct strbuf *out, unsigned int cp)
{
	if (cp < 0x80) {
		strbuf_addch(out, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(out, (int)(0xc0 | (cp >> 6)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(out, (int)(0xe0 | (cp >> 12)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(out, (int)(0xf0 | (cp >> 18)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (int)(0x80 | (cp & 0x3f)));
	}
}

int q_prefix_upper(const char *prefix, struct strbuf *out)
{
	size_t n = strlen(prefix);

	while (n) {
		size_t s = n - 1;
		unsigned int cp;
		int len;

		while (s && n - s < 4 && ((unsigned char)prefix[s] & 0xc0) == 0x80)
			s--;
		len = utf8_decode(prefix + s, n - s, &cp);
		if (len != (int)(n - s)) {
			if ((unsigned char)prefix[n - 1] == 0xff) {
				n--;
				continue;
			}
			strbuf_add(out, prefix, n);
			out->buf[n - 1] = (char)((unsigned char)out->buf[n - 1] + 1);
			return 1;
		}
		if (cp >= 0x10ffff) {
			n = s;
			continue;
		}
		cp = cp + 1 == 0xd800 ? 0xe000 : cp + 1;
		strbuf_add(out, prefix, s);
		add_utf8(out, cp);
		return 1;
	}
	return 0;
}

int q_list_partitions(struct catalog *c, const char *prefix, const char *after, size_t limit,
		      unsigned status_mask, struct partition_list *out, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct strbuf upper = STRBUF_INIT, filter = STRBUF_INIT;
	struct qparams p = QPARAMS_INIT;
	int has_upper = q_prefix_upper(prefix, &upper);
	int gt = after && strcmp(after, prefix) >= 0;
	struct qrows rows;
	enum query_id id;
	int rc, ret = -1;

	id = has_upper ? (gt ? Q_LIST_GT_LT : Q_LIST_GE_LT) : (gt ? Q_LIST_GT : Q_LIST_GE);
	qp_text(&p, gt ? after : prefix);
	qp_text(&p, has_upper ? upper.buf : NULL);
	if (status_mask)
		rows_status_filter(status_mask, &filter);
	qp_text(&p, status_mask ? filter.buf : NULL);
	qp_int(&p, limit ? (int64_t)limit : QUERY_NO_LIMIT);
	if (B->run(c, id, &p, &rows, err) < 0)
		goto out;
	if (limit && limit <= 100000)
		ALLOC_GROW(out->items, out->nr + limit, out->alloc);
	while ((rc = B->next(c, &rows, err)) > 0) {
		ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		partition_init(&out->items[out->nr]);
		q_read_partition(c, &rows, &out->items[out->nr++]);
	}
	B->done(c, &rows);
	if (rc < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&upper);
	strbuf_release(&filter);
	return ret;
}

int q_list_children(struct catalog *c, const char *dir, const char *after, size_t limit,
		    struct strvec *names, struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qparams p = QPARAMS_INIT;
	struct qrows rows;
	int rc;

	qp_text(&p, dir);
	qp_text(&p, after ? after : "");
	qp_int(&p, limit ? (int64_t)limit : QUERY_NO_LIMIT);
	if (B->run(c, Q_CHILDREN, &p, &rows, err) < 0)
		return -1;
	while ((rc = B->next(c, &rows, err)) > 0)
		strvec_push(names, B->text(&rows, 0, NULL));
	B->done(c, &rows);
	return rc;
}

int q_ensure_partition(struct catalog *c, const char *ref, enum part_status status, int64_t t,
		       int *created, struct strbuf *err)
{
	size_t dlen = rows_dir_len(ref, strlen(ref));
	struct qparams p = QPARAMS_INIT;
	long nch = 0;

	qp_text(&p, ref);
	qp_textn(&p, ref, dlen);
	qp_text(&p, ref + dlen + (dlen ? 1 : 0));
	qp_text(&p, part_status_name(status));
	qp_int(&p, t);
	if (q_send(c, Q_PART_INSERT, &p, &nch, err) < 0)
		return -1;
	if (created)
		*created = nch > 0;
	/* A new partition (or unknown yet): its dataset and their ancestors, deepest first. */
	for (size_t n = dlen; nch && n; n = rows_dir_len(ref, n)) {
		size_t plen = rows_dir_len(ref, n);
		struct strbuf name = STRBUF_INIT;
		int rc;

		strbuf_add(&name, ref + plen + (plen ? 1 : 0), n - plen - (plen ? 1 : 0));
		strbuf_addch(&name, '/');
		p.n = 0;
		qp_textn(&p, ref, n);
		qp_textn(&p, ref, plen);
		qp_textn(&p, name.buf, name.len);
		rc = q_send(c, Q_DS_INSERT, &p, &nch, err);
		strbuf_release(&name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int q_delete_partition(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, ref);
	return q_exec(c, Q_PART_DELETE, &p, NULL, err);
}

int q_dataset_used(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	struct strbuf lo = STRBUF_INIT, hi = STRBUF_INIT;
	struct qparams p = QPARAMS_INIT;
	int rc;

	strbuf_add(&lo, dir, len);
	strbuf_addch(&lo, '/');
	strbuf_add(&hi, dir, len);
	strbuf_addch(&hi, '/' + 1);
	qp_textn(&p, lo.buf, lo.len);
	qp_textn(&p, hi.buf, hi.len);
	rc = q_one(c, Q_DS_ANY, &p, NULL, NULL, err);
	strbuf_release(&lo);
	strbuf_release(&hi);
	return rc;
}

int q_delete_dataset(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_textn(&p, dir, len);
	return q_exec(c, Q_DS_DELETE, &p, NULL, err);
}

int q_update_status(struct catalog *c, const char *ref, enum part_status status,
		    const char *error, int64_t t, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, ref);
	qp_text(&p, part_status_name(status));
	qp_text(&p, error);
	qp_int(&p, t);
	return q_exec(c, Q_PART_STATUS, &p, NULL, err);
}

int q_restore_partition(struct catalog *c, const char *ref, enum part_status status,
			int64_t run_id, const char *job, const char *error, int64_t updated_us,
			struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, ref);
	qp_text(&p, part_status_name(status));
	qp_id(&p, run_id);
	qp_text(&p, job);
	qp_text(&p, error);
	qp_int(&p, updated_us);
	return q_exec(c, Q_PART_RESTORE, &p, NULL, err);
}

struct set_status_args {
	const char *ref;
	enum part_status status;
	const char *error;
};

static int set_status_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct set_status_args *s = arg;

	return rows_set_status(c, s->ref, s->status, s->error, now_us(), err);
}

int q_set_status(struct catalog *c, const char *ref, enum part_status status,
		 const char *error, struct strbuf *err)
{
	struct set_status_args s = { ref, status, error };

	return q_backend(c)->write_tx(c, set_status_tx, &s, err);
}

int q_set_ident(struct catalog *c, const char *ref, const char *published_run,
		const char *ident, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;
	int64_t id;

	if (rows_run_id(c, published_run, &id, err) < 0)
		return -1;
	qp_text(&p, ref);
	qp_int(&p, id);
	qp_text(&p, ident);
	return q_exec(c, Q_PART_IDENT, &p, NULL, err);
}

int q_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
		       struct strbuf *err)
{
	const struct query_backend *B = q_backend(c);
	struct qrows rows;
	int rc;

	if (B->run(c, Q_COUNT, NULL, &rows, err) < 0)
		return -1;
	while ((rc = B->next(c, &rows, err)) > 0) {
		const char *name = B->text(&rows, 0, NULL);
		int st = name ? part_status_parse(name) : -1;

		if (st > PART_MISSING && st < PART_STATUS_NR && (status_mask & (1u << st)))
			counts[st] += B->integer(&rows, 1);
	}
	B->done(c, &rows);
	return rc;
}

/* ---- meta ------------------------------------------------------------ */

static int read_text_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	*(char **)arg = q_col_dup(c, rows, 0);
	return 0;
}

int q_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, key);
	return q_one(c, Q_META_GET, &p, read_text_fn, value, err);
}

int q_set_meta(struct catalog *c, const char *key, const char *value, struct strbuf *err)
{
	struct qparams p = QPARAMS_INIT;

	qp_text(&p, key);
	qp_text(&p, value);
	return q_exec(c, Q_META_SET, &p, NULL, err);
}

