#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/clock.h"
#include "catalog/lease.h"
#include "catalog/rows.h"
#include "catalog/sqlite.h"
#include "core/array.h"
#include "core/hash.h"
#include "core/json.h"

/* The row operations rows.c runs the shared rules with (defined below). */
static const struct catalog_rows sq_rows;

/*
 * Schema history. Never edit a released step: add one. Every table that
 * names a run stores the integer id (runs.id) that run ids print as.
 */
const char *const catalog_sqlite_migrations[CATALOG_SQLITE_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE builds ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  refs TEXT NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  start_us INTEGER NOT NULL,"
	"  end_us INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  build_id INTEGER REFERENCES builds(id),"
	"  job TEXT NOT NULL,"
	"  config_json TEXT,"
	"  status TEXT NOT NULL,"
	"  pid INTEGER NOT NULL DEFAULT 0,"
	"  host TEXT,"
	"  start_us INTEGER NOT NULL,"
	"  end_us INTEGER NOT NULL DEFAULT 0,"
	"  exit_status INTEGER NOT NULL DEFAULT 0,"
	"  log_path TEXT,"
	"  error TEXT,"
	"  outputs TEXT NOT NULL,"
	"  prior TEXT NOT NULL);"
	"CREATE TABLE partitions ("
	"  ref TEXT PRIMARY KEY,"
	"  dataset TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  build_key TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  size INTEGER NOT NULL DEFAULT -1,"
	"  version TEXT,"
	"  job TEXT,"
	"  run_id INTEGER,"
	"  published_run INTEGER,"
	"  created_us INTEGER NOT NULL,"
	"  updated_us INTEGER NOT NULL,"
	"  error TEXT) WITHOUT ROWID;"
	"CREATE INDEX partitions_by_dataset ON partitions(dataset, name);"
	"CREATE INDEX partitions_by_published_run ON partitions(published_run);"
	"CREATE TABLE datasets ("
	"  path TEXT PRIMARY KEY,"
	"  parent TEXT NOT NULL,"
	"  name TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX datasets_by_parent ON datasets(parent, name);"
	"CREATE TABLE manifests ("
	"  run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
	"  json TEXT NOT NULL);"
	"CREATE TABLE manifest_inputs ("
	"  run_id INTEGER NOT NULL REFERENCES manifests(run_id) ON DELETE CASCADE,"
	"  input_ref TEXT NOT NULL,"
	"  dep_type TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  input_run_id INTEGER,"
	"  PRIMARY KEY (run_id, input_ref)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_us INTEGER NOT NULL,"
	"  build_id INTEGER,"
	"  type TEXT NOT NULL,"
	"  ref TEXT,"
	"  run_id INTEGER,"
	"  payload TEXT);",
	/* 1 -> 2: downstream lineage and ETA lookups without table scans */
	"CREATE INDEX manifest_inputs_by_input ON manifest_inputs(input_ref);"
	"CREATE INDEX runs_by_job ON runs(job, status, end_us);",
	/* 2 -> 3: published files' identities; the store id and other facts */
	"ALTER TABLE partitions ADD COLUMN ident TEXT;"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;",
};

#define PART_COLS "ref, status, build_key, sha256, size, version, job, run_id, " \
	"created_us, updated_us, error, published_run, ident"
#define LIST_SQL(range) "SELECT " PART_COLS " FROM partitions WHERE " range \
	" AND (?3 IS NULL OR instr(?3, ',' || status || ',') > 0) ORDER BY ref LIMIT ?4"
#define RUN_COLS "id, build_id, job, config_json, status, pid, host, start_us, end_us, " \
	"exit_status, log_path, error, outputs, prior"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_PART_GET,
	ST_LIST_GE_LT,
	ST_LIST_GT_LT,
	ST_LIST_GE,
	ST_LIST_GT,
	ST_CHILDREN,
	ST_PART_INSERT,
	ST_DS_INSERT,
	ST_DS_ANY,
	ST_DS_DELETE,
	ST_PART_DELETE,
	ST_PART_PUBLISH,
	ST_PART_STATUS,
	ST_PART_BUILDING,
	ST_PART_RESTORE,
	ST_BUILD_INSERT,
	ST_BUILD_FINISH,
	ST_BUILD_GET,
	ST_RUN_INSERT,
	ST_RUN_PID,
	ST_RUN_LOG,
	ST_RUN_GET,
	ST_RUN_FINISH,
	ST_MAN_PUT,
	ST_MAN_GET,
	ST_MI_DELETE,
	ST_MI_INSERT,
	ST_UPSTREAM,
	ST_DOWNSTREAM,
	ST_DURATIONS,
	ST_EV_INSERT,
	ST_EV_READ,
	ST_EV_LAST,
	ST_PART_IDENT,
	ST_META_GET,
	ST_META_SET,
	ST__NR
};

static const char *const stmt_sql[ST__NR] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PART_GET] = "SELECT " PART_COLS " FROM partitions WHERE ref = ?1",
	[ST_LIST_GE_LT] = LIST_SQL("ref >= ?1 AND ref < ?2"),
	[ST_LIST_GT_LT] = LIST_SQL("ref > ?1 AND ref < ?2"),
	[ST_LIST_GE] = LIST_SQL("ref >= ?1 AND ?2 IS NULL"),
	[ST_LIST_GT] = LIST_SQL("ref > ?1 AND ?2 IS NULL"),
	[ST_CHILDREN] =
		"SELECT name FROM partitions WHERE dataset = ?1 AND name > ?2"
		" UNION ALL SELECT name FROM datasets WHERE parent = ?1 AND name > ?2"
		" ORDER BY 1 LIMIT ?3",
	[ST_PART_INSERT] =
		"INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (ref) DO NOTHING",
	[ST_DS_INSERT] = "INSERT INTO datasets (path, parent, name) VALUES (?1, ?2, ?3)"
		" ON CONFLICT DO NOTHING",
	[ST_DS_ANY] = "SELECT 1 FROM partitions WHERE ref >= ?1 AND ref < ?2 LIMIT 1",
	[ST_DS_DELETE] = "DELETE FROM datasets WHERE path = ?1",
	[ST_PART_DELETE] = "DELETE FROM partitions WHERE ref = ?1",
	[ST_PART_PUBLISH] =
		"UPDATE partitions SET status = 'live', build_key = ?2, sha256 = ?3, size = ?4,"
		" version = ?5, job = ?6, run_id = ?7, published_run = ?7, updated_us = ?8,"
		" error = NULL, ident = ?9 WHERE ref = ?1",
	[ST_PART_STATUS] =
		"UPDATE partitions SET status = ?2, error = ?3, updated_us = ?4 WHERE ref = ?1",
	[ST_PART_BUILDING] =
		"UPDATE partitions SET status = 'building', run_id = ?2, job = ?3,"
		" updated_us = ?4, error = NULL WHERE ref = ?1",
	[ST_PART_RESTORE] =
		"UPDATE partitions SET status = ?2, run_id = ?3, job = ?4, error = ?5,"
		" updated_us = ?6 WHERE ref = ?1",
	[ST_BUILD_INSERT] =
		"INSERT INTO builds (refs, requester, status, start_us) VALUES (?1, ?2, 'running', ?3)",
	[ST_BUILD_FINISH] = "UPDATE builds SET status = ?2, end_us = ?3 WHERE id = ?1",
	[ST_BUILD_GET] = "SELECT id, refs, requester, status, start_us, end_us FROM builds"
		" WHERE id = ?1",
	[ST_RUN_INSERT] =
		"INSERT INTO runs (id, build_id, job, config_json, status, pid, host, start_us,"
		" log_path, outputs, prior) VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_RUN_PID] = "UPDATE runs SET pid = ?2 WHERE id = ?1",
	[ST_RUN_LOG] = "UPDATE runs SET log_path = ?2 WHERE id = ?1",
	[ST_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
	[ST_RUN_FINISH] =
		"UPDATE runs SET status = ?2, end_us = ?3, exit_status = ?4, error = ?5 WHERE id = ?1",
	[ST_MAN_PUT] = "INSERT INTO manifests (run_id, json) VALUES (?1, ?2)"
		" ON CONFLICT (run_id) DO UPDATE SET json = excluded.json",
	[ST_MAN_GET] = "SELECT json FROM manifests WHERE run_id = ?1",
	[ST_MI_DELETE] = "DELETE FROM manifest_inputs WHERE run_id = ?1",
	[ST_MI_INSERT] =
		"INSERT INTO manifest_inputs (run_id, input_ref, dep_type, sha256, input_run_id)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
	[ST_UPSTREAM] =
		"SELECT mi.input_ref FROM partitions p JOIN manifest_inputs mi"
		" ON mi.run_id = p.published_run WHERE p.ref = ?1 ORDER BY mi.input_ref",
	[ST_DOWNSTREAM] =
		"SELECT p.ref, p.status FROM manifest_inputs mi JOIN partitions p"
		" ON p.published_run = mi.run_id WHERE mi.input_ref = ?1 ORDER BY p.ref",
	[ST_DURATIONS] =
		"SELECT avg(d), count(*) FROM (SELECT end_us - start_us AS d FROM runs"
		" WHERE job = ?1 AND status = 'succeeded' ORDER BY end_us DESC LIMIT ?2)",
	[ST_EV_INSERT] =
		"INSERT INTO events (time_us, build_id, type, ref, run_id, payload)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_EV_READ] = "SELECT seq, time_us, build_id, type, ref, run_id, payload FROM events"
		" WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[ST_EV_LAST] = "SELECT max(seq) FROM events",
	[ST_PART_IDENT] = "UPDATE partitions SET ident = ?3 WHERE ref = ?1 AND status = 'live'"
		" AND published_run = ?2",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST__NR];
};

static struct sq *sq(struct catalog *c)
{
	return c->impl;
}

static int db_fail(struct catalog *c, struct strbuf *err)
{
	struct sq *q = sq(c);
	int code = sqlite3_extended_errcode(q->db);
	int sys = sqlite3_system_errno(q->db);

	strbuf_addf(err, "catalog '%s': %s", c->location, sqlite3_errmsg(q->db));
	if (sys && ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_IOERR))
		strbuf_addf(err, " (%s)", strerror(sys));
	return -1;
}

static sqlite3_stmt *stmt(struct catalog *c, enum stmt_id id, struct strbuf *err)
{
	struct sq *q = sq(c);

	if (!q->st[id] && sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					     &q->st[id], NULL) != SQLITE_OK) {
		db_fail(c, err);
		q->st[id] = NULL;
	}
	return q->st[id];
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Steps a statement that returns no rows, then resets it. */
static int exec_done(struct catalog *c, sqlite3_stmt *s, struct strbuf *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_fail(c, err);
		done(s);
		return -1;
	}
	done(s);
	return 0;
}

/* SQLITE_ROW -> 1, SQLITE_DONE -> 0 (statement reset), else -1 with err (statement reset). */
static int step_row(struct catalog *c, sqlite3_stmt *s, struct strbuf *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		/* no row: reset now, or the next bind on s fails and keeps old values */
		done(s);
		return 0;
	}
	db_fail(c, err);
	done(s);
	return -1;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_id(sqlite3_stmt *s, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* An id column as the decimal text callers see (run ids), or NULL. */
static char *col_id(sqlite3_stmt *s, int i)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t v;
	int64_t x;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	x = sqlite3_column_int64(s, i);
	v = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (x < 0)
		*--p = '-';
	return xstrdup(p);
}

static void col_hex(sqlite3_stmt *s, int i, char out[SHA256_HEX_LEN + 1])
{
	const unsigned char *t = sqlite3_column_text(s, i);

	size_t n = t ? strlen((const char *)t) : 0;

	if (n > SHA256_HEX_LEN)
		n = SHA256_HEX_LEN;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

static int tx_begin(struct catalog *c, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_BEGIN, err);

	return s ? exec_done(c, s, err) : -1;
}

/* Commits if ok, rolls back otherwise. Returns 0 if committed. */
static int tx_end(struct catalog *c, int ok, struct strbuf *err)
{
	struct strbuf ignored = STRBUF_INIT;
	sqlite3_stmt *s;

	if (ok) {
		s = stmt(c, ST_COMMIT, err);
		if (s && !exec_done(c, s, err))
			return 0;
	}
	if (sqlite3_get_autocommit(sq(c)->db))
		return -1;
	s = stmt(c, ST_ROLLBACK, &ignored);
	if (s)
		exec_done(c, s, &ignored);
	strbuf_release(&ignored);
	return -1;
}

/* ---- events ---------------------------------------------------------- */

static int ev_insert(struct catalog *c, int64_t time_us, int64_t build_id, const char *type,
		     const char *ref, int64_t run_id, const char *payload, int64_t *seq,
		     struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_EV_INSERT, err);

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, time_us ? time_us : now_us());
	bind_id(s, 2, build_id);
	bind_text(s, 3, type);
	bind_text(s, 4, ref);
	bind_id(s, 5, run_id);
	bind_text(s, 6, payload);
	if (exec_done(c, s, err) < 0)
		return -1;
	if (seq)
		*seq = sqlite3_last_insert_rowid(sq(c)->db);
	return 0;
}

/* ---- partitions and datasets ----------------------------------------- */

static void read_partition(sqlite3_stmt *s, struct partition *p)
{
	int st;

	p->ref = col_dup(s, 0);
	st = part_status_parse((const char *)sqlite3_column_text(s, 1));
	p->status = st < 0 ? PART_MISSING : (enum part_status)st;
	col_hex(s, 2, p->build_key);
	col_hex(s, 3, p->sha256);
	p->size = sqlite3_column_int64(s, 4);
	p->version = col_dup(s, 5);
	p->job = col_dup(s, 6);
	p->run_id = col_id(s, 7);
	p->created_us = sqlite3_column_int64(s, 8);
	p->updated_us = sqlite3_column_int64(s, 9);
	p->error = col_dup(s, 10);
	p->published_run = col_id(s, 11);
	p->ident = col_dup(s, 12);
}

static int sq_get_partition(struct catalog *c, const char *ref, struct partition *out,
			    struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_PART_GET, err);
	int rc;

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	rc = step_row(c, s, err);
	if (rc < 0)
		return -1;
	if (rc)
		read_partition(s, out);
	else
		out->ref = xstrdup(ref);
	done(s);
	return rc;
}

/*
 * The smallest string greater than every string starting with prefix:
 * prefix with its last byte below 0xff incremented and the rest dropped.
 * 0 if there is none (prefix empty or all 0xff).
 */
static int prefix_upper(const char *prefix, struct strbuf *out)
{
	size_t n = strlen(prefix);

	while (n && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	if (!n)
		return 0;
	strbuf_add(out, prefix, n);
	out->buf[n - 1] = (char)((unsigned char)out->buf[n - 1] + 1);
	return 1;
}

static int sq_list_partitions(struct catalog *c, const char *prefix, const char *after,
			      size_t limit, unsigned status_mask,
			      struct partition_list *out, struct strbuf *err)
{
	struct strbuf upper = STRBUF_INIT, filter = STRBUF_INIT;
	int has_upper = prefix_upper(prefix, &upper);
	int gt = after && strcmp(after, prefix) >= 0;
	enum stmt_id id;
	sqlite3_stmt *s;
	int rc, ret = -1;

	id = has_upper ? (gt ? ST_LIST_GT_LT : ST_LIST_GE_LT) : (gt ? ST_LIST_GT : ST_LIST_GE);
	if (!(s = stmt(c, id, err)))
		goto out;
	bind_text(s, 1, gt ? after : prefix);
	if (has_upper)
		sqlite3_bind_text(s, 2, upper.buf, (int)upper.len, SQLITE_STATIC);
	if (status_mask) {
		rows_status_filter(status_mask, &filter);
		sqlite3_bind_text(s, 3, filter.buf, (int)filter.len, SQLITE_STATIC);
	}
	sqlite3_bind_int64(s, 4, limit ? (int64_t)limit : -1);
	if (limit && limit <= 100000)
		ALLOC_GROW(out->items, out->nr + limit, out->alloc);
	while ((rc = step_row(c, s, err)) > 0) {
		ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		partition_init(&out->items[out->nr]);
		read_partition(s, &out->items[out->nr++]);
	}
	if (rc < 0)
		goto out;
	done(s);
	ret = 0;
out:
	strbuf_release(&upper);
	strbuf_release(&filter);
	return ret;
}

static int sq_list_children(struct catalog *c, const char *dir, const char *after,
			    size_t limit, struct strvec *names, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_CHILDREN, err);
	int rc;

	if (!s)
		return -1;
	bind_text(s, 1, dir);
	bind_text(s, 2, after ? after : "");
	sqlite3_bind_int64(s, 3, limit ? (int64_t)limit : -1);
	while ((rc = step_row(c, s, err)) > 0)
		strvec_push(names, (const char *)sqlite3_column_text(s, 0));
	if (rc < 0)
		return -1;
	done(s);
	return 0;
}

/*
 * Inserts ref with status if it is unknown (and the datasets above it).
 * *created (may be NULL) tells whether it was inserted.
 */
static int ensure_partition(struct catalog *c, const char *ref, enum part_status status,
			    int64_t t, int *created, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_PART_INSERT, err);
	size_t dlen = rows_dir_len(ref, strlen(ref));
	size_t n;

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	sqlite3_bind_text(s, 2, ref, (int)dlen, SQLITE_TRANSIENT);
	bind_text(s, 3, ref + dlen + (dlen ? 1 : 0));
	bind_text(s, 4, part_status_name(status));
	sqlite3_bind_int64(s, 5, t);
	if (exec_done(c, s, err) < 0)
		return -1;
	if (created)
		*created = sqlite3_changes(sq(c)->db) > 0;
	if (!sqlite3_changes(sq(c)->db))
		return 0;
	/* New partition: record its dataset and their ancestors, deepest first. */
	for (n = dlen; n; n = rows_dir_len(ref, n)) {
		size_t plen = rows_dir_len(ref, n);
		struct strbuf name = STRBUF_INIT;
		int changed;

		if (!(s = stmt(c, ST_DS_INSERT, err)))
			return -1;
		strbuf_add(&name, ref + plen + (plen ? 1 : 0), n - plen - (plen ? 1 : 0));
		strbuf_addch(&name, '/');
		sqlite3_bind_text(s, 1, ref, (int)n, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, ref, (int)plen, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, name.buf, (int)name.len, SQLITE_TRANSIENT);
		strbuf_release(&name);
		if (exec_done(c, s, err) < 0)
			return -1;
		changed = sqlite3_changes(sq(c)->db) > 0;
		if (!changed)
			break;
	}
	return 0;
}

static int delete_partition(struct catalog *c, const char *ref, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_PART_DELETE, err);

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	return exec_done(c, s, err);
}

static int dataset_used(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_DS_ANY, err);
	struct strbuf lo = STRBUF_INIT, hi = STRBUF_INIT;
	int rc = -1;

	if (!s)
		return -1;
	strbuf_add(&lo, dir, len);
	strbuf_addch(&lo, '/');
	strbuf_add(&hi, dir, len);
	strbuf_addch(&hi, '/' + 1);
	sqlite3_bind_text(s, 1, lo.buf, (int)lo.len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, hi.buf, (int)hi.len, SQLITE_STATIC);
	rc = step_row(c, s, err);
	if (rc >= 0)
		done(s);
	strbuf_release(&lo);
	strbuf_release(&hi);
	return rc;
}

static int delete_dataset(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_DS_DELETE, err);

	if (!s)
		return -1;
	sqlite3_bind_text(s, 1, dir, (int)len, SQLITE_TRANSIENT);
	return exec_done(c, s, err);
}

static int update_status(struct catalog *c, const char *ref, enum part_status status,
			 const char *error, int64_t t, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_PART_STATUS, err);

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	bind_text(s, 2, part_status_name(status));
	bind_text(s, 3, error);
	sqlite3_bind_int64(s, 4, t);
	return exec_done(c, s, err);
}

static int sq_set_status(struct catalog *c, const char *ref, enum part_status status,
			 const char *error, struct strbuf *err)
{
	int ok;

	if (tx_begin(c, err) < 0)
		return -1;
	ok = rows_set_status(c, &sq_rows, ref, status, error, now_us(), err) == 0;
	return tx_end(c, ok, err);
}

/* ---- builds ---------------------------------------------------------- */

static int sq_begin_build(struct catalog *c, const struct strvec *refs,
			  const char *requester, int64_t *build_id, struct strbuf *err)
{
	cJSON *arr = cJSON_CreateArray(), *payload = cJSON_CreateObject();
	char *refs_json, *payload_json;
	int64_t t = now_us();
	sqlite3_stmt *s;
	int ok = 0;

	for (size_t i = 0; i < refs->nr; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(refs->v[i]));
	cJSON_AddItemReferenceToObject(payload, "refs", arr);
	cJSON_AddStringToObject(payload, "requester", requester ? requester : "cli");
	payload_json = rows_json_take(payload);
	refs_json = rows_json_take(arr);
	if (tx_begin(c, err) < 0)
		goto fail;
	if (!(s = stmt(c, ST_BUILD_INSERT, err)))
		goto out;
	bind_text(s, 1, refs_json);
	bind_text(s, 2, requester ? requester : "cli");
	sqlite3_bind_int64(s, 3, t);
	if (exec_done(c, s, err) < 0)
		goto out;
	*build_id = sqlite3_last_insert_rowid(sq(c)->db);
	if (ev_insert(c, t, *build_id, EV_BUILD_REQUESTED, NULL, 0, payload_json, NULL, err) < 0)
		goto out;
	ok = 1;
out:
	ok = tx_end(c, ok, err) == 0;
fail:
	free(refs_json);
	free(payload_json);
	return ok ? 0 : -1;
}

static int sq_finish_build(struct catalog *c, int64_t build_id, const char *status,
			   struct strbuf *err)
{
	int64_t t = now_us();
	cJSON *o = cJSON_CreateObject();
	char *payload;
	sqlite3_stmt *s;
	int ok = 0;

	cJSON_AddStringToObject(o, "status", status);
	payload = rows_json_take(o);
	if (tx_begin(c, err) < 0) {
		free(payload);
		return -1;
	}
	if (!(s = stmt(c, ST_BUILD_FINISH, err)))
		goto out;
	sqlite3_bind_int64(s, 1, build_id);
	bind_text(s, 2, status);
	sqlite3_bind_int64(s, 3, t);
	if (exec_done(c, s, err) < 0)
		goto out;
	if (!sqlite3_changes(sq(c)->db)) {
		strbuf_addf(err, "catalog '%s': unknown build %lld", c->location,
			    (long long)build_id);
		goto out;
	}
	if (ev_insert(c, t, build_id, EV_BUILD_FINISHED, NULL, 0, payload, NULL, err) < 0)
		goto out;
	ok = 1;
out:
	free(payload);
	return tx_end(c, ok, err);
}

static int sq_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
			struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_BUILD_GET, err);
	int rc;

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, build_id);
	if ((rc = step_row(c, s, err)) <= 0)
		return rc;
	out->id = sqlite3_column_int64(s, 0);
	rows_strvec_from_json(&out->refs, (const char *)sqlite3_column_text(s, 1));
	out->requester = col_dup(s, 2);
	out->status = col_dup(s, 3);
	out->start_us = sqlite3_column_int64(s, 4);
	out->end_us = sqlite3_column_int64(s, 5);
	done(s);
	return 1;
}

/* ---- runs ------------------------------------------------------------ */

/*
 * Run id into r (run_record_init'ed here) and, if prior is not NULL, the
 * outputs' state before the run (JSON) into *prior: 1, 0 if none, -1.
 */
static int get_run_row(struct catalog *c, int64_t id, struct run_record *r, char **prior,
		       struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_RUN_GET, err);
	int rc, st;

	run_record_init(r);
	if (prior)
		*prior = NULL;
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = step_row(c, s, err)) <= 0)
		return rc;
	r->run_id = col_id(s, 0);
	r->build_id = sqlite3_column_int64(s, 1);
	r->job = col_dup(s, 2);
	r->config_json = col_dup(s, 3);
	st = run_status_parse((const char *)sqlite3_column_text(s, 4));
	r->status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
	r->pid = (long)sqlite3_column_int64(s, 5);
	r->host = col_dup(s, 6);
	r->start_us = sqlite3_column_int64(s, 7);
	r->end_us = sqlite3_column_int64(s, 8);
	r->exit_status = sqlite3_column_int(s, 9);
	r->log_path = col_dup(s, 10);
	r->error = col_dup(s, 11);
	rows_strvec_from_json(&r->outputs, (const char *)sqlite3_column_text(s, 12));
	if (prior)
		*prior = col_dup(s, 13);
	done(s);
	return 1;
}

static int sq_get_run(struct catalog *c, const char *run_id, struct run_record *out,
		      struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);

	return id ? get_run_row(c, id, out, NULL, err) : 0;
}

static int sq_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err)
{
	cJSON *outs = cJSON_CreateArray(), *prior = cJSON_CreateArray(), *payload;
	char *outs_json = NULL, *prior_json = NULL, *payload_json = NULL, *log_path = NULL;
	int64_t t = run->start_us ? run->start_us : now_us();
	int64_t id = 0;
	sqlite3_stmt *s;
	int ok = 0, rc;

	if (run->run_id && rows_run_id(c, run->run_id, &id, err) < 0)
		goto fail;
	if (!run->job || !run->outputs.nr) {
		strbuf_addf(err, "catalog '%s': a run needs a job and at least one output",
			    c->location);
		goto fail;
	}
	if (tx_begin(c, err) < 0)
		goto fail;
	for (size_t i = 0; i < run->outputs.nr; i++) {
		struct partition p;

		cJSON_AddItemToArray(outs, cJSON_CreateString(run->outputs.v[i]));
		partition_init(&p);
		rc = sq_get_partition(c, run->outputs.v[i], &p, err);
		if (rc >= 0)
			rows_prior_add(prior, run->outputs.v[i], &p);
		partition_release(&p);
		if (rc < 0)
			goto out;
	}
	outs_json = cJSON_PrintUnformatted(outs);
	prior_json = cJSON_PrintUnformatted(prior);
	if (!(s = stmt(c, ST_RUN_INSERT, err)))
		goto out;
	bind_id(s, 1, id);
	bind_id(s, 2, run->build_id);
	bind_text(s, 3, run->job);
	bind_text(s, 4, run->config_json);
	sqlite3_bind_int64(s, 5, run->pid);
	bind_text(s, 6, run->host);
	sqlite3_bind_int64(s, 7, t);
	bind_text(s, 8, run->log_path);
	bind_text(s, 9, outs_json);
	bind_text(s, 10, prior_json);
	if (exec_done(c, s, err) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(sq(c)->db);
	if (!run->log_path) {
		struct strbuf path = STRBUF_INIT;
		char num[32];

		snprintf(num, sizeof(num), "%lld", (long long)id);
		store_log_path(c->store, num, &path);
		log_path = strbuf_detach(&path, NULL);
		if (!(s = stmt(c, ST_RUN_LOG, err)))
			goto out;
		sqlite3_bind_int64(s, 1, id);
		bind_text(s, 2, log_path);
		if (exec_done(c, s, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < run->outputs.nr; i++) {
		if (ensure_partition(c, run->outputs.v[i], PART_BUILDING, t, NULL, err) < 0 ||
		    !(s = stmt(c, ST_PART_BUILDING, err)))
			goto out;
		bind_text(s, 1, run->outputs.v[i]);
		sqlite3_bind_int64(s, 2, id);
		bind_text(s, 3, run->job);
		sqlite3_bind_int64(s, 4, t);
		if (exec_done(c, s, err) < 0)
			goto out;
	}
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "job", run->job);
	cJSON_AddItemReferenceToObject(payload, "outputs", outs);
	json_add_int64(payload, "pid", run->pid);
	if (run->host)
		cJSON_AddStringToObject(payload, "host", run->host);
	if (run->log_path || log_path)
		cJSON_AddStringToObject(payload, "log", run->log_path ? run->log_path : log_path);
	payload_json = rows_json_take(payload);
	if (ev_insert(c, t, run->build_id, EV_JOB_STARTED, NULL, id, payload_json, NULL, err) < 0)
		goto out;
	ok = 1;
out:
	ok = tx_end(c, ok, err) == 0;
	if (ok) {
		if (!run->run_id)
			run->run_id = xstrfmt("%lld", (long long)id);
		run->status = RUN_RUNNING;
		run->start_us = t;
		if (!run->log_path) {
			run->log_path = log_path;
			log_path = NULL;
		}
	}
fail:
	free(log_path);
	cJSON_Delete(outs);
	cJSON_Delete(prior);
	free(outs_json);
	free(prior_json);
	free(payload_json);
	return ok ? 0 : -1;
}

static int sq_set_run_pid(struct catalog *c, const char *run_id, long pid,
			  struct strbuf *err)
{
	int64_t id;
	sqlite3_stmt *s;

	if (rows_run_id(c, run_id, &id, err) < 0 || !(s = stmt(c, ST_RUN_PID, err)))
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, pid);
	if (exec_done(c, s, err) < 0)
		return -1;
	if (!sqlite3_changes(sq(c)->db)) {
		strbuf_addf(err, "catalog '%s': unknown run '%s'", c->location, run_id);
		return -1;
	}
	return 0;
}

static int sq_set_ident(struct catalog *c, const char *ref, const char *published_run,
			const char *ident, struct strbuf *err)
{
	int64_t id;
	sqlite3_stmt *s;

	if (rows_run_id(c, published_run, &id, err) < 0 || !(s = stmt(c, ST_PART_IDENT, err)))
		return -1;
	bind_text(s, 1, ref);
	sqlite3_bind_int64(s, 2, id);
	bind_text(s, 3, ident);
	return exec_done(c, s, err);
}

static int sq_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_META_GET, err);
	int rc;

	if (!s)
		return -1;
	bind_text(s, 1, key);
	rc = step_row(c, s, err);
	if (rc > 0)
		*value = col_dup(s, 0);
	if (rc >= 0)
		done(s);
	return rc;
}

static int sq_set_meta(struct catalog *c, const char *key, const char *value,
		       struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_META_SET, err);

	if (!s)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return exec_done(c, s, err);
}

static int finish_run_row(struct catalog *c, int64_t id, enum run_status status, int64_t t,
			  int exit_status, const char *error, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_RUN_FINISH, err);

	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, run_status_name(status));
	sqlite3_bind_int64(s, 3, t);
	sqlite3_bind_int(s, 4, exit_status);
	bind_text(s, 5, error);
	return exec_done(c, s, err);
}

static int sq_finish_run(struct catalog *c, const char *run_id, enum run_status status,
			 int exit_status, const char *error, struct strbuf *err)
{
	const char *ev = rows_end_event(c, run_id, status, err);
	int64_t id;
	int ok;

	if (!ev || rows_run_id(c, run_id, &id, err) < 0 || tx_begin(c, err) < 0)
		return -1;
	ok = rows_finish_run(c, &sq_rows, run_id, id, status, ev, exit_status, error, 0,
			     now_us(), err) == 0;
	return tx_end(c, ok, err);
}

/* ---- manifests ------------------------------------------------------- */

static int publish_one(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	struct run_record r;
	char *json = NULL;
	int64_t id, t = m->end_time_us ? m->end_time_us : now_us();
	sqlite3_stmt *s;
	int rc, ret = -1;

	run_record_init(&r);
	if (rows_run_id(c, m->run_id, &id, err) < 0)
		goto out;
	if ((rc = get_run_row(c, id, &r, NULL, err)) < 0)
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
	json = rows_json_take(manifest_to_json(m));
	if (!(s = stmt(c, ST_MAN_PUT, err)))
		goto out;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, json);
	if (exec_done(c, s, err) < 0 || !(s = stmt(c, ST_MI_DELETE, err)))
		goto out;
	sqlite3_bind_int64(s, 1, id);
	if (exec_done(c, s, err) < 0)
		goto out;
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		if (!(s = stmt(c, ST_MI_INSERT, err)))
			goto out;
		sqlite3_bind_int64(s, 1, id);
		bind_text(s, 2, in->ref);
		bind_text(s, 3, dep_type_name(in->type));
		bind_text(s, 4, in->sha256);
		bind_id(s, 5, rows_parse_run_id(in->run_id));
		if (exec_done(c, s, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < m->outputs_nr; i++) {
		const struct manifest_output *o = &m->outputs[i];
		char payload[160];

		if (ensure_partition(c, o->ref, PART_LIVE, t, NULL, err) < 0 ||
		    !(s = stmt(c, ST_PART_PUBLISH, err)))
			goto out;
		bind_text(s, 1, o->ref);
		bind_text(s, 2, m->build_key);
		bind_text(s, 3, o->sha256);
		sqlite3_bind_int64(s, 4, o->size);
		bind_text(s, 5, m->version);
		bind_text(s, 6, m->job);
		sqlite3_bind_int64(s, 7, id);
		sqlite3_bind_int64(s, 8, t);
		bind_text(s, 9, *o->ident ? o->ident : NULL);
		if (exec_done(c, s, err) < 0)
			goto out;
		snprintf(payload, sizeof(payload), "{\"sha256\":\"%s\",\"size\":%lld}", o->sha256,
			 (long long)o->size);
		if (ev_insert(c, t, r.build_id, EV_PARTITION_PUBLISHED, o->ref, id, payload,
			      NULL, err) < 0)
			goto out;
	}
	if (finish_run_row(c, id, RUN_SUCCEEDED, t, 0, NULL, err) < 0)
		goto out;
	{
		cJSON *p = cJSON_CreateObject();
		char *pj;

		cJSON_AddStringToObject(p, "job", m->job);
		json_add_int64(p, "outputs", m->outputs_nr);
		json_add_int64(p, "duration_us", (t - m->start_time_us));
		pj = rows_json_take(p);
		rc = ev_insert(c, t, r.build_id, EV_JOB_FINISHED, NULL, id, pj, NULL, err);
		free(pj);
		if (rc < 0)
			goto out;
	}
	ret = 0;
out:
	free(json);
	run_record_release(&r);
	return ret;
}

static int sq_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
			    struct strbuf *err)
{
	int ok = 1;

	if (!n)
		return 0;
	if (tx_begin(c, err) < 0)
		return -1;
	for (size_t i = 0; ok && i < n; i++)
		ok = publish_one(c, ms[i], err) == 0;
	return tx_end(c, ok, err);
}

static int sq_publish(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	return sq_publish_batch(c, &m, 1, err);
}

static int sq_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
			   struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);
	sqlite3_stmt *s;
	int rc;

	if (!id)
		return 0;
	if (!(s = stmt(c, ST_MAN_GET, err)))
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = step_row(c, s, err)) <= 0)
		return rc;
	rc = manifest_parse(out, (const char *)sqlite3_column_text(s, 0),
			    (size_t)sqlite3_column_bytes(s, 0), err);
	done(s);
	if (rc < 0) {
		strbuf_addf(err, " (manifest of run '%s' in catalog '%s')", run_id, c->location);
		return -1;
	}
	return 1;
}

static int sq_last_durations(struct catalog *c, const char *job, size_t n,
			     int64_t *avg_us, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_DURATIONS, err);
	int rc;

	if (!s)
		return -1;
	bind_text(s, 1, job);
	sqlite3_bind_int64(s, 2, n ? (int64_t)n : -1);
	if ((rc = step_row(c, s, err)) < 0)
		return -1;
	*avg_us = rc && sqlite3_column_int64(s, 1) ? (int64_t)sqlite3_column_double(s, 0) : 0;
	done(s);
	return 0;
}

/* ---- events ---------------------------------------------------------- */

static int sq_append_event(struct catalog *c, const struct event *e, int64_t *seq,
			   struct strbuf *err)
{
	int64_t run = 0;

	if (!e->type || !*e->type) {
		strbuf_addf(err, "catalog '%s': an event needs a type", c->location);
		return -1;
	}
	if (e->run_id && rows_run_id(c, e->run_id, &run, err) < 0)
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
	return ev_insert(c, e->time_us, e->build_id, e->type, e->ref, run, e->payload, seq, err);
}

static int sq_append_events(struct catalog *c, const struct event *es, size_t n,
			    struct strbuf *err)
{
	int ok = 0;

	if (tx_begin(c, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sq_append_event(c, &es[i], NULL, err) < 0)
			goto out;
	ok = 1;
out:
	return tx_end(c, ok, err);
}

#define EVENT_PAGE 512

static int sq_read_events(struct catalog *c, int64_t after_seq, size_t limit,
			  int (*fn)(const struct event *e, void *arg), void *arg,
			  struct strbuf *err)
{
	struct event *page = xcalloc(EVENT_PAGE, sizeof(*page));
	size_t seen = 0, nr = 0;
	int ret = -1, stop = 0;

	while (!stop) {
		size_t want = EVENT_PAGE;
		sqlite3_stmt *s = stmt(c, ST_EV_READ, err);
		int rc;

		if (!s)
			goto out;
		if (limit && limit - seen < want)
			want = limit - seen;
		if (!want)
			break;
		sqlite3_bind_int64(s, 1, after_seq);
		sqlite3_bind_int64(s, 2, (int64_t)want);
		nr = 0;
		while ((rc = step_row(c, s, err)) > 0) {
			struct event *e = &page[nr++];

			e->seq = sqlite3_column_int64(s, 0);
			e->time_us = sqlite3_column_int64(s, 1);
			e->build_id = sqlite3_column_int64(s, 2);
			e->type = col_dup(s, 3);
			e->ref = col_dup(s, 4);
			e->run_id = col_id(s, 5);
			e->payload = col_dup(s, 6);
		}
		if (rc < 0)
			goto out;
		done(s);
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

static int sq_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_EV_LAST, err);
	int rc;

	if (!s || (rc = step_row(c, s, err)) < 0)
		return -1;
	*seq = rc ? sqlite3_column_int64(s, 0) : 0;
	done(s);
	return 0;
}

static int sq_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
			       struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(sq(c)->db, "SELECT status, count(*) FROM partitions GROUP BY status",
			       -1, &s, NULL) != SQLITE_OK) {
		db_fail(c, err);
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int st = part_status_parse((const char *)sqlite3_column_text(s, 0));

		if (st > PART_MISSING && st < PART_STATUS_NR && (status_mask & (1u << st)))
			counts[st] += sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE) {
		db_fail(c, err);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

/* ---- lineage and taint ----------------------------------------------- */

/* The refs one lineage step from ref (catalog_rows.neighbours). */
static int neighbours(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		      struct strvec *states, struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, downstream ? ST_DOWNSTREAM : ST_UPSTREAM, err);
	int rc;

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	while ((rc = step_row(c, s, err)) > 0) {
		strvec_push(refs, (const char *)sqlite3_column_text(s, 0));
		if (downstream)
			strvec_push(states, (const char *)sqlite3_column_text(s, 1));
	}
	if (rc < 0)
		return -1;
	done(s);
	return 0;
}

static int sq_lineage(struct catalog *c, const char *ref, int downstream,
		      struct strvec *refs, struct strbuf *err)
{
	return rows_lineage(c, &sq_rows, ref, downstream, refs, err);
}

static int sq_taint(struct catalog *c, const struct strvec *refs, int downstream,
		    int64_t build_id, struct strvec *changed, struct strbuf *err)
{
	struct strvec mine = STRVEC_INIT;
	int ok, ret;

	if (tx_begin(c, err) < 0)
		return -1;
	ok = rows_taint(c, &sq_rows, refs, downstream, now_us(), build_id, &mine, err) == 0;
	ret = tx_end(c, ok, err);
	if (!ret && changed)
		for (size_t i = 0; i < mine.nr; i++)
			strvec_push(changed, mine.v[i]);
	strvec_clear(&mine);
	return ret;
}

/* ---- the row operations rows.c works with --------------------------- */

static int row_restore(struct catalog *c, const char *ref, enum part_status status,
			int64_t run_id, const char *job, const char *error, int64_t updated_us,
			struct strbuf *err)
{
	sqlite3_stmt *s = stmt(c, ST_PART_RESTORE, err);

	if (!s)
		return -1;
	bind_text(s, 1, ref);
	bind_text(s, 2, part_status_name(status));
	bind_id(s, 3, run_id);
	bind_text(s, 4, job);
	bind_text(s, 5, error);
	sqlite3_bind_int64(s, 6, updated_us);
	return exec_done(c, s, err);
}

static const struct catalog_rows sq_rows = {
	.get_partition = sq_get_partition,
	.ensure_partition = ensure_partition,
	.update_status = update_status,
	.delete_partition = delete_partition,
	.dataset_used = dataset_used,
	.delete_dataset = delete_dataset,
	.restore_partition = row_restore,
	.get_run = get_run_row,
	.end_run = finish_run_row,
	.event = ev_insert,
	.neighbours = neighbours,
};

/* ---- leases ---------------------------------------------------------- */

static int sq_lease_acquire(struct catalog *c, const char *ref, int wait,
			    struct lease **out, struct strbuf *err)
{
	return flock_lease_acquire(c->store->root, ref, wait, out, err);
}

static void sq_lease_release(struct catalog *c, struct lease *l)
{
	(void)c;
	flock_lease_release(l);
}

/* ---- open / close ---------------------------------------------------- */

static int pragma_int(struct catalog *c, const char *sql, int *out, struct strbuf *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(sq(c)->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_fail(c, err);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(c, err);
		goto out;
	}
	*out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

static int exec_sql(struct catalog *c, const char *sql, struct strbuf *err)
{
	if (sqlite3_exec(sq(c)->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(c, err);
	return 0;
}

static int check_schema(struct catalog *c, int *version, struct strbuf *err)
{
	int app, tables;

	if (pragma_int(c, "PRAGMA user_version", version, err) < 0 ||
	    pragma_int(c, "PRAGMA application_id", &app, err) < 0 ||
	    pragma_int(c, "SELECT count(*) FROM sqlite_master", &tables, err) < 0)
		return -1;
	if (*version > CATALOG_SQLITE_VERSION) {
		strbuf_addf(err, "catalog '%s': schema version %d is newer than this databuild "
			    "supports (%d); upgrade databuild", c->location, *version,
			    CATALOG_SQLITE_VERSION);
		return -1;
	}
	if ((app && app != CATALOG_SQLITE_APPLICATION_ID) || (!*version && tables)) {
		strbuf_addf(err, "catalog '%s': an SQLite database but not a databuild catalog",
			    c->location);
		return -1;
	}
	return 0;
}

static int migrate(struct catalog *c, struct strbuf *err)
{
	struct strbuf sql = STRBUF_INIT;
	int version, ok = 0;

	if (tx_begin(c, err) < 0)
		return -1;
	if (check_schema(c, &version, err) < 0)
		goto out;
	for (int v = version; v < CATALOG_SQLITE_VERSION; v++)
		if (exec_sql(c, catalog_sqlite_migrations[v], err) < 0) {
			strbuf_addf(err, " (migrating the schema from version %d to %d)", v, v + 1);
			goto out;
		}
	strbuf_addf(&sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
		    CATALOG_SQLITE_VERSION, CATALOG_SQLITE_APPLICATION_ID);
	if (exec_sql(c, sql.buf, err) < 0)
		goto out;
	ok = 1;
out:
	strbuf_release(&sql);
	return tx_end(c, ok, err);
}

/*
 * Reads the first row of every table (its root page and leftmost leaf):
 * a catalog whose pages were lost or zeroed fails at open, naming the
 * file, rather than in the middle of a command. A few cached page reads.
 */
#define PROBE_SQL "SELECT (SELECT 1 FROM partitions LIMIT 1), (SELECT 1 FROM datasets LIMIT 1)," \
	" (SELECT 1 FROM runs LIMIT 1), (SELECT 1 FROM manifests LIMIT 1)," \
	" (SELECT 1 FROM manifest_inputs LIMIT 1), (SELECT 1 FROM builds LIMIT 1)," \
	" (SELECT 1 FROM events LIMIT 1)"

/*
 * Creating or upgrading a catalog is serialised across processes with an
 * flock on "<file>.lock": two commands started at once on a new store
 * must not both switch the journal mode and create the schema. -1 if
 * there is no file to lock next to (":memory:"), which needs none.
 */
static int setup_lock(struct catalog *c)
{
	struct strbuf path = STRBUF_INIT;
	int fd = -1;

	if (!strcmp(c->location, ":memory:") || !strncmp(c->location, "file:", 5))
		return -1;
	strbuf_addf(&path, "%s.lock", c->location);
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	strbuf_release(&path);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	return fd;
}

static void sq_close(struct catalog *c)
{
	struct sq *q = sq(c);

	if (!q)
		return;
	for (int i = 0; i < ST__NR; i++)
		sqlite3_finalize(q->st[i]);
	if (q->db) {
		sqlite3_exec(q->db, "PRAGMA optimize", NULL, NULL, NULL);
		sqlite3_close(q->db);
	}
	free(q);
	c->impl = NULL;
}

static int sq_open(struct catalog *c, struct strbuf *err)
{
	struct sq *q = xcalloc(1, sizeof(*q));
	int version, rc, persist = 1, lock = -1;

	c->impl = q;
	rc = sqlite3_open_v2(c->location, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (q->db)
			db_fail(c, err);
		else
			strbuf_addf(err, "catalog '%s': %s", c->location, sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, 10000);
	/* the WAL outlives each connection: no sync to create it, none to close */
	sqlite3_file_control(q->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (pragma_int(c, "PRAGMA user_version", &version, err) < 0)
		goto fail;
	if (version < CATALOG_SQLITE_VERSION)
		lock = setup_lock(c);
	if (check_schema(c, &version, err) < 0)
		goto fail;
	if (exec_sql(c, "PRAGMA journal_mode = WAL", err) < 0 ||
	    exec_sql(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
		     " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 256;"
		     " PRAGMA temp_store = MEMORY", err) < 0)
		goto fail;
	if (version < CATALOG_SQLITE_VERSION && migrate(c, err) < 0)
		goto fail;
	if (lock >= 0)
		close(lock);
	lock = -1;
	if (exec_sql(c, PROBE_SQL, err) < 0)
		goto fail;
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	sq_close(c);
	return -1;
}

const struct catalog_ops catalog_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.get_partition = sq_get_partition,
	.list_partitions = sq_list_partitions,
	.list_children = sq_list_children,
	.begin_build = sq_begin_build,
	.finish_build = sq_finish_build,
	.get_build = sq_get_build,
	.begin_run = sq_begin_run,
	.set_run_pid = sq_set_run_pid,
	.set_ident = sq_set_ident,
	.get_meta = sq_get_meta,
	.set_meta = sq_set_meta,
	.publish = sq_publish,
	.publish_batch = sq_publish_batch,
	.finish_run = sq_finish_run,
	.get_run = sq_get_run,
	.get_manifest = sq_get_manifest,
	.last_durations = sq_last_durations,
	.append_event = sq_append_event,
	.append_events = sq_append_events,
	.read_events = sq_read_events,
	.last_event_seq = sq_last_event_seq,
	.taint = sq_taint,
	.lineage = sq_lineage,
	.set_status = sq_set_status,
	.lease_acquire = sq_lease_acquire,
	.lease_release = sq_lease_release,
	.count_partitions = sq_count_partitions,
};
