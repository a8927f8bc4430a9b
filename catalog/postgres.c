#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "catalog/postgres.h"
#include "catalog/rows.h"
#include "core/array.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/strmap.h"

/* The row operations rows.c runs the shared rules with (defined below). */
static const struct catalog_rows pg_rows;

/*
 * Schema history, as catalog/sqlite.c's: never edit a released step, add
 * one. Text columns that are compared or ordered use COLLATE "C" so ref
 * order and prefix scans are byte order, as in SQLite.
 */
static const char *const pg_migrations[CATALOG_PG_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE builds ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  refs TEXT NOT NULL,"
	"  requester TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  start_us BIGINT NOT NULL,"
	"  end_us BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE runs ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  build_id BIGINT REFERENCES builds(id),"
	"  job TEXT COLLATE \"C\" NOT NULL,"
	"  config_json TEXT,"
	"  status TEXT COLLATE \"C\" NOT NULL,"
	"  pid BIGINT NOT NULL DEFAULT 0,"
	"  host TEXT,"
	"  start_us BIGINT NOT NULL,"
	"  end_us BIGINT NOT NULL DEFAULT 0,"
	"  exit_status INTEGER NOT NULL DEFAULT 0,"
	"  log_path TEXT,"
	"  error TEXT,"
	"  outputs TEXT NOT NULL,"
	"  prior TEXT NOT NULL);"
	"CREATE TABLE partitions ("
	"  ref TEXT COLLATE \"C\" PRIMARY KEY,"
	"  dataset TEXT COLLATE \"C\" NOT NULL,"
	"  name TEXT COLLATE \"C\" NOT NULL,"
	"  status TEXT COLLATE \"C\" NOT NULL,"
	"  build_key TEXT NOT NULL DEFAULT '',"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  size BIGINT NOT NULL DEFAULT -1,"
	"  version TEXT,"
	"  job TEXT,"
	"  run_id BIGINT,"
	"  published_run BIGINT,"
	"  created_us BIGINT NOT NULL,"
	"  updated_us BIGINT NOT NULL,"
	"  error TEXT);"
	"CREATE INDEX partitions_by_dataset ON partitions(dataset, name);"
	"CREATE INDEX partitions_by_published_run ON partitions(published_run);"
	"CREATE TABLE datasets ("
	"  path TEXT COLLATE \"C\" PRIMARY KEY,"
	"  parent TEXT COLLATE \"C\" NOT NULL,"
	"  name TEXT COLLATE \"C\" NOT NULL);"
	"CREATE UNIQUE INDEX datasets_by_parent ON datasets(parent, name);"
	"CREATE TABLE manifests ("
	"  run_id BIGINT PRIMARY KEY REFERENCES runs(id),"
	"  json TEXT NOT NULL);"
	"CREATE TABLE manifest_inputs ("
	"  run_id BIGINT NOT NULL REFERENCES manifests(run_id) ON DELETE CASCADE,"
	"  input_ref TEXT COLLATE \"C\" NOT NULL,"
	"  dep_type TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  input_run_id BIGINT,"
	"  PRIMARY KEY (run_id, input_ref));"
	"CREATE INDEX manifest_inputs_by_input ON manifest_inputs(input_ref);"
	"CREATE TABLE events ("
	"  seq BIGSERIAL PRIMARY KEY,"
	"  time_us BIGINT NOT NULL,"
	"  build_id BIGINT,"
	"  type TEXT NOT NULL,"
	"  ref TEXT,"
	"  run_id BIGINT,"
	"  payload TEXT);"
	"CREATE INDEX runs_by_job ON runs(job, status, end_us);",
	/* 1 -> 2: published files' identities; the store id and other facts */
	"ALTER TABLE partitions ADD COLUMN ident TEXT;"
	"CREATE TABLE meta ("
	"  key TEXT COLLATE \"C\" PRIMARY KEY,"
	"  value TEXT NOT NULL);",
};

#define PART_COLS "ref, status, build_key, sha256, size, version, job, run_id, " \
	"created_us, updated_us, error, published_run, ident"
#define LIST_SQL(range) "SELECT " PART_COLS " FROM partitions WHERE " range \
	" AND ($3::text IS NULL OR strpos($3::text, ',' || status || ',') > 0)" \
	" ORDER BY ref LIMIT $4::bigint"
#define RUN_COLS "id, build_id, job, config_json, status, pid, host, start_us, end_us, " \
	"exit_status, log_path, error, outputs, prior"

enum stmt_id {
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
	ST_BUILD_NEXT,
	ST_BUILD_INSERT,
	ST_BUILD_FINISH,
	ST_BUILD_GET,
	ST_RUN_NEXT,
	ST_RUN_SEQ,
	ST_RUN_INSERT,
	ST_RUN_PID,
	ST_RUN_LOG,
	ST_RUN_GET,
	ST_RUNS_GET,
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
	ST_COUNT,
	ST_SET_MAN_PUT,
	ST_SET_MI_DELETE,
	ST_SET_MI_INSERT,
	ST_SET_PART_INSERT,
	ST_SET_DS_INSERT,
	ST_SET_PART_PUBLISH,
	ST_SET_RUN_FINISH,
	ST_SET_EV_INSERT,
	ST__NR
};

static const char *const stmt_sql[ST__NR] = {
	[ST_PART_GET] = "SELECT " PART_COLS " FROM partitions WHERE ref = $1",
	[ST_LIST_GE_LT] = LIST_SQL("ref >= $1 AND ref < $2"),
	[ST_LIST_GT_LT] = LIST_SQL("ref > $1 AND ref < $2"),
	[ST_LIST_GE] = LIST_SQL("ref >= $1 AND $2::text IS NULL"),
	[ST_LIST_GT] = LIST_SQL("ref > $1 AND $2::text IS NULL"),
	[ST_CHILDREN] =
		"SELECT name FROM partitions WHERE dataset = $1 AND name > $2"
		" UNION ALL SELECT name FROM datasets WHERE parent = $1 AND name > $2"
		" ORDER BY 1 LIMIT $3::bigint",
	[ST_PART_INSERT] =
		"INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (ref) DO NOTHING",
	[ST_DS_INSERT] = "INSERT INTO datasets (path, parent, name) VALUES ($1, $2, $3)"
		" ON CONFLICT DO NOTHING",
	[ST_DS_ANY] = "SELECT 1 FROM partitions WHERE ref >= $1 AND ref < $2 LIMIT 1",
	[ST_DS_DELETE] = "DELETE FROM datasets WHERE path = $1",
	[ST_PART_DELETE] = "DELETE FROM partitions WHERE ref = $1",
	[ST_PART_PUBLISH] =
		"UPDATE partitions SET status = 'live', build_key = $2, sha256 = $3, size = $4,"
		" version = $5, job = $6, run_id = $7, published_run = $7, updated_us = $8,"
		" error = NULL, ident = NULLIF($9, '') WHERE ref = $1",
	[ST_PART_STATUS] =
		"UPDATE partitions SET status = $2, error = $3, updated_us = $4 WHERE ref = $1",
	[ST_PART_BUILDING] =
		"UPDATE partitions SET status = 'building', run_id = $2, job = $3,"
		" updated_us = $4, error = NULL WHERE ref = $1",
	[ST_PART_RESTORE] =
		"UPDATE partitions SET status = $2, run_id = $3, job = $4, error = $5,"
		" updated_us = $6 WHERE ref = $1",
	[ST_BUILD_NEXT] = "SELECT nextval('builds_id_seq')",
	[ST_BUILD_INSERT] =
		"INSERT INTO builds (id, refs, requester, status, start_us)"
		" VALUES ($1, $2, $3, 'running', $4)",
	[ST_BUILD_FINISH] = "UPDATE builds SET status = $2, end_us = $3 WHERE id = $1",
	[ST_BUILD_GET] = "SELECT id, refs, requester, status, start_us, end_us FROM builds"
		" WHERE id = $1",
	[ST_RUN_NEXT] = "SELECT nextval('runs_id_seq')",
	/* a run id given by the caller: later assigned ids stay above it */
	[ST_RUN_SEQ] = "SELECT setval('runs_id_seq', $1::bigint)"
		" WHERE $1::bigint > (SELECT last_value FROM runs_id_seq)",
	[ST_RUN_INSERT] =
		"INSERT INTO runs (id, build_id, job, config_json, status, pid, host, start_us,"
		" log_path, outputs, prior) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9, $10)",
	[ST_RUN_PID] = "UPDATE runs SET pid = $2 WHERE id = $1",
	[ST_RUN_LOG] = "UPDATE runs SET log_path = $2 WHERE id = $1",
	[ST_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = $1",
	[ST_RUNS_GET] = "SELECT id, build_id, status FROM runs WHERE id = ANY($1::bigint[])",
	[ST_RUN_FINISH] =
		"UPDATE runs SET status = $2, end_us = $3, exit_status = $4, error = $5 WHERE id = $1",
	[ST_MAN_PUT] = "INSERT INTO manifests (run_id, json) VALUES ($1, $2)"
		" ON CONFLICT (run_id) DO UPDATE SET json = excluded.json",
	[ST_MAN_GET] = "SELECT json FROM manifests WHERE run_id = $1",
	[ST_MI_DELETE] = "DELETE FROM manifest_inputs WHERE run_id = $1",
	[ST_MI_INSERT] =
		"INSERT INTO manifest_inputs (run_id, input_ref, dep_type, sha256, input_run_id)"
		" VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[ST_UPSTREAM] =
		"SELECT mi.input_ref FROM partitions p JOIN manifest_inputs mi"
		" ON mi.run_id = p.published_run WHERE p.ref = $1 ORDER BY mi.input_ref",
	[ST_DOWNSTREAM] =
		"SELECT p.ref, p.status FROM manifest_inputs mi JOIN partitions p"
		" ON p.published_run = mi.run_id WHERE mi.input_ref = $1 ORDER BY p.ref",
	[ST_DURATIONS] =
		"SELECT avg(d)::float8, count(*) FROM (SELECT end_us - start_us AS d FROM runs"
		" WHERE job = $1 AND status = 'succeeded' ORDER BY end_us DESC LIMIT $2::bigint) t",
	[ST_EV_INSERT] =
		"INSERT INTO events (time_us, build_id, type, ref, run_id, payload)"
		" VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
	[ST_EV_READ] = "SELECT seq, time_us, build_id, type, ref, run_id, payload FROM events"
		" WHERE seq > $1 ORDER BY seq LIMIT $2::bigint",
	[ST_EV_LAST] = "SELECT max(seq) FROM events",
	[ST_PART_IDENT] = "UPDATE partitions SET ident = $3 WHERE ref = $1 AND status = 'live'"
		" AND published_run = $2",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = $1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES ($1, $2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_COUNT] = "SELECT status, count(*) FROM partitions GROUP BY status",
	/* publish_batch: one statement per table for many manifests (arrays) */
	[ST_SET_MAN_PUT] = "INSERT INTO manifests (run_id, json)"
		" SELECT * FROM unnest($1::bigint[], $2::text[])"
		" ON CONFLICT (run_id) DO UPDATE SET json = excluded.json",
	[ST_SET_MI_DELETE] = "DELETE FROM manifest_inputs WHERE run_id = ANY($1::bigint[])",
	[ST_SET_MI_INSERT] =
		"INSERT INTO manifest_inputs (run_id, input_ref, dep_type, sha256, input_run_id)"
		" SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])"
		" ON CONFLICT DO NOTHING",
	[ST_SET_PART_INSERT] =
		"INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" SELECT r, d, n, 'live', t, t FROM unnest($1::text[], $2::text[], $3::text[],"
		" $4::bigint[]) WITH ORDINALITY AS u(r, d, n, t, o) ORDER BY o"
		" ON CONFLICT (ref) DO NOTHING",
	[ST_SET_DS_INSERT] = "INSERT INTO datasets (path, parent, name)"
		" SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
	[ST_SET_PART_PUBLISH] =
		"UPDATE partitions p SET status = 'live', build_key = u.k, sha256 = u.h, size = u.s,"
		" version = u.v, job = u.j, run_id = u.i, published_run = u.i, updated_us = u.t,"
		" error = NULL, ident = NULLIF(u.d, '') FROM unnest($1::text[], $2::text[],"
		" $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],"
		" $9::text[]) AS u(r, k, h, s, v, j, i, t, d)"
		" WHERE p.ref = u.r",
	[ST_SET_RUN_FINISH] =
		"UPDATE runs SET status = 'succeeded', end_us = u.t, exit_status = 0, error = NULL"
		" FROM unnest($1::bigint[], $2::bigint[]) AS u(i, t) WHERE runs.id = u.i",
	[ST_SET_EV_INSERT] =
		"INSERT INTO events (time_us, build_id, type, ref, run_id, payload)"
		" SELECT t, b, y, r, i, p FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
		" $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS u(t, b, y, r, i, p, o)"
		" ORDER BY o",
};

#define BEGIN_SQL "BEGIN; SELECT pg_advisory_xact_lock(1684163652, 1)"
#define COMMIT_SQL "SELECT pg_notify('databuild', ''); COMMIT"

struct lease {
	int64_t key;
	char *ref;
};

struct pg {
	char *conninfo;
	PGconn *conn;
	unsigned char prepared[ST__NR];
	int in_tx;          /* inside write_tx: a lost connection fails the body */
	int retrying;       /* write_tx's second attempt after a reconnect */
	int listening;      /* LISTEN databuild issued on conn */
	int reconnected;    /* conn was re-established since the last watch */

	/* Leases: lconn, held and nheld are guarded by lease_mu. */
	pthread_mutex_t lease_mu;
	PGconn *lconn;
	int64_t *held;
	size_t nheld, held_alloc;
};

static struct pg *pg(struct catalog *c)
{
	return c->impl;
}

/* ---- statement parameters -------------------------------------------- */

#define MAX_PARAMS 10

/* Text parameters of one statement; numbers are rendered into num[]. */
struct args {
	const char *v[MAX_PARAMS];
	char num[MAX_PARAMS][24];
	char *own[MAX_PARAMS];
	int n;
};

static void args_init(struct args *a)
{
	memset(a, 0, sizeof(*a));
}

static void args_release(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->own[i]);
	args_init(a);
}

/* More parameters than any statement has is a bug in this file. */
static void a_room(const struct args *a)
{
	if (a->n >= MAX_PARAMS)
		abort();
}

static void a_text(struct args *a, const char *s)
{
	a_room(a);
	a->v[a->n++] = s;
}

static void a_textn(struct args *a, const char *s, size_t n)
{
	a_room(a);
	a->own[a->n] = xstrndup(s, n);
	a->v[a->n] = a->own[a->n];
	a->n++;
}

static void a_int(struct args *a, int64_t x)
{
	a_room(a);
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%" PRId64, x);
	a->v[a->n] = a->num[a->n];
	a->n++;
}

/* An id: NULL unless positive (as SQLite's bind_id). */
static void a_id(struct args *a, int64_t x)
{
	if (x > 0)
		a_int(a, x);
	else
		a_text(a, NULL);
}

/* ---- results --------------------------------------------------------- */

static char *col_dup(const PGresult *r, int row, int i)
{
	return PQgetisnull(r, row, i) ? NULL : xstrdup(PQgetvalue(r, row, i));
}

static int64_t col_i64(const PGresult *r, int row, int i)
{
	return PQgetisnull(r, row, i) ? 0 : strtoll(PQgetvalue(r, row, i), NULL, 10);
}

static void col_hex(const PGresult *r, int row, int i, char out[SHA256_HEX_LEN + 1])
{
	const char *t = PQgetisnull(r, row, i) ? "" : PQgetvalue(r, row, i);
	size_t n = strlen(t);

	if (n > SHA256_HEX_LEN)
		n = SHA256_HEX_LEN;
	memcpy(out, t, n);
	out[n] = '\0';
}

/* Affected rows of an INSERT / UPDATE / DELETE. */
static long changes(const PGresult *r)
{
	return strtol(PQcmdTuples((PGresult *)r), NULL, 10);
}

/* ---- connections ----------------------------------------------------- */

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Appends libpq's message without its trailing newline. */
static void add_pq_message(struct strbuf *err, const char *msg)
{
	size_t start = err->len;

	strbuf_addstr(err, msg && *msg ? msg : "unknown error");
	while (err->len > start && (err->buf[err->len - 1] == '\n' || err->buf[err->len - 1] == ' '))
		strbuf_setlen(err, err->len - 1);
	for (size_t i = start; i < err->len; i++)
		if (err->buf[i] == '\n')
			err->buf[i] = ' ';
}

/* One connection attempt; NULL with *msg (owned) on failure. */
static PGconn *connect_once(const char *conninfo, char **msg)
{
	PGconn *conn = PQconnectdb(conninfo);
	int fd, flags;

	if (!conn) {
		*msg = xstrdup("out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		struct strbuf sb = STRBUF_INIT;

		add_pq_message(&sb, PQerrorMessage(conn));
		*msg = strbuf_detach(&sb, NULL);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	/* job children must not inherit the catalog's socket */
	fd = PQsocket(conn);
	if (fd >= 0 && (flags = fcntl(fd, F_GETFD)) >= 0)
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	return conn;
}

static int reconnect_limit_s(void)
{
	const char *s = getenv("DATABUILD_PG_RECONNECT_S");
	char *end;
	long v;

	if (!s || !*s)
		return 60;
	v = strtol(s, &end, 10);
	return *end || v < 0 || v > INT_MAX ? 60 : (int)v;
}

/*
 * Connects with backoff (50 ms doubling to 2 s) for at most
 * $DATABUILD_PG_RECONNECT_S seconds. NULL with err on giving up.
 */
static PGconn *connect_retry(struct catalog *c, const char *conninfo, struct strbuf *err)
{
	int64_t deadline = now_us() + (int64_t)reconnect_limit_s() * 1000000;
	long delay_ms = 50;
	char *msg = NULL;
	PGconn *conn;

	for (;;) {
		free(msg);
		msg = NULL;
		if ((conn = connect_once(conninfo, &msg)))
			return conn;
		if (now_us() + delay_ms * 1000 > deadline)
			break;
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
	}
	strbuf_addf(err, "catalog '%s': connection lost and not re-established within %d s: %s",
		    c->location, reconnect_limit_s(), msg);
	free(msg);
	return NULL;
}

static int lost(PGconn *conn)
{
	return !conn || PQstatus(conn) == CONNECTION_BAD;
}

static void lease_revive(struct catalog *c);

/*
 * Re-establishes the main connection (and its LISTEN); a server restart
 * also dropped the leases, which are taken again at once.
 */
static int reconnect(struct catalog *c, struct strbuf *err)
{
	struct pg *p = pg(c);
	PGresult *r;

	PQfinish(p->conn);
	p->conn = NULL;
	memset(p->prepared, 0, sizeof(p->prepared));
	if (!(p->conn = connect_retry(c, p->conninfo, err)))
		return -1;
	p->reconnected = 1;
	lease_revive(c);
	if (p->listening) {
		r = PQexec(p->conn, "LISTEN databuild");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			strbuf_addf(err, "catalog '%s': ", c->location);
			add_pq_message(err, PQerrorMessage(p->conn));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

static int result_ok(const PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void db_fail(struct catalog *c, const PGresult *r, struct strbuf *err)
{
	const char *msg = r ? PQresultErrorMessage(r) : NULL;

	strbuf_addf(err, "catalog '%s': ", c->location);
	add_pq_message(err, msg && *msg ? msg : PQerrorMessage(pg(c)->conn));
}

static void stmt_name(enum stmt_id id, char name[16])
{
	snprintf(name, 16, "s%d", (int)id);
}

/* Prepares statement id on the connection unless it is already. */
static int prepare(struct catalog *c, enum stmt_id id, struct strbuf *err)
{
	struct pg *p = pg(c);
	char name[16];
	PGresult *r;

	if (p->prepared[id])
		return 0;
	stmt_name(id, name);
	r = PQprepare(p->conn, name, stmt_sql[id], 0, NULL);
	if (!result_ok(r)) {
		db_fail(c, r, err);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	p->prepared[id] = 1;
	return 0;
}

static PGresult *exec_once(struct catalog *c, enum stmt_id id, const struct args *a,
			   struct strbuf *err)
{
	struct pg *p = pg(c);
	char name[16];
	PGresult *r;

	if (prepare(c, id, err) < 0)
		return NULL;
	stmt_name(id, name);
	r = PQexecPrepared(p->conn, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0);
	if (!result_ok(r)) {
		db_fail(c, r, err);
		PQclear(r);
		return NULL;
	}
	return r;
}

/*
 * Runs statement id; the result (rows or command) is the caller's to
 * PQclear. Outside a write transaction a lost connection is re-established
 * and the statement retried once; inside, the transaction is retried.
 */
static PGresult *query(struct catalog *c, enum stmt_id id, const struct args *a,
		       struct strbuf *err)
{
	struct pg *p = pg(c);
	struct strbuf e = STRBUF_INIT;
	PGresult *r = exec_once(c, id, a, &e);

	if (!r && !p->in_tx && lost(p->conn)) {
		strbuf_reset(&e);
		if (reconnect(c, &e) == 0)
			r = exec_once(c, id, a, &e);
	}
	if (!r)
		strbuf_addbuf(err, &e);
	strbuf_release(&e);
	return r;
}

/* query() for statements whose result is not needed. */
static int exec_stmt(struct catalog *c, enum stmt_id id, const struct args *a, long *nchanged,
		     struct strbuf *err)
{
	PGresult *r = query(c, id, a, err);

	if (!r)
		return -1;
	if (nchanged)
		*nchanged = changes(r);
	PQclear(r);
	return 0;
}

static int exec_sql(struct catalog *c, const char *sql, struct strbuf *err)
{
	PGresult *r = PQexec(pg(c)->conn, sql);
	int ret = 0;

	if (!result_ok(r)) {
		db_fail(c, r, err);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

/*
 * Pipelines: statements whose results are not needed are sent back to back
 * (pipe_send) and their results collected at once (pipe_sync), one round
 * trip for many statements. Only inside a write transaction.
 */
static int pipe_begin(struct catalog *c, struct strbuf *err)
{
	if (!PQenterPipelineMode(pg(c)->conn)) {
		db_fail(c, NULL, err);
		return -1;
	}
	return 0;
}

static int pipe_send(struct catalog *c, enum stmt_id id, struct args *a, struct strbuf *err)
{
	char name[16];
	int ok;

	stmt_name(id, name);
	ok = PQsendQueryPrepared(pg(c)->conn, name, a->n, a->v, NULL, NULL, 0);
	args_release(a);
	if (!ok) {
		db_fail(c, NULL, err);
		return -1;
	}
	return 0;
}

/*
 * Ends the pipeline: waits for every result; the first error (a failed
 * statement aborts the rest) goes to err. Leaves pipeline mode.
 */
static int pipe_sync(struct catalog *c, struct strbuf *err)
{
	PGconn *conn = pg(c)->conn;
	struct strbuf scratch = STRBUF_INIT;
	int ret = 0;

	if (!err)
		err = &scratch;

	if (!PQpipelineSync(conn)) {
		db_fail(c, NULL, err);
		return -1;
	}
	for (;;) {
		PGresult *r = PQgetResult(conn);
		ExecStatusType st;

		if (!r) {
			if (lost(conn)) {
				if (!ret)
					db_fail(c, NULL, err);
				strbuf_release(&scratch);
				return -1;
			}
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (st == PGRES_FATAL_ERROR && !ret) {
			db_fail(c, r, err);
			ret = -1;
		}
		PQclear(r);
	}
	if (!PQexitPipelineMode(conn) && !ret) {
		db_fail(c, NULL, err);
		ret = -1;
	}
	strbuf_release(&scratch);
	return ret;
}

/*
 * Runs fn in one write transaction: serialised with every other writer
 * (so event seqs commit in order), notifying listeners on commit. If the
 * connection is lost, reconnects and runs fn once more with
 * p->retrying set (fn then treats work found already done as success).
 */
static int write_tx(struct catalog *c, int (*fn)(struct catalog *c, void *arg, struct strbuf *err),
		    void *arg, struct strbuf *err)
{
	struct pg *p = pg(c);
	struct strbuf e = STRBUF_INIT;
	int ret = -1;

	for (int attempt = 0;; attempt++) {
		int ok;

		strbuf_reset(&e);
		p->in_tx = 1;
		ok = exec_sql(c, BEGIN_SQL, &e) == 0 && fn(c, arg, &e) == 0 &&
		     exec_sql(c, COMMIT_SQL, &e) == 0;
		p->in_tx = 0;
		if (ok) {
			ret = 0;
			break;
		}
		if (attempt || !lost(p->conn)) {
			if (!lost(p->conn) && PQtransactionStatus(p->conn) != PQTRANS_IDLE) {
				PGresult *r = PQexec(p->conn, "ROLLBACK");

				PQclear(r);
			}
			strbuf_addbuf(err, &e);
			break;
		}
		if (reconnect(c, err) < 0)
			break;
		p->retrying = 1;
	}
	p->retrying = 0;
	strbuf_release(&e);
	return ret;
}

/* ---- events ---------------------------------------------------------- */

static int ev_insert(struct catalog *c, int64_t time_us, int64_t build_id, const char *type,
		     const char *ref, int64_t run_id, const char *payload, int64_t *seq,
		     struct strbuf *err)
{
	struct args a;
	PGresult *r;

	args_init(&a);
	a_int(&a, time_us ? time_us : now_us());
	a_id(&a, build_id);
	a_text(&a, type);
	a_text(&a, ref);
	a_id(&a, run_id);
	a_text(&a, payload);
	r = query(c, ST_EV_INSERT, &a, err);
	args_release(&a);
	if (!r)
		return -1;
	if (seq)
		*seq = col_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

/* ---- partitions and datasets ----------------------------------------- */

static void read_partition(const PGresult *r, int row, struct partition *p)
{
	int st;

	p->ref = col_dup(r, row, 0);
	st = part_status_parse(PQgetvalue(r, row, 1));
	p->status = st < 0 ? PART_MISSING : (enum part_status)st;
	col_hex(r, row, 2, p->build_key);
	col_hex(r, row, 3, p->sha256);
	p->size = col_i64(r, row, 4);
	p->version = col_dup(r, row, 5);
	p->job = col_dup(r, row, 6);
	p->run_id = col_dup(r, row, 7);
	p->created_us = col_i64(r, row, 8);
	p->updated_us = col_i64(r, row, 9);
	p->error = col_dup(r, row, 10);
	p->published_run = col_dup(r, row, 11);
	p->ident = col_dup(r, row, 12);
}

static int pg_get_partition(struct catalog *c, const char *ref, struct partition *out,
			    struct strbuf *err)
{
	struct args a;
	PGresult *r;
	int rc;

	args_init(&a);
	a_text(&a, ref);
	r = query(c, ST_PART_GET, &a, err);
	args_release(&a);
	if (!r)
		return -1;
	rc = PQntuples(r) > 0;
	if (rc)
		read_partition(r, 0, out);
	else
		out->ref = xstrdup(ref);
	PQclear(r);
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
 * the database would refuse anyway) are incremented as bytes.
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

static int pg_list_partitions(struct catalog *c, const char *prefix, const char *after,
			      size_t limit, unsigned status_mask,
			      struct partition_list *out, struct strbuf *err)
{
	struct strbuf upper = STRBUF_INIT, filter = STRBUF_INIT;
	int has_upper = prefix_upper(prefix, &upper);
	int gt = after && strcmp(after, prefix) >= 0;
	enum stmt_id id;
	PGresult *r = NULL;
	struct args a;
	int ret = -1;

	args_init(&a);
	id = has_upper ? (gt ? ST_LIST_GT_LT : ST_LIST_GE_LT) : (gt ? ST_LIST_GT : ST_LIST_GE);
	a_text(&a, gt ? after : prefix);
	a_text(&a, has_upper ? upper.buf : NULL);
	if (status_mask)
		rows_status_filter(status_mask, &filter);
	a_text(&a, status_mask ? filter.buf : NULL);
	if (limit)
		a_int(&a, (int64_t)limit);
	else
		a_text(&a, NULL);
	if (!(r = query(c, id, &a, err)))
		goto out;
	ALLOC_GROW(out->items, out->nr + (size_t)PQntuples(r), out->alloc);
	for (int i = 0; i < PQntuples(r); i++) {
		partition_init(&out->items[out->nr]);
		read_partition(r, i, &out->items[out->nr++]);
	}
	ret = 0;
out:
	PQclear(r);
	args_release(&a);
	strbuf_release(&upper);
	strbuf_release(&filter);
	return ret;
}

static int pg_list_children(struct catalog *c, const char *dir, const char *after,
			    size_t limit, struct strvec *names, struct strbuf *err)
{
	struct args a;
	PGresult *r;

	args_init(&a);
	a_text(&a, dir);
	a_text(&a, after ? after : "");
	if (limit)
		a_int(&a, (int64_t)limit);
	else
		a_text(&a, NULL);
	r = query(c, ST_CHILDREN, &a, err);
	args_release(&a);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		strvec_push(names, PQgetvalue(r, i, 0));
	PQclear(r);
	return 0;
}

/*
 * Inserts ref with status if it is unknown (and the datasets above it).
 * *created (may be NULL) tells whether it was inserted.
 */
static int ensure_partition(struct catalog *c, const char *ref, enum part_status status,
			    int64_t t, int *created, struct strbuf *err)
{
	size_t dlen = rows_dir_len(ref, strlen(ref));
	struct args a;
	long nch;
	int rc;

	args_init(&a);
	a_text(&a, ref);
	a_textn(&a, ref, dlen);
	a_text(&a, ref + dlen + (dlen ? 1 : 0));
	a_text(&a, part_status_name(status));
	a_int(&a, t);
	rc = exec_stmt(c, ST_PART_INSERT, &a, &nch, err);
	args_release(&a);
	if (rc < 0)
		return -1;
	if (created)
		*created = nch > 0;
	if (!nch)
		return 0;
	/* New partition: record its dataset and their ancestors, deepest first. */
	for (size_t n = dlen; n; n = rows_dir_len(ref, n)) {
		size_t plen = rows_dir_len(ref, n);
		struct strbuf name = STRBUF_INIT;

		strbuf_add(&name, ref + plen + (plen ? 1 : 0), n - plen - (plen ? 1 : 0));
		strbuf_addch(&name, '/');
		args_init(&a);
		a_textn(&a, ref, n);
		a_textn(&a, ref, plen);
		a_text(&a, name.buf);
		rc = exec_stmt(c, ST_DS_INSERT, &a, &nch, err);
		args_release(&a);
		strbuf_release(&name);
		if (rc < 0)
			return -1;
		if (!nch)
			break;
	}
	return 0;
}

/*
 * Queues the insert of ref with status if it is unknown, and of the
 * datasets above it (known ones included: there is no result to decide
 * on in a pipeline; the outcome is the same).
 */
static int send_ensure_partition(struct catalog *c, const char *ref, enum part_status status,
				 int64_t t, struct strbuf *err)
{
	size_t dlen = rows_dir_len(ref, strlen(ref));
	struct args a;

	args_init(&a);
	a_text(&a, ref);
	a_textn(&a, ref, dlen);
	a_text(&a, ref + dlen + (dlen ? 1 : 0));
	a_text(&a, part_status_name(status));
	a_int(&a, t);
	if (pipe_send(c, ST_PART_INSERT, &a, err) < 0)
		return -1;
	for (size_t n = dlen; n; n = rows_dir_len(ref, n)) {
		size_t plen = rows_dir_len(ref, n);
		struct strbuf name = STRBUF_INIT;

		strbuf_add(&name, ref + plen + (plen ? 1 : 0), n - plen - (plen ? 1 : 0));
		strbuf_addch(&name, '/');
		a_textn(&a, ref, n);
		a_textn(&a, ref, plen);
		a_textn(&a, name.buf, name.len);
		strbuf_release(&name);
		if (pipe_send(c, ST_DS_INSERT, &a, err) < 0)
			return -1;
	}
	return 0;
}

static int delete_partition(struct catalog *c, const char *ref, struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_text(&a, ref);
	rc = exec_stmt(c, ST_PART_DELETE, &a, NULL, err);
	args_release(&a);
	return rc;
}

static int dataset_used(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	struct strbuf lo = STRBUF_INIT, hi = STRBUF_INIT;
	struct args a;
	PGresult *r;
	int rc = -1;

	strbuf_add(&lo, dir, len);
	strbuf_addch(&lo, '/');
	strbuf_add(&hi, dir, len);
	strbuf_addch(&hi, '/' + 1);
	args_init(&a);
	a_text(&a, lo.buf);
	a_text(&a, hi.buf);
	if ((r = query(c, ST_DS_ANY, &a, err))) {
		rc = PQntuples(r) > 0;
		PQclear(r);
	}
	args_release(&a);
	strbuf_release(&lo);
	strbuf_release(&hi);
	return rc;
}

static int delete_dataset(struct catalog *c, const char *dir, size_t len, struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_textn(&a, dir, len);
	rc = exec_stmt(c, ST_DS_DELETE, &a, NULL, err);
	args_release(&a);
	return rc;
}

static int update_status(struct catalog *c, const char *ref, enum part_status status,
			 const char *error, int64_t t, struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_text(&a, ref);
	a_text(&a, part_status_name(status));
	a_text(&a, error);
	a_int(&a, t);
	rc = exec_stmt(c, ST_PART_STATUS, &a, NULL, err);
	args_release(&a);
	return rc;
}

struct set_status_args {
	const char *ref;
	enum part_status status;
	const char *error;
};

static int set_status_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct set_status_args *s = arg;

	return rows_set_status(c, &pg_rows, s->ref, s->status, s->error, now_us(), err);
}

static int pg_set_status(struct catalog *c, const char *ref, enum part_status status,
			 const char *error, struct strbuf *err)
{
	struct set_status_args s = { ref, status, error };

	return write_tx(c, set_status_tx, &s, err);
}

/* ---- builds ---------------------------------------------------------- */

struct build_args {
	const char *refs_json, *requester, *payload;
	int64_t t, id;
};

/* The id is taken once, so a retry after a lost COMMIT finds its own row. */
static int next_id(struct catalog *c, enum stmt_id id, int64_t *out, struct strbuf *err)
{
	PGresult *r;

	if (*out)
		return 0;
	if (!(r = query(c, id, NULL, err)))
		return -1;
	*out = col_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

/* 1 if the row of statement id with key exists, 0 if not, -1 error. */
static int row_exists(struct catalog *c, enum stmt_id id, int64_t key, struct strbuf *err)
{
	struct args a;
	PGresult *r;
	int rc;

	args_init(&a);
	a_int(&a, key);
	r = query(c, id, &a, err);
	if (!r)
		return -1;
	rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

static int begin_build_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct build_args *b = arg;
	struct args a;
	int rc;

	if (next_id(c, ST_BUILD_NEXT, &b->id, err) < 0)
		return -1;
	if (pg(c)->retrying && (rc = row_exists(c, ST_BUILD_GET, b->id, err)) != 0)
		return rc < 0 ? -1 : 0;
	args_init(&a);
	a_int(&a, b->id);
	a_text(&a, b->refs_json);
	a_text(&a, b->requester);
	a_int(&a, b->t);
	rc = exec_stmt(c, ST_BUILD_INSERT, &a, NULL, err);
	args_release(&a);
	if (rc < 0)
		return -1;
	return ev_insert(c, b->t, b->id, EV_BUILD_REQUESTED, NULL, 0, b->payload, NULL, err);
}

static int pg_begin_build(struct catalog *c, const struct strvec *refs,
			  const char *requester, int64_t *build_id, struct strbuf *err)
{
	cJSON *arr = cJSON_CreateArray(), *payload = cJSON_CreateObject();
	struct build_args b = { NULL, requester ? requester : "cli", NULL, now_us(), 0 };
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
	ret = write_tx(c, begin_build_tx, &b, err);
	if (!ret)
		*build_id = b.id;
	free(refs_json);
	free(payload_json);
	return ret;
}

struct finish_build_args {
	int64_t id;
	const char *status, *payload;
	int64_t t;
};

static int finish_build_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	struct finish_build_args *b = arg;
	struct args a;
	long nch;
	int rc;

	args_init(&a);
	a_int(&a, b->id);
	a_text(&a, b->status);
	a_int(&a, b->t);
	rc = exec_stmt(c, ST_BUILD_FINISH, &a, &nch, err);
	args_release(&a);
	if (rc < 0)
		return -1;
	if (!nch) {
		strbuf_addf(err, "catalog '%s': unknown build %lld", c->location,
			    (long long)b->id);
		return -1;
	}
	return ev_insert(c, b->t, b->id, EV_BUILD_FINISHED, NULL, 0, b->payload, NULL, err);
}

static int pg_finish_build(struct catalog *c, int64_t build_id, const char *status,
			   struct strbuf *err)
{
	cJSON *o = cJSON_CreateObject();
	struct finish_build_args b = { build_id, status, NULL, now_us() };
	char *payload;
	int ret;

	cJSON_AddStringToObject(o, "status", status);
	payload = rows_json_take(o);
	b.payload = payload;
	ret = write_tx(c, finish_build_tx, &b, err);
	free(payload);
	return ret;
}

static int pg_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
			struct strbuf *err)
{
	struct args a;
	PGresult *r;
	int rc;

	args_init(&a);
	a_int(&a, build_id);
	r = query(c, ST_BUILD_GET, &a, err);
	if (!r)
		return -1;
	rc = PQntuples(r) > 0;
	if (rc) {
		out->id = col_i64(r, 0, 0);
		rows_strvec_from_json(&out->refs, PQgetvalue(r, 0, 1));
		out->requester = col_dup(r, 0, 2);
		out->status = col_dup(r, 0, 3);
		out->start_us = col_i64(r, 0, 4);
		out->end_us = col_i64(r, 0, 5);
	}
	PQclear(r);
	return rc;
}

/* ---- runs ------------------------------------------------------------ */

/*
 * Run id into r (run_record_init'ed here) and, if prior is not NULL, the
 * outputs' state before the run (JSON) into *prior: 1, 0 if none, -1.
 */
static int get_run_row(struct catalog *c, int64_t id, struct run_record *r, char **prior,
		       struct strbuf *err)
{
	struct args a;
	PGresult *res;
	int st;

	run_record_init(r);
	if (prior)
		*prior = NULL;
	args_init(&a);
	a_int(&a, id);
	if (!(res = query(c, ST_RUN_GET, &a, err)))
		return -1;
	if (!PQntuples(res)) {
		PQclear(res);
		return 0;
	}
	r->run_id = col_dup(res, 0, 0);
	r->build_id = col_i64(res, 0, 1);
	r->job = col_dup(res, 0, 2);
	r->config_json = col_dup(res, 0, 3);
	st = run_status_parse(PQgetvalue(res, 0, 4));
	r->status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
	r->pid = (long)col_i64(res, 0, 5);
	r->host = col_dup(res, 0, 6);
	r->start_us = col_i64(res, 0, 7);
	r->end_us = col_i64(res, 0, 8);
	r->exit_status = (int)col_i64(res, 0, 9);
	r->log_path = col_dup(res, 0, 10);
	r->error = col_dup(res, 0, 11);
	rows_strvec_from_json(&r->outputs, PQgetvalue(res, 0, 12));
	if (prior)
		*prior = col_dup(res, 0, 13);
	PQclear(res);
	return 1;
}

static int pg_get_run(struct catalog *c, const char *run_id, struct run_record *out,
		      struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);

	return id ? get_run_row(c, id, out, NULL, err) : 0;
}

struct begin_run_args {
	struct run_record *run;
	int64_t id, t;
	int given;        /* the caller chose the run id */
	char *log_path;   /* assigned log path (owned) */
};

static int begin_run_tx(struct catalog *c, void *arg, struct strbuf *err)
{
	static const enum stmt_id used[] = {
		ST_RUN_INSERT, ST_RUN_SEQ, ST_PART_INSERT, ST_DS_INSERT, ST_PART_BUILDING,
		ST_EV_INSERT,
	};
	struct begin_run_args *b = arg;
	struct run_record *run = b->run;
	cJSON *outs = cJSON_CreateArray(), *prior = cJSON_CreateArray(), *payload;
	char *outs_json = NULL, *prior_json = NULL, *payload_json = NULL;
	struct args a;
	int ret = -1, rc, piped = 0;

	args_init(&a);
	if (next_id(c, ST_RUN_NEXT, &b->id, err) < 0)
		goto out;
	if (pg(c)->retrying && (rc = row_exists(c, ST_RUN_GET, b->id, err)) != 0) {
		ret = rc < 0 ? -1 : 0;
		goto out;
	}
	for (size_t i = 0; i < run->outputs.nr; i++) {
		struct partition p;

		cJSON_AddItemToArray(outs, cJSON_CreateString(run->outputs.v[i]));
		partition_init(&p);
		rc = pg_get_partition(c, run->outputs.v[i], &p, err);
		if (rc >= 0)
			rows_prior_add(prior, run->outputs.v[i], &p);
		partition_release(&p);
		if (rc < 0)
			goto out;
	}
	outs_json = cJSON_PrintUnformatted(outs);
	prior_json = cJSON_PrintUnformatted(prior);
	free(b->log_path);
	b->log_path = NULL;
	if (!run->log_path) {
		struct strbuf path = STRBUF_INIT;
		char num[32];

		snprintf(num, sizeof(num), "%lld", (long long)b->id);
		store_log_path(c->store, num, &path);
		b->log_path = strbuf_detach(&path, NULL);
	}
	for (size_t k = 0; k < sizeof(used) / sizeof(used[0]); k++)
		if (prepare(c, used[k], err) < 0)
			goto out;
	if (pipe_begin(c, err) < 0)
		goto out;
	piped = 1;
	a_int(&a, b->id);
	a_id(&a, run->build_id);
	a_text(&a, run->job);
	a_text(&a, run->config_json);
	a_int(&a, run->pid);
	a_text(&a, run->host);
	a_int(&a, b->t);
	a_text(&a, run->log_path ? run->log_path : b->log_path);
	a_text(&a, outs_json);
	a_text(&a, prior_json);
	if (pipe_send(c, ST_RUN_INSERT, &a, err) < 0)
		goto out;
	if (b->given) {
		a_int(&a, b->id);
		if (pipe_send(c, ST_RUN_SEQ, &a, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < run->outputs.nr; i++) {
		const char *ref = run->outputs.v[i];

		if (send_ensure_partition(c, ref, PART_BUILDING, b->t, err) < 0)
			goto out;
		a_text(&a, ref);
		a_int(&a, b->id);
		a_text(&a, run->job);
		a_int(&a, b->t);
		if (pipe_send(c, ST_PART_BUILDING, &a, err) < 0)
			goto out;
	}
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "job", run->job);
	cJSON_AddItemReferenceToObject(payload, "outputs", outs);
	json_add_int64(payload, "pid", run->pid);
	if (run->host)
		cJSON_AddStringToObject(payload, "host", run->host);
	if (run->log_path || b->log_path)
		cJSON_AddStringToObject(payload, "log", run->log_path ? run->log_path : b->log_path);
	payload_json = rows_json_take(payload);
	a_int(&a, b->t);
	a_id(&a, run->build_id);
	a_text(&a, EV_JOB_STARTED);
	a_text(&a, NULL);
	a_id(&a, b->id);
	a_text(&a, payload_json);
	if (pipe_send(c, ST_EV_INSERT, &a, err) < 0)
		goto out;
	ret = 0;
out:
	if (piped && pipe_sync(c, ret ? NULL : err) < 0)
		ret = -1;
	args_release(&a);
	cJSON_Delete(outs);
	cJSON_Delete(prior);
	free(outs_json);
	free(prior_json);
	free(payload_json);
	return ret;
}

static int pg_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err)
{
	struct begin_run_args b = { run, 0, run->start_us ? run->start_us : now_us(), 0, NULL };
	int ret = -1;

	if (run->run_id) {
		if (rows_run_id(c, run->run_id, &b.id, err) < 0)
			return -1;
		b.given = 1;
	}
	if (!run->job || !run->outputs.nr) {
		strbuf_addf(err, "catalog '%s': a run needs a job and at least one output",
			    c->location);
		return -1;
	}
	if (write_tx(c, begin_run_tx, &b, err) < 0)
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

static int pg_set_run_pid(struct catalog *c, const char *run_id, long pid,
			  struct strbuf *err)
{
	struct args a;
	int64_t id;
	long nch;
	int rc;

	if (rows_run_id(c, run_id, &id, err) < 0)
		return -1;
	args_init(&a);
	a_int(&a, id);
	a_int(&a, pid);
	rc = exec_stmt(c, ST_RUN_PID, &a, &nch, err);
	if (rc < 0)
		return -1;
	if (!nch) {
		strbuf_addf(err, "catalog '%s': unknown run '%s'", c->location, run_id);
		return -1;
	}
	return 0;
}

static int pg_set_ident(struct catalog *c, const char *ref, const char *published_run,
			const char *ident, struct strbuf *err)
{
	struct args a;
	int64_t id;
	int rc;

	if (rows_run_id(c, published_run, &id, err) < 0)
		return -1;
	args_init(&a);
	a_text(&a, ref);
	a_int(&a, id);
	a_text(&a, ident);
	rc = exec_stmt(c, ST_PART_IDENT, &a, NULL, err);
	args_release(&a);
	return rc;
}

static int pg_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err)
{
	struct args a;
	PGresult *r;
	int rc = -1;

	args_init(&a);
	a_text(&a, key);
	r = query(c, ST_META_GET, &a, err);
	if (r) {
		rc = PQntuples(r) > 0;
		if (rc)
			*value = col_dup(r, 0, 0);
		PQclear(r);
	}
	args_release(&a);
	return rc;
}

static int pg_set_meta(struct catalog *c, const char *key, const char *value,
		       struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_text(&a, key);
	a_text(&a, value);
	rc = exec_stmt(c, ST_META_SET, &a, NULL, err);
	args_release(&a);
	return rc;
}

static int finish_run_row(struct catalog *c, int64_t id, enum run_status status, int64_t t,
			  int exit_status, const char *error, struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_int(&a, id);
	a_text(&a, run_status_name(status));
	a_int(&a, t);
	a_int(&a, exit_status);
	a_text(&a, error);
	rc = exec_stmt(c, ST_RUN_FINISH, &a, NULL, err);
	args_release(&a);
	return rc;
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

	return rows_finish_run(c, &pg_rows, f->run_id, f->id, f->status, f->ev, f->exit_status,
			       f->error, pg(c)->retrying, now_us(), err);
}

static int pg_finish_run(struct catalog *c, const char *run_id, enum run_status status,
			 int exit_status, const char *error, struct strbuf *err)
{
	struct finish_run_args f = { run_id, 0, status, NULL, exit_status, error };

	if (!(f.ev = rows_end_event(c, run_id, status, err)) ||
	    rows_run_id(c, run_id, &f.id, err) < 0)
		return -1;
	return write_tx(c, finish_run_tx, &f, err);
}

/* ---- manifests ------------------------------------------------------- */

struct run_brief {
	int64_t build_id;
	enum run_status status;
};

/* Queues what publishing m records (see catalog_publish) on the pipeline. */
static int publish_send(struct catalog *c, const struct manifest *m, int64_t id,
			int64_t build_id, struct strbuf *err)
{
	int64_t t = m->end_time_us ? m->end_time_us : now_us();
	char *json = rows_json_take(manifest_to_json(m));
	struct args a;
	int ret = -1;

	args_init(&a);
	a_int(&a, id);
	a_text(&a, json);
	if (pipe_send(c, ST_MAN_PUT, &a, err) < 0)
		goto out;
	a_int(&a, id);
	if (pipe_send(c, ST_MI_DELETE, &a, err) < 0)
		goto out;
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		a_int(&a, id);
		a_text(&a, in->ref);
		a_text(&a, dep_type_name(in->type));
		a_text(&a, in->sha256);
		a_id(&a, rows_parse_run_id(in->run_id));
		if (pipe_send(c, ST_MI_INSERT, &a, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < m->outputs_nr; i++) {
		const struct manifest_output *o = &m->outputs[i];
		char payload[160];

		if (send_ensure_partition(c, o->ref, PART_LIVE, t, err) < 0)
			goto out;
		a_text(&a, o->ref);
		a_text(&a, m->build_key);
		a_text(&a, o->sha256);
		a_int(&a, o->size);
		a_text(&a, m->version);
		a_text(&a, m->job);
		a_int(&a, id);
		a_int(&a, t);
		a_text(&a, o->ident);
		if (pipe_send(c, ST_PART_PUBLISH, &a, err) < 0)
			goto out;
		snprintf(payload, sizeof(payload), "{\"sha256\":\"%s\",\"size\":%lld}", o->sha256,
			 (long long)o->size);
		a_int(&a, t);
		a_id(&a, build_id);
		a_text(&a, EV_PARTITION_PUBLISHED);
		a_text(&a, o->ref);
		a_id(&a, id);
		a_textn(&a, payload, strlen(payload));
		if (pipe_send(c, ST_EV_INSERT, &a, err) < 0)
			goto out;
	}
	a_int(&a, id);
	a_text(&a, run_status_name(RUN_SUCCEEDED));
	a_int(&a, t);
	a_int(&a, 0);
	a_text(&a, NULL);
	if (pipe_send(c, ST_RUN_FINISH, &a, err) < 0)
		goto out;
	{
		cJSON *p = cJSON_CreateObject();
		char *pj;

		cJSON_AddStringToObject(p, "job", m->job);
		json_add_int64(p, "outputs", m->outputs_nr);
		json_add_int64(p, "duration_us", (t - m->start_time_us));
		pj = rows_json_take(p);
		a_int(&a, t);
		a_id(&a, build_id);
		a_text(&a, EV_JOB_FINISHED);
		a_text(&a, NULL);
		a_id(&a, id);
		a.own[a.n] = pj;
		a_text(&a, pj);
		if (pipe_send(c, ST_EV_INSERT, &a, err) < 0)
			goto out;
	}
	ret = 0;
out:
	args_release(&a);
	free(json);
	return ret;
}

/* Manifests per round trip: their results must fit the socket buffers. */
#define PUBLISH_CHUNK 64

/* Publishes ms[0..n) (n <= PUBLISH_CHUNK): one lookup, one pipeline. */
static int publish_chunk(struct catalog *c, const struct manifest *const *ms, size_t n,
			 struct strbuf *err)
{
	static const enum stmt_id used[] = {
		ST_MAN_PUT, ST_MI_DELETE, ST_MI_INSERT, ST_PART_INSERT, ST_DS_INSERT,
		ST_PART_PUBLISH, ST_EV_INSERT, ST_RUN_FINISH,
	};
	struct strbuf ids = STRBUF_INIT;
	struct run_brief runs[PUBLISH_CHUNK];
	int64_t id[PUBLISH_CHUNK];
	PGresult *r = NULL;
	struct args a;
	int ret = -1;

	args_init(&a);
	strbuf_addch(&ids, '{');
	for (size_t i = 0; i < n; i++) {
		if (rows_run_id(c, ms[i]->run_id, &id[i], err) < 0)
			goto out;
		runs[i].status = RUN_ABANDONED;
		runs[i].build_id = -1;
		strbuf_addf(&ids, "%s%lld", i ? "," : "", (long long)id[i]);
	}
	strbuf_addch(&ids, '}');
	a_text(&a, ids.buf);
	if (!(r = query(c, ST_RUNS_GET, &a, err)))
		goto out;
	for (int k = 0; k < PQntuples(r); k++) {
		int64_t rid = col_i64(r, k, 0);
		int st = run_status_parse(PQgetvalue(r, k, 2));

		for (size_t i = 0; i < n; i++)
			if (id[i] == rid) {
				runs[i].build_id = col_i64(r, k, 1);
				runs[i].status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
			}
	}
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
	for (size_t k = 0; k < sizeof(used) / sizeof(used[0]); k++)
		if (prepare(c, used[k], err) < 0)
			goto out;
	if (pipe_begin(c, err) < 0)
		goto out;
	ret = 0;
	for (size_t i = 0; i < n && !ret; i++)
		/* a retry after a lost COMMIT: the first attempt is recorded */
		if (!pg(c)->retrying || runs[i].status != RUN_SUCCEEDED)
			ret = publish_send(c, ms[i], id[i], runs[i].build_id, err);
	if (pipe_sync(c, ret ? NULL : err) < 0)
		ret = -1;
out:
	PQclear(r);
	args_release(&a);
	strbuf_release(&ids);
	return ret;
}

/* A PostgreSQL array literal being built: {"a","b",NULL}. */
struct arr {
	struct strbuf sb;
	size_t n;
};

static void arr_add(struct arr *a, const char *v)
{
	strbuf_addch(&a->sb, a->n++ ? ',' : '{');
	if (!v) {
		strbuf_addstr(&a->sb, "NULL");
		return;
	}
	strbuf_addch(&a->sb, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			strbuf_addch(&a->sb, '\\');
		strbuf_addch(&a->sb, *v);
	}
	strbuf_addch(&a->sb, '"');
}

static void arr_addn(struct arr *a, const char *v, size_t len)
{
	char *s = xstrndup(v, len);

	arr_add(a, s);
	free(s);
}

static void arr_int(struct arr *a, int64_t v)
{
	strbuf_addch(&a->sb, a->n++ ? ',' : '{');
	strbuf_addf(&a->sb, "%" PRId64, v);
}

static void arr_id(struct arr *a, int64_t v)
{
	if (v > 0)
		arr_int(a, v);
	else
		arr_add(a, NULL);
}

/* Closes the literal (once; an empty array is "{}"). */
static void arr_text(struct arr *a)
{
	if (!a->n)
		strbuf_addch(&a->sb, '{');
	strbuf_addch(&a->sb, '}');
}

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

/* Adds manifest m (run id, of build build_id) to the arrays of publish_set. */
static void publish_collect(struct arr *a, const struct manifest *m, int64_t id,
			    int64_t build_id)
{
	int64_t t = m->end_time_us ? m->end_time_us : now_us();
	char *json = rows_json_take(manifest_to_json(m));
	cJSON *p = cJSON_CreateObject();

	arr_int(&a[A_MAN_ID], id);
	arr_add(&a[A_MAN_JSON], json);
	free(json);
	for (size_t i = 0; i < m->inputs_nr; i++) {
		const struct manifest_input *in = &m->inputs[i];

		arr_int(&a[A_MI_RUN], id);
		arr_add(&a[A_MI_REF], in->ref);
		arr_add(&a[A_MI_DEP], dep_type_name(in->type));
		arr_add(&a[A_MI_SHA], in->sha256);
		arr_id(&a[A_MI_INRUN], rows_parse_run_id(in->run_id));
	}
	for (size_t i = 0; i < m->outputs_nr; i++) {
		const struct manifest_output *o = &m->outputs[i];
		size_t dlen = rows_dir_len(o->ref, strlen(o->ref));
		char payload[160];

		arr_add(&a[A_PI_REF], o->ref);
		arr_addn(&a[A_PI_DS], o->ref, dlen);
		arr_add(&a[A_PI_NAME], o->ref + dlen + (dlen ? 1 : 0));
		arr_int(&a[A_PI_T], t);
		for (size_t n = dlen; n; n = rows_dir_len(o->ref, n)) {
			size_t plen = rows_dir_len(o->ref, n);
			size_t off = plen + (plen ? 1 : 0);
			struct strbuf name = STRBUF_INIT;

			strbuf_add(&name, o->ref + off, n - off);
			strbuf_addch(&name, '/');
			arr_addn(&a[A_DS_PATH], o->ref, n);
			arr_addn(&a[A_DS_PARENT], o->ref, plen);
			arr_add(&a[A_DS_NAME], name.buf);
			strbuf_release(&name);
		}
		arr_add(&a[A_PP_REF], o->ref);
		arr_add(&a[A_PP_KEY], m->build_key);
		arr_add(&a[A_PP_SHA], o->sha256);
		arr_int(&a[A_PP_SIZE], o->size);
		arr_add(&a[A_PP_VER], m->version);
		arr_add(&a[A_PP_JOB], m->job);
		arr_int(&a[A_PP_RUN], id);
		arr_int(&a[A_PP_T], t);
		arr_add(&a[A_PP_IDENT], o->ident);
		snprintf(payload, sizeof(payload), "{\"sha256\":\"%s\",\"size\":%lld}", o->sha256,
			 (long long)o->size);
		arr_int(&a[A_EV_T], t);
		arr_id(&a[A_EV_BUILD], build_id);
		arr_add(&a[A_EV_TYPE], EV_PARTITION_PUBLISHED);
		arr_add(&a[A_EV_REF], o->ref);
		arr_int(&a[A_EV_RUN], id);
		arr_add(&a[A_EV_PAYLOAD], payload);
	}
	arr_int(&a[A_RF_RUN], id);
	arr_int(&a[A_RF_T], t);
	cJSON_AddStringToObject(p, "job", m->job);
	json_add_int64(p, "outputs", m->outputs_nr);
	json_add_int64(p, "duration_us", (t - m->start_time_us));
	json = rows_json_take(p);
	arr_int(&a[A_EV_T], t);
	arr_id(&a[A_EV_BUILD], build_id);
	arr_add(&a[A_EV_TYPE], EV_JOB_FINISHED);
	arr_add(&a[A_EV_REF], NULL);
	arr_int(&a[A_EV_RUN], id);
	arr_add(&a[A_EV_PAYLOAD], json);
	free(json);
}

/*
 * publish_chunk for many manifests at once: each table is written by one
 * statement over arrays, all in one pipeline. Only for batches in which
 * no run and no output appears twice (an UPDATE over arrays would apply
 * one of them arbitrarily); the caller checks.
 */
static int publish_set(struct catalog *c, const struct manifest *const *ms, size_t n,
		       struct strbuf *err)
{
	static const struct {
		enum stmt_id id;
		int first, nr;
	} stmts[] = {
		{ ST_SET_MAN_PUT, A_MAN_ID, 2 },
		{ ST_SET_MI_DELETE, A_MAN_ID, 1 },
		{ ST_SET_MI_INSERT, A_MI_RUN, 5 },
		{ ST_SET_PART_INSERT, A_PI_REF, 4 },
		{ ST_SET_DS_INSERT, A_DS_PATH, 3 },
		{ ST_SET_PART_PUBLISH, A_PP_REF, 9 },
		{ ST_SET_RUN_FINISH, A_RF_RUN, 2 },
		{ ST_SET_EV_INSERT, A_EV_T, 6 },
	};
	struct strbuf ids = STRBUF_INIT;
	struct run_brief *runs = xcalloc(n, sizeof(*runs));
	int64_t *id = xcalloc(n, sizeof(*id));
	struct arr a[A__NR];
	PGresult *r = NULL;
	struct strmap pos = STRMAP_INIT;
	struct args q;
	int ret = -1;

	for (int k = 0; k < A__NR; k++) {
		strbuf_init(&a[k].sb, 0);
		a[k].n = 0;
	}
	args_init(&q);
	strbuf_addch(&ids, '{');
	for (size_t i = 0; i < n; i++) {
		if (rows_run_id(c, ms[i]->run_id, &id[i], err) < 0)
			goto out;
		runs[i].build_id = -1;
		strmap_put(&pos, ms[i]->run_id, (void *)(uintptr_t)(i + 1));
		strbuf_addf(&ids, "%s%lld", i ? "," : "", (long long)id[i]);
	}
	strbuf_addch(&ids, '}');
	a_text(&q, ids.buf);
	if (!(r = query(c, ST_RUNS_GET, &q, err)))
		goto out;
	args_release(&q);
	for (int k = 0; k < PQntuples(r); k++) {
		const char *rid = PQgetvalue(r, k, 0);
		size_t i = (size_t)(uintptr_t)strmap_get(&pos, rid);
		int st = run_status_parse(PQgetvalue(r, k, 2));

		if (!i--)
			continue;
		runs[i].build_id = col_i64(r, k, 1);
		runs[i].status = st < 0 ? RUN_ABANDONED : (enum run_status)st;
	}
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
		/* a retry after a lost COMMIT: the first attempt is recorded */
		if (!pg(c)->retrying || runs[i].status != RUN_SUCCEEDED)
			publish_collect(a, ms[i], id[i], runs[i].build_id);
	}
	for (int k = 0; k < A__NR; k++)
		arr_text(&a[k]);
	for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]); k++)
		if (prepare(c, stmts[k].id, err) < 0)
			goto out;
	if (pipe_begin(c, err) < 0)
		goto out;
	ret = 0;
	for (size_t k = 0; k < sizeof(stmts) / sizeof(stmts[0]) && !ret; k++) {
		for (int j = 0; j < stmts[k].nr; j++)
			a_text(&q, a[stmts[k].first + j].sb.buf);
		ret = pipe_send(c, stmts[k].id, &q, err);
	}
	if (pipe_sync(c, ret ? NULL : err) < 0)
		ret = -1;
out:
	PQclear(r);
	args_release(&q);
	for (int k = 0; k < A__NR; k++)
		strbuf_release(&a[k].sb);
	strmap_clear(&pos);
	strbuf_release(&ids);
	free(runs);
	free(id);
	return ret;
}

/* 1 if no run and no output appears twice among ms[0..n). */
static int publish_distinct(const struct manifest *const *ms, size_t n)
{
	struct strmap seen = STRMAP_INIT;
	int ok = 1;

	for (size_t i = 0; ok && i < n; i++) {
		struct strbuf key = STRBUF_INIT;

		strbuf_addf(&key, "r:%s", ms[i]->run_id ? ms[i]->run_id : "");
		ok = !strmap_contains(&seen, key.buf);
		strmap_put(&seen, key.buf, NULL);
		for (size_t k = 0; ok && k < ms[i]->outputs_nr; k++) {
			strbuf_reset(&key);
			strbuf_addf(&key, "o:%s", ms[i]->outputs[k].ref);
			ok = !strmap_contains(&seen, key.buf);
			strmap_put(&seen, key.buf, NULL);
		}
		strbuf_release(&key);
	}
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

	if (pa->n > 1 && publish_distinct(pa->ms, pa->n)) {
		for (size_t i = 0; i < pa->n; i += PUBLISH_SET_CHUNK)
			if (publish_set(c, pa->ms + i, pa->n - i < PUBLISH_SET_CHUNK ? pa->n - i :
					PUBLISH_SET_CHUNK, err) < 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < pa->n; i += PUBLISH_CHUNK)
		if (publish_chunk(c, pa->ms + i, pa->n - i < PUBLISH_CHUNK ? pa->n - i :
				  PUBLISH_CHUNK, err) < 0)
			return -1;
	return 0;
}

static int pg_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
			    struct strbuf *err)
{
	struct publish_args pa = { ms, n };

	if (!n)
		return 0;
	return write_tx(c, publish_tx, &pa, err);
}

static int pg_publish(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	return pg_publish_batch(c, &m, 1, err);
}

static int pg_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
			   struct strbuf *err)
{
	int64_t id = rows_parse_run_id(run_id);
	struct args a;
	PGresult *r;
	int rc;

	if (!id)
		return 0;
	args_init(&a);
	a_int(&a, id);
	if (!(r = query(c, ST_MAN_GET, &a, err)))
		return -1;
	if (!PQntuples(r)) {
		PQclear(r);
		return 0;
	}
	rc = manifest_parse(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), err);
	PQclear(r);
	if (rc < 0) {
		strbuf_addf(err, " (manifest of run '%s' in catalog '%s')", run_id, c->location);
		return -1;
	}
	return 1;
}

static int pg_last_durations(struct catalog *c, const char *job, size_t n,
			     int64_t *avg_us, struct strbuf *err)
{
	struct args a;
	PGresult *r;

	args_init(&a);
	a_text(&a, job);
	if (n)
		a_int(&a, (int64_t)n);
	else
		a_text(&a, NULL);
	if (!(r = query(c, ST_DURATIONS, &a, err)))
		return -1;
	*avg_us = PQntuples(r) && col_i64(r, 0, 1) && !PQgetisnull(r, 0, 0) ?
		(int64_t)strtod(PQgetvalue(r, 0, 0), NULL) : 0;
	PQclear(r);
	return 0;
}

/* ---- events ---------------------------------------------------------- */

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
		    ev_insert(c, e->time_us, e->build_id, e->type, e->ref, run, e->payload,
			      &ea->seq, err) < 0)
			return -1;
	}
	return 0;
}

static int pg_append_event(struct catalog *c, const struct event *e, int64_t *seq,
			   struct strbuf *err)
{
	struct events_args ea = { e, 1, 0 };
	int64_t run;

	if (check_event(c, e, &run, err) < 0 || write_tx(c, append_events_tx, &ea, err) < 0)
		return -1;
	if (seq)
		*seq = ea.seq;
	return 0;
}

static int pg_append_events(struct catalog *c, const struct event *es, size_t n,
			    struct strbuf *err)
{
	struct events_args ea = { es, n, 0 };

	return write_tx(c, append_events_tx, &ea, err);
}

#define EVENT_PAGE 512

static int pg_read_events(struct catalog *c, int64_t after_seq, size_t limit,
			  int (*fn)(const struct event *e, void *arg), void *arg,
			  struct strbuf *err)
{
	size_t seen = 0;
	int stop = 0;

	while (!stop) {
		size_t want = EVENT_PAGE;
		struct args a;
		PGresult *r;
		size_t nr;

		if (limit && limit - seen < want)
			want = limit - seen;
		if (!want)
			break;
		args_init(&a);
		a_int(&a, after_seq);
		a_int(&a, (int64_t)want);
		if (!(r = query(c, ST_EV_READ, &a, err)))
			return -1;
		nr = (size_t)PQntuples(r);
		for (size_t i = 0; i < nr; i++) {
			struct event e;

			e.seq = col_i64(r, (int)i, 0);
			e.time_us = col_i64(r, (int)i, 1);
			e.build_id = col_i64(r, (int)i, 2);
			e.type = PQgetvalue(r, (int)i, 3);
			e.ref = PQgetisnull(r, (int)i, 4) ? NULL : PQgetvalue(r, (int)i, 4);
			e.run_id = PQgetisnull(r, (int)i, 5) ? NULL : PQgetvalue(r, (int)i, 5);
			e.payload = PQgetisnull(r, (int)i, 6) ? NULL : PQgetvalue(r, (int)i, 6);
			if (!stop)
				stop = fn(&e, arg) != 0;
			after_seq = e.seq;
		}
		PQclear(r);
		seen += nr;
		if (nr < want)
			break;
	}
	return 0;
}

static int pg_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err)
{
	PGresult *r = query(c, ST_EV_LAST, NULL, err);

	if (!r)
		return -1;
	*seq = PQntuples(r) ? col_i64(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static int pg_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
			       struct strbuf *err)
{
	PGresult *r = query(c, ST_COUNT, NULL, err);

	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		int st = part_status_parse(PQgetvalue(r, i, 0));

		if (st > PART_MISSING && st < PART_STATUS_NR && (status_mask & (1u << st)))
			counts[st] += col_i64(r, i, 1);
	}
	PQclear(r);
	return 0;
}

/* ---- lineage and taint ----------------------------------------------- */

/* The refs one lineage step from ref (catalog_rows.neighbours). */
static int neighbours(struct catalog *c, const char *ref, int downstream, struct strvec *refs,
		      struct strvec *states, struct strbuf *err)
{
	struct args a;
	PGresult *r;

	args_init(&a);
	a_text(&a, ref);
	r = query(c, downstream ? ST_DOWNSTREAM : ST_UPSTREAM, &a, err);
	args_release(&a);
	if (!r)
		return -1;
	for (int k = 0; k < PQntuples(r); k++) {
		strvec_push(refs, PQgetvalue(r, k, 0));
		if (downstream)
			strvec_push(states, PQgetvalue(r, k, 1));
	}
	PQclear(r);
	return 0;
}

static int pg_lineage(struct catalog *c, const char *ref, int downstream,
		      struct strvec *refs, struct strbuf *err)
{
	return rows_lineage(c, &pg_rows, ref, downstream, refs, err);
}

/* ---- the row operations rows.c works with --------------------------- */

static int row_restore(struct catalog *c, const char *ref, enum part_status status,
		       int64_t run_id, const char *job, const char *error, int64_t updated_us,
		       struct strbuf *err)
{
	struct args a;
	int rc;

	args_init(&a);
	a_text(&a, ref);
	a_text(&a, part_status_name(status));
	a_id(&a, run_id);
	a_text(&a, job);
	a_text(&a, error);
	a_int(&a, updated_us);
	rc = exec_stmt(c, ST_PART_RESTORE, &a, NULL, err);
	args_release(&a);
	return rc;
}

static const struct catalog_rows pg_rows = {
	.get_partition = pg_get_partition,
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
	return rows_taint(c, &pg_rows, ta->refs, ta->downstream, ta->t, ta->build_id,
			  &ta->changed, err);
}

static int pg_taint(struct catalog *c, const struct strvec *refs, int downstream,
		    int64_t build_id, struct strvec *changed, struct strbuf *err)
{
	struct taint_args ta = { refs, downstream, now_us(), build_id, STRVEC_INIT };
	int ret = write_tx(c, taint_tx, &ta, err);

	if (!ret && changed)
		for (size_t i = 0; i < ta.changed.nr; i++)
			strvec_push(changed, ta.changed.v[i]);
	strvec_clear(&ta.changed);
	return ret;
}

/* ---- leases ---------------------------------------------------------- */

/* The lock key of ref: the first 8 bytes of sha256(ref). */
static int64_t lease_key(const char *ref)
{
	char hex[SHA256_HEX_SIZE];
	uint64_t v = 0;

	sha256_hex(ref, strlen(ref), hex);
	for (int i = 0; i < 16; i++) {
		char ch = hex[i];

		v = v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
	}
	return (int64_t)v;
}

static long held_index(struct pg *p, int64_t key)
{
	for (size_t i = 0; i < p->nheld; i++)
		if (p->held[i] == key)
			return (long)i;
	return -1;
}

/* Under lease_mu: one statement on lconn; NULL with err (lconn may be lost). */
static PGresult *lease_exec(struct catalog *c, const char *sql, int64_t key, struct strbuf *err)
{
	struct pg *p = pg(c);
	char num[24];
	const char *v[1] = { num };
	PGresult *r;

	snprintf(num, sizeof(num), "%" PRId64, key);
	r = PQexecParams(p->lconn, sql, 1, NULL, v, NULL, NULL, 0);
	if (!result_ok(r)) {
		strbuf_addf(err, "catalog '%s': lease: ", c->location);
		add_pq_message(err, PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
	return r;
}

/* 1 if the server granted the lock, 0 if another session holds it, -1 error. */
static int lease_try(struct catalog *c, int64_t key, struct strbuf *err)
{
	PGresult *r = lease_exec(c, "SELECT pg_try_advisory_lock($1::bigint)", key, err);
	int rc;

	if (!r)
		return -1;
	rc = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return rc;
}

/*
 * Under lease_mu: (re)connects lconn, listening for releases. After a lost
 * connection the server has dropped every lock of the old session: they
 * are taken again (one now held by someone else stays lost).
 */
static int lease_connect(struct catalog *c, struct strbuf *err)
{
	struct pg *p = pg(c);
	PGresult *r;

	if (p->lconn && !lost(p->lconn))
		return 0;
	PQfinish(p->lconn);
	if (!(p->lconn = connect_retry(c, p->conninfo, err)))
		return -1;
	r = PQexec(p->lconn, "LISTEN databuild");
	if (!result_ok(r)) {
		strbuf_addf(err, "catalog '%s': lease: ", c->location);
		add_pq_message(err, PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(p->lconn);
		p->lconn = NULL;
		return -1;
	}
	PQclear(r);
	for (size_t i = 0; i < p->nheld; i++) {
		struct strbuf ignored = STRBUF_INIT;

		lease_try(c, p->held[i], &ignored);
		strbuf_release(&ignored);
	}
	return 0;
}

/*
 * After the main connection was lost: if leases are held and their
 * connection is gone too (a server restart), reconnects it now, taking
 * them again, rather than at the next lease call.
 */
static void lease_revive(struct catalog *c)
{
	struct pg *p = pg(c);
	struct strbuf ignored = STRBUF_INIT;

	pthread_mutex_lock(&p->lease_mu);
	if (p->nheld && p->lconn) {
		PGresult *r = PQexec(p->lconn, "SELECT 1");

		PQclear(r);
		if (lost(p->lconn))
			lease_connect(c, &ignored);
	}
	pthread_mutex_unlock(&p->lease_mu);
	strbuf_release(&ignored);
}

static void drain_notifies(PGconn *conn)
{
	PGnotify *n;

	PQconsumeInput(conn);
	while ((n = PQnotifies(conn)))
		PQfreemem(n);
}

static int pg_lease_acquire(struct catalog *c, const char *ref, int wait,
			    struct lease **out, struct strbuf *err)
{
	struct pg *p = pg(c);
	int64_t key = lease_key(ref);

	for (;;) {
		struct pollfd pfd = { -1, POLLIN, 0 };
		int rc = 0;

		pthread_mutex_lock(&p->lease_mu);
		if (lease_connect(c, err) < 0) {
			pthread_mutex_unlock(&p->lease_mu);
			return -1;
		}
		if (held_index(p, key) < 0) {
			struct strbuf e = STRBUF_INIT;

			rc = lease_try(c, key, &e);
			if (rc < 0 && lost(p->lconn)) {
				strbuf_reset(&e);
				rc = lease_connect(c, &e) < 0 ? -1 : lease_try(c, key, &e);
			}
			if (rc < 0)
				strbuf_addbuf(err, &e);
			strbuf_release(&e);
		}
		if (rc > 0) {
			ALLOC_GROW(p->held, p->nheld + 1, p->held_alloc);
			p->held[p->nheld++] = key;
		}
		if (rc != 0 || !wait) {
			pthread_mutex_unlock(&p->lease_mu);
			if (rc > 0) {
				*out = xmalloc(sizeof(**out));
				(*out)->key = key;
				(*out)->ref = xstrdup(ref);
			}
			return rc;
		}
		/* a release NOTIFYs; re-try at least every second regardless */
		drain_notifies(p->lconn);
		pfd.fd = PQsocket(p->lconn);
		pthread_mutex_unlock(&p->lease_mu);
		while (poll(&pfd, 1, 1000) < 0 && errno == EINTR)
			;
	}
}

static void pg_lease_release(struct catalog *c, struct lease *l)
{
	struct pg *p = pg(c);
	struct strbuf ignored = STRBUF_INIT;
	PGresult *r;
	long i;

	pthread_mutex_lock(&p->lease_mu);
	if ((i = held_index(p, l->key)) >= 0) {
		p->held[i] = p->held[--p->nheld];
		/* a lost session has dropped the lock already */
		if (p->lconn && !lost(p->lconn)) {
			r = lease_exec(c, "SELECT pg_advisory_unlock($1::bigint),"
				       " pg_notify('databuild', '')", l->key, &ignored);
			PQclear(r);
		}
	}
	pthread_mutex_unlock(&p->lease_mu);
	strbuf_release(&ignored);
	free(l->ref);
	free(l);
}

/* ---- change notification --------------------------------------------- */

static int pg_watch(struct catalog *c, int *fd, struct strbuf *err)
{
	struct pg *p = pg(c);
	PGnotify *n;
	int count = 0;

	if (!p->listening) {
		PGresult *r;

		if (lost(p->conn) && reconnect(c, err) < 0)
			return -1;
		r = PQexec(p->conn, "LISTEN databuild");
		if (!result_ok(r) && lost(p->conn)) {
			PQclear(r);
			if (reconnect(c, err) < 0)
				return -1;
			r = PQexec(p->conn, "LISTEN databuild");
		}
		if (!result_ok(r)) {
			db_fail(c, r, err);
			PQclear(r);
			return -1;
		}
		PQclear(r);
		p->listening = 1;
		p->reconnected = 0;
	}
	if (!PQconsumeInput(p->conn) && lost(p->conn)) {
		if (reconnect(c, err) < 0)
			return -1;
	}
	if (p->reconnected) {
		/* notifications sent while disconnected are lost: report a change */
		count++;
		p->reconnected = 0;
	}
	while ((n = PQnotifies(p->conn))) {
		count++;
		PQfreemem(n);
	}
	*fd = PQsocket(p->conn);
	return count;
}

/* ---- open / close ---------------------------------------------------- */

static void pg_close(struct catalog *c)
{
	struct pg *p = pg(c);

	if (!p)
		return;
	PQfinish(p->conn);
	PQfinish(p->lconn);
	pthread_mutex_destroy(&p->lease_mu);
	free(p->held);
	free(p->conninfo);
	free(p);
	c->impl = NULL;
}

/* In the schema lock's transaction: creates or upgrades the tables. */
static int migrate(struct catalog *c, struct strbuf *err)
{
	PGresult *r;
	int version = 0, foreign = 0;

	if (exec_sql(c, "CREATE TABLE IF NOT EXISTS databuild_schema (version INTEGER NOT NULL)",
		     err) < 0)
		return -1;
	r = PQexec(pg(c)->conn, "SELECT (SELECT max(version) FROM databuild_schema),"
		   " to_regclass('partitions') IS NOT NULL");
	if (!result_ok(r)) {
		db_fail(c, r, err);
		PQclear(r);
		return -1;
	}
	version = (int)col_i64(r, 0, 0);
	foreign = !strcmp(PQgetvalue(r, 0, 1), "t");
	PQclear(r);
	if (version > CATALOG_PG_VERSION) {
		strbuf_addf(err, "catalog '%s': schema version %d is newer than this databuild "
			    "supports (%d); upgrade databuild", c->location, version,
			    CATALOG_PG_VERSION);
		return -1;
	}
	if (!version && foreign) {
		strbuf_addf(err, "catalog '%s': the database has tables but is not a databuild "
			    "catalog", c->location);
		return -1;
	}
	for (int v = version; v < CATALOG_PG_VERSION; v++)
		if (exec_sql(c, pg_migrations[v], err) < 0) {
			strbuf_addf(err, " (migrating the schema from version %d to %d)", v, v + 1);
			return -1;
		}
	if (version < CATALOG_PG_VERSION) {
		char sql[96];

		snprintf(sql, sizeof(sql), "DELETE FROM databuild_schema;"
			 " INSERT INTO databuild_schema VALUES (%d)", CATALOG_PG_VERSION);
		if (exec_sql(c, sql, err) < 0)
			return -1;
	}
	return 0;
}

/* How long a first connection keeps trying a server that does not answer. */
#define OPEN_NO_RESPONSE_S 5

/*
 * The first connection of a handle. A server that is restarting (it
 * answers but rejects connections, or closes them: starting up, shutting
 * down) is waited for as a lost connection is, up to
 * $DATABUILD_PG_RECONNECT_S; one that does not answer at all for
 * OPEN_NO_RESPONSE_S (a restart's gap between stop and start, not a wrong
 * address for a minute); anything else (authentication, a missing
 * database, a bad URL) fails at once.
 */
static PGconn *connect_open(struct catalog *c, const char *conninfo, struct strbuf *err)
{
	int64_t start = now_us(), limit = (int64_t)reconnect_limit_s() * 1000000;
	long delay_ms = 50;
	char *msg = NULL;
	PGconn *conn;

	for (;;) {
		int64_t deadline = start;
		PGPing ping;

		free(msg);
		msg = NULL;
		if ((conn = connect_once(conninfo, &msg)))
			return conn;
		ping = PQping(conninfo);
		if (ping == PQPING_REJECT || strstr(msg, "closed the connection unexpectedly") ||
		    strstr(msg, "starting up") || strstr(msg, "shutting down"))
			deadline = start + limit;
		else if (ping == PQPING_NO_RESPONSE)
			deadline = start + (limit < OPEN_NO_RESPONSE_S * 1000000LL ? limit :
					    OPEN_NO_RESPONSE_S * 1000000LL);
		if (now_us() + delay_ms * 1000 > deadline)
			break;
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
	}
	strbuf_addf(err, "catalog '%s': cannot connect: %s", c->location, msg);
	free(msg);
	return NULL;
}

int catalog_pg_open(struct catalog *c, const char *conninfo, struct strbuf *err)
{
	struct pg *p = xcalloc(1, sizeof(*p));
	int ok;

	c->impl = p;
	p->conninfo = xstrdup(conninfo);
	pthread_mutex_init(&p->lease_mu, NULL);
	if (!(p->conn = connect_open(c, conninfo, err)))
		goto fail;
	ok = exec_sql(c, "BEGIN; SELECT pg_advisory_xact_lock(1684163652, 2)", err) == 0 &&
	     migrate(c, err) == 0 && exec_sql(c, "COMMIT", err) == 0;
	if (!ok)
		goto fail;
	return 0;
fail:
	pg_close(c);
	return -1;
}

static int pg_open(struct catalog *c, struct strbuf *err)
{
	return catalog_pg_open(c, c->location, err);
}

const struct catalog_ops catalog_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.get_partition = pg_get_partition,
	.list_partitions = pg_list_partitions,
	.list_children = pg_list_children,
	.begin_build = pg_begin_build,
	.finish_build = pg_finish_build,
	.get_build = pg_get_build,
	.begin_run = pg_begin_run,
	.set_run_pid = pg_set_run_pid,
	.set_ident = pg_set_ident,
	.get_meta = pg_get_meta,
	.set_meta = pg_set_meta,
	.publish = pg_publish,
	.publish_batch = pg_publish_batch,
	.finish_run = pg_finish_run,
	.get_run = pg_get_run,
	.get_manifest = pg_get_manifest,
	.last_durations = pg_last_durations,
	.append_event = pg_append_event,
	.append_events = pg_append_events,
	.read_events = pg_read_events,
	.last_event_seq = pg_last_event_seq,
	.taint = pg_taint,
	.lineage = pg_lineage,
	.set_status = pg_set_status,
	.lease_acquire = pg_lease_acquire,
	.lease_release = pg_lease_release,
	.count_partitions = pg_count_partitions,
	.watch = pg_watch,
};
