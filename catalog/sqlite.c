#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "catalog/lease.h"
#include "catalog/query.h"
#include "catalog/sqlite.h"

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
	/* 3 -> 4: versions (docs/design/history.md), one per published partition so far */
	"CREATE TABLE versions ("
	"  ref TEXT NOT NULL,"
	"  time_us INTEGER NOT NULL,"
	"  run_id INTEGER NOT NULL,"
	"  build_key TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  size INTEGER NOT NULL DEFAULT -1,"
	"  job TEXT,"
	"  version TEXT,"
	"  PRIMARY KEY (ref, time_us)) WITHOUT ROWID;"
	"CREATE INDEX versions_by_sha256 ON versions(sha256);"
	"CREATE INDEX versions_by_run ON versions(run_id);"
	"INSERT INTO versions (ref, time_us, run_id, build_key, sha256, size, job, version)"
	"  SELECT ref, updated_us, published_run, build_key, sha256, size, job, version"
	"  FROM partitions WHERE published_run IS NOT NULL AND sha256 != '';",
};

/* The statements of this backend alone; the catalog's are query.c's. */
enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST__NR
};

static const char *const stmt_sql[ST__NR] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

struct sq {
	sqlite3 *db;
	sqlite3_stmt *st[ST__NR];
	sqlite3_stmt *q[Q__NR];   /* query_sql's, prepared on first use */
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

/* *slot prepared from sql once (kept for the connection's life); NULL with err. */
static sqlite3_stmt *prepared(struct catalog *c, sqlite3_stmt **slot, const char *sql,
			      struct strbuf *err)
{
	if (!*slot && sqlite3_prepare_v3(sq(c)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
					 NULL) != SQLITE_OK) {
		db_fail(c, err);
		*slot = NULL;
	}
	return *slot;
}

/* Runs one of this file's statements (no rows, no parameters). */
static int exec_stmt(struct catalog *c, enum stmt_id id, struct strbuf *err)
{
	sqlite3_stmt *s = prepared(c, &sq(c)->st[id], stmt_sql[id], err);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		db_fail(c, err);
	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int tx_begin(struct catalog *c, struct strbuf *err)
{
	return exec_stmt(c, ST_BEGIN, err);
}

/* Commits if ok, rolls back otherwise. Returns 0 if committed. */
static int tx_end(struct catalog *c, int ok, struct strbuf *err)
{
	struct strbuf ignored = STRBUF_INIT;

	if (ok && exec_stmt(c, ST_COMMIT, err) == 0)
		return 0;
	if (!sqlite3_get_autocommit(sq(c)->db))
		exec_stmt(c, ST_ROLLBACK, &ignored);
	strbuf_release(&ignored);
	return -1;
}

/* ---- the query layer's adapter (query.h) ----------------------------- */

static int sq_run(struct catalog *c, enum query_id id, const struct qparams *p,
		  struct qrows *rows, struct strbuf *err)
{
	sqlite3_stmt *s = prepared(c, &sq(c)->q[id], query_sql[id], err);

	if (!s)
		return -1;
	for (int i = 0; p && i < p->n; i++) {
		const struct qparam *v = &p->v[i];

		if (v->type == QP_TEXT)
			sqlite3_bind_text(s, i + 1, v->text, (int)v->len, SQLITE_STATIC);
		else if (v->type == QP_INT)
			sqlite3_bind_int64(s, i + 1, v->num);
		else
			sqlite3_bind_null(s, i + 1);
	}
	rows->res = s;
	rows->row = -1;
	return 0;
}

static int sq_next(struct catalog *c, struct qrows *rows, struct strbuf *err)
{
	int rc = sqlite3_step(rows->res);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(c, err);
}

static long sq_changes(struct catalog *c, const struct qrows *rows)
{
	(void)rows;
	return (long)sqlite3_changes(sq(c)->db);
}

static void sq_done(struct catalog *c, struct qrows *rows)
{
	(void)c;
	sqlite3_reset(rows->res);
	sqlite3_clear_bindings(rows->res);
	rows->res = NULL;
}

static const char *sq_text(const struct qrows *rows, int col, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(rows->res, col);

	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(rows->res, col) : 0;
	return t;
}

static int sq_is_null(const struct qrows *rows, int col)
{
	return sqlite3_column_type(rows->res, col) == SQLITE_NULL;
}

static int64_t sq_integer(const struct qrows *rows, int col)
{
	return sqlite3_column_int64(rows->res, col);
}

static double sq_real(const struct qrows *rows, int col)
{
	return sqlite3_column_double(rows->res, col);
}

static int sq_write_tx(struct catalog *c, int (*fn)(struct catalog *c, void *arg,
						     struct strbuf *err),
		       void *arg, struct strbuf *err)
{
	if (tx_begin(c, err) < 0)
		return -1;
	return tx_end(c, fn(c, arg, err) == 0, err);
}

/* A transaction here either committed or did not: never run twice. */
static int sq_retrying(struct catalog *c)
{
	(void)c;
	return 0;
}

static const struct query_backend sq_query = {
	.run = sq_run,
	.next = sq_next,
	.changes = sq_changes,
	.done = sq_done,
	.text = sq_text,
	.is_null = sq_is_null,
	.integer = sq_integer,
	.real = sq_real,
	.write_tx = sq_write_tx,
	.retrying = sq_retrying,
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
	" (SELECT 1 FROM events LIMIT 1), (SELECT 1 FROM versions LIMIT 1)"

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
	for (int i = 0; i < Q__NR; i++)
		sqlite3_finalize(q->q[i]);
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

/*
 * SQLite's pager data version: it moves when another connection commits
 * (seen when this one starts a read transaction) and when this one
 * commits. Read from the pager, no system call.
 */
static int sq_data_version(struct catalog *c, uint64_t *out)
{
	unsigned int v = 0;

	if (sqlite3_file_control(sq(c)->db, "main", SQLITE_FCNTL_DATA_VERSION, &v) != SQLITE_OK)
		return 0;
	*out = v;
	return 1;
}

const struct catalog_ops catalog_sqlite_ops = {
	.name = "sqlite",
	.query = &sq_query,
	.open = sq_open,
	.close = sq_close,
	.get_partition = q_get_partition,
	.list_partitions = q_list_partitions,
	.list_children = q_list_children,
	.begin_build = q_begin_build,
	.finish_build = q_finish_build,
	.get_build = q_get_build,
	.begin_run = q_begin_run,
	.set_run_pid = q_set_run_pid,
	.set_ident = q_set_ident,
	.get_meta = q_get_meta,
	.set_meta = q_set_meta,
	.publish = q_publish,
	.publish_batch = q_publish_batch,
	.finish_run = q_finish_run,
	.get_run = q_get_run,
	.get_manifest = q_get_manifest,
	.last_durations = q_last_durations,
	.append_event = q_append_event,
	.append_events = q_append_events,
	.read_events = q_read_events,
	.last_event_seq = q_last_event_seq,
	.taint = q_taint,
	.lineage = q_lineage,
	.set_status = q_set_status,
	.lease_acquire = sq_lease_acquire,
	.lease_release = sq_lease_release,
	.count_partitions = q_count_partitions,
	.list_versions = q_list_versions,
	.page_versions = q_page_versions,
	.find_version = q_find_version,
	.get_version = q_get_version,
	.restore_versions = q_restore_versions,
	.remove_partitions = q_remove_partitions,
	.delete_versions = q_delete_versions,
	.hash_referenced = q_hash_referenced,
	.run_referenced = q_run_referenced,
	.data_version = sq_data_version,
};
