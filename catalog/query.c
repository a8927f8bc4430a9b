#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/query.h"
#include "core/array.h"
#include "core/clock.h"
#include "core/json.h"
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

static const struct query_backend *qb(struct catalog *c)
{
	return c->ops->query;
}

int q_exec(struct catalog *c, enum query_id id, const struct qparams *p, long *changes,
	   struct strbuf *err)
{
	const struct query_backend *B = qb(c);
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
	const struct query_backend *B = qb(c);
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
	const struct query_backend *B = qb(c);

	return B->send ? B->send(c, id, p, changes, err) : q_exec(c, id, p, changes, err);
}

static int read_int_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	*(int64_t *)arg = qb(c)->integer(rows, 0);
	return 0;
}

int q_one_int(struct catalog *c, enum query_id id, const struct qparams *p, int64_t *out,
	      struct strbuf *err)
{
	return q_one(c, id, p, read_int_fn, out, err);
}

/* ---- row decoding ---------------------------------------------------- */

static char *col_dup(struct catalog *c, const struct qrows *rows, int i)
{
	const char *t = qb(c)->text(rows, i, NULL);

	return t ? xstrdup(t) : NULL;
}

static int64_t col_int(struct catalog *c, const struct qrows *rows, int i)
{
	return qb(c)->integer(rows, i);
}

/* An id column as the decimal text callers see (run ids), or NULL; no printf. */
static char *col_id(struct catalog *c, const struct qrows *rows, int i)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t v;
	int64_t x;

	if (qb(c)->is_null(rows, i))
		return NULL;
	x = qb(c)->integer(rows, i);
	v = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (x < 0)
		*--p = '-';
	return xstrdup(p);
}

static void col_hex(struct catalog *c, const struct qrows *rows, int i,
		    char out[SHA256_HEX_LEN + 1])
{
	size_t n = 0;
	const char *t = qb(c)->text(rows, i, &n);

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
	const char *status = qb(c)->text(rows, 1, NULL);
	int st = status ? part_status_parse(status) : -1;

	p->ref = col_dup(c, rows, 0);
	p->status = st < 0 ? PART_MISSING : (enum part_status)st;
	col_hex(c, rows, 2, p->build_key);
	col_hex(c, rows, 3, p->sha256);
	p->size = col_int(c, rows, 4);
	p->version = col_dup(c, rows, 5);
	p->job = col_dup(c, rows, 6);
	p->run_id = col_id(c, rows, 7);
	p->created_us = col_int(c, rows, 8);
	p->updated_us = col_int(c, rows, 9);
	p->error = col_dup(c, rows, 10);
	p->published_run = col_id(c, rows, 11);
	p->ident = col_dup(c, rows, 12);
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
	const struct query_backend *B = qb(c);
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

/*
 * The smallest valid UTF-8 string greater than every string starting with
 * prefix (in byte order, which is code point order): prefix with its last
 * code point below U+10FFFF incremented and the rest dropped. 0 if there
 * is none (prefix empty or all U+10FFFF). Bytes that are not UTF-8 (which
 * PostgreSQL refuses anyway) are incremented as bytes.
 */
static int prefix_upper(const char *prefix, struct strbuf *out)
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
	const struct query_backend *B = qb(c);
	struct strbuf upper = STRBUF_INIT, filter = STRBUF_INIT;
	struct qparams p = QPARAMS_INIT;
	int has_upper = prefix_upper(prefix, &upper);
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
	const struct query_backend *B = qb(c);
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

	return qb(c)->write_tx(c, set_status_tx, &s, err);
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
	const struct query_backend *B = qb(c);
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
	ret = qb(c)->write_tx(c, finish_build_tx, &b, err);
	free(payload);
	return ret;
}

static int read_build_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	struct build_record *out = arg;

	out->id = col_int(c, rows, 0);
	rows_strvec_from_json(&out->refs, qb(c)->text(rows, 1, NULL));
	out->requester = col_dup(c, rows, 2);
	out->status = col_dup(c, rows, 3);
	out->start_us = col_int(c, rows, 4);
	out->end_us = col_int(c, rows, 5);
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
	const char *status = qb(c)->text(rows, 4, NULL);
	int st = status ? run_status_parse(status) : -1;

	r->run_id = col_id(c, rows, 0);
	r->build_id = col_int(c, rows, 1);
	r->job = col_dup(c, rows, 2);
	r->config_json = col_dup(c, rows, 3);
	r->status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
	r->pid = (long)col_int(c, rows, 5);
	r->host = col_dup(c, rows, 6);
	r->start_us = col_int(c, rows, 7);
	r->end_us = col_int(c, rows, 8);
	r->exit_status = (int)col_int(c, rows, 9);
	r->log_path = col_dup(c, rows, 10);
	r->error = col_dup(c, rows, 11);
	rows_strvec_from_json(&r->outputs, qb(c)->text(rows, 12, NULL));
	if (rr->prior)
		*rr->prior = col_dup(c, rows, 13);
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
			       f->exit_status, f->error, qb(c)->retrying(c), now_us(), err);
}

int q_finish_run(struct catalog *c, const char *run_id, enum run_status status,
		 int exit_status, const char *error, struct strbuf *err)
{
	struct finish_run_args f = { run_id, 0, status, NULL, exit_status, error };

	if (!(f.ev = rows_end_event(c, run_id, status, err)) ||
	    rows_run_id(c, run_id, &f.id, err) < 0)
		return -1;
	return qb(c)->write_tx(c, finish_run_tx, &f, err);
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
	const char *json = qb(c)->text(rows, 0, &len);

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

	*avg_us = col_int(c, rows, 1) && !qb(c)->is_null(rows, 0) ?
		(int64_t)qb(c)->real(rows, 0) : 0;
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

/* ---- events ---------------------------------------------------------- */

/* The parameters of Q_EV_INSERT (time_us 0: now; ids 0: NULL). */
static void ev_params(struct qparams *p, int64_t time_us, int64_t build_id, const char *type,
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

	ev_params(&p, time_us, build_id, type, ref, run_id, payload);
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
	ev_params(p, e->time_us, e->build_id, e->type, e->ref, run, e->payload);
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
	    qb(c)->write_tx(c, append_events_tx, &ea, err) < 0)
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
	struct events_args ea = { es, n, 0 };

	return qb(c)->write_tx(c, qb(c)->arrays && n > 1 ? append_events_set_tx : append_events_tx,
			       &ea, err);
}

#define EVENT_PAGE 512

/*
 * Each page is read in full before fn runs, so fn may use the handle.
 */
int q_read_events(struct catalog *c, int64_t after_seq, size_t limit,
		  int (*fn)(const struct event *e, void *arg), void *arg, struct strbuf *err)
{
	const struct query_backend *B = qb(c);
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

			e->seq = col_int(c, &rows, 0);
			e->time_us = col_int(c, &rows, 1);
			e->build_id = col_int(c, &rows, 2);
			e->type = col_dup(c, &rows, 3);
			e->ref = col_dup(c, &rows, 4);
			e->run_id = col_id(c, &rows, 5);
			e->payload = col_dup(c, &rows, 6);
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
	const struct query_backend *B = qb(c);
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
	int ret = qb(c)->write_tx(c, taint_tx, &ta, err);

	if (!ret && changed)
		for (size_t i = 0; i < ta.changed.nr; i++)
			strvec_push(changed, ta.changed.v[i]);
	strvec_clear(&ta.changed);
	return ret;
}

/* ---- meta ------------------------------------------------------------ */

static int read_text_fn(struct catalog *c, const struct qrows *rows, void *arg)
{
	*(char **)arg = col_dup(c, rows, 0);
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


/* ---- builds begun ---------------------------------------------------- */

struct begin_build_args {
	const char *refs_json, *requester, *payload;
	int64_t t, id;
};

static int begin_build_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	const struct query_backend *B = qb(c);
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
	if (q_one_int(c, Q_BUILD_INSERT, &p, &b->id, err) <= 0)
		return -1;
	return q_event(c, b->t, b->id, EV_BUILD_REQUESTED, NULL, 0, b->payload, NULL, err);
}

int q_begin_build(struct catalog *c, const struct strvec *refs, const char *requester,
		  int64_t *build_id, struct strbuf *err)
{
	cJSON *arr = cJSON_CreateArray(), *payload = cJSON_CreateObject();
	struct begin_build_args b = { NULL, requester ? requester : "cli", NULL, now_us(), 0 };
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
	ret = qb(c)->write_tx(c, begin_build_tx, &b, err);
	if (!ret)
		*build_id = b.id;
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
	const struct query_backend *B = qb(c);
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
	ev_params(&p, b->t, run->build_id, EV_JOB_STARTED, NULL, b->id, payload);
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
	if (qb(c)->write_tx(c, begin_run_tx, &b, err) < 0)
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
	ev_params(&p, t, build_id, EV_PARTITION_PUBLISHED, o->ref, id, payload);
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
	pr->done = qb(c)->retrying(c) && r.status == RUN_SUCCEEDED;
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
	ev_params(&p, t, pr->build_id, EV_JOB_FINISHED, NULL, pr->id, done_json);
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
	const struct query_backend *B = qb(c);
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
	const struct query_backend *B = qb(c);
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
	const struct query_backend *B = qb(c);
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

	if (qb(c)->arrays && pa->n > 1 && publish_distinct(pa->ms, pa->n)) {
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

	return n ? qb(c)->write_tx(c, publish_tx, &pa, err) : 0;
}

int q_publish(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	return q_publish_batch(c, &m, 1, err);
}

/* ---- versions -------------------------------------------------------- */

/* The current row of a Q_VER_* statement (VER_SQL) into v. */
static void read_version(struct catalog *c, const struct qrows *rows, struct version *v)
{
	v->ref = col_dup(c, rows, 0);
	v->run_id = col_id(c, rows, 1);
	v->time_us = col_int(c, rows, 2);
	col_hex(c, rows, 3, v->build_key);
	col_hex(c, rows, 4, v->sha256);
	v->size = col_int(c, rows, 5);
	v->job = col_dup(c, rows, 6);
	v->version = col_dup(c, rows, 7);
	v->current = col_int(c, rows, 8) != 0;
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
	const struct query_backend *B = qb(c);
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
	int has_upper = prefix_upper(prefix, &upper);
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
	if (rc && qb(c)->retrying(c) && part.status == PART_LIVE &&
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

	return qb(c)->write_tx(c, restore_tx, &ra, err);
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
		if (qb(c)->retrying(c))
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

	return qb(c)->write_tx(c, remove_tx, &ra, err);
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

	if (qb(c)->write_tx(c, delete_tx, &da, err) < 0)
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
