#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/lease.h"
#include "catalog/postgres.h"
#include "catalog/sqlite.h"
#include "core/array.h"
#include "core/hash.h"
#include "core/strmap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char *tmpdir;
static struct store store;
static struct catalog cat;
static struct strbuf err = STRBUF_INIT;
/*
 * The catalog location every case opens: NULL (the store's SQLite file),
 * or a fresh PostgreSQL database per case when the cases run against
 * $DATABUILD_TEST_PG (a server URL such as postgresql://postgres@host:port/).
 */
static char *location;

static void setup(void)
{
	char tmpl[] = "/tmp/databuild-catalog.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	strbuf_reset(&err);
	ck_assert_msg(store_open(&store, tmpdir, &err) == 0, "%s", err.buf);
	ck_assert_msg(catalog_open(&cat, &store, location, &err) == 0, "%s", err.buf);
}

static void teardown(void)
{
	catalog_close(&cat);
	store_release(&store);
	remove_tree(tmpdir);
	free(tmpdir);
	strbuf_release(&err);
}

#ifdef DATABUILD_WITH_POSTGRES
static char *pg_dbname;

/* The server URL with its database replaced by db (the query string kept). */
static char *pg_url(const char *db)
{
	const char *base = getenv("DATABUILD_TEST_PG");
	const char *auth = strstr(base, "://");
	const char *path = auth ? auth + 3 + strcspn(auth + 3, "/?") : base + strlen(base);
	const char *query = strchr(path, '?');

	return xstrfmt("%.*s/%s%s", (int)(path - base), base, db, query ? query : "");
}

/*
 * Runs sql on conninfo with psql (the tests do not link libpq: only the
 * PostgreSQL module does), failing the case if it fails.
 */
static void pg_exec(const char *conninfo, const char *sql)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
		       "-c", sql, (char *)NULL);
		fprintf(stderr, "psql: %s\n", strerror(errno));
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "psql -c '%s' failed", sql);
}

/* Runs sql on the server's default database. */
static void pg_admin(const char *sql)
{
	pg_exec(getenv("DATABUILD_TEST_PG"), sql);
}

/* A fresh database per case, dropped afterwards. */
static void setup_pg(void)
{
	static int seq;
	char *sql;

	pg_dbname = xstrfmt("databuild_test_%ld_%d", (long)getpid(), seq++);
	sql = xstrfmt("CREATE DATABASE %s", pg_dbname);
	pg_admin(sql);
	free(sql);
	location = pg_url(pg_dbname);
	setup();
}

static void teardown_pg(void)
{
	char *sql = xstrfmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbname);

	teardown();
	pg_admin(sql);
	free(sql);
	free(pg_dbname);
	free(location);
	pg_dbname = location = NULL;
}
#endif

#define OK(expr) ck_assert_msg((expr) >= 0, "%s failed: %s", #expr, err.buf)

static char *db_path(void)
{
	return xstrfmt("%s/catalog.db", tmpdir);
}

static void split(struct strvec *out, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		strvec_push_nodup(out, xstrndup(p, n));
		p = end ? end + 1 : NULL;
	}
}

/* Called by produce() between beginning the run and publishing it, if set. */
static void (*produce_hook)(void);

/* Runs job producing outs (comma list) from ins (comma list), publishes; returns run id. */
static char *produce(const char *job, const char *outs, const char *ins)
{
	struct run_record run;
	struct manifest m;
	struct strvec o = STRVEC_INIT, in = STRVEC_INIT;
	char *id;

	split(&o, outs);
	split(&in, ins);
	run_record_init(&run);
	run.job = xstrdup(job);
	run.config_json = xstrdup("{\"outputs\":[]}");
	run.host = xstrdup("testhost");
	run.pid = 4242;
	strvec_copy(&run.outputs, &o);
	OK(catalog_begin_run(&cat, &run, &err));
	manifest_init(&m);
	m.run_id = xstrdup(run.run_id);
	m.job = xstrdup(job);
	m.version = xstrdup("1.2.3");
	sha256_hex(job, strlen(job), m.build_key);
	m.start_time_us = run.start_us;
	m.end_time_us = run.start_us + 1500;
	m.log_path = xstrfmt("%s/logs/%s.log", tmpdir, run.run_id);
	m.host = xstrdup("testhost");
	for (size_t i = 0; i < o.nr; i++) {
		struct manifest_output *mo = manifest_add_output(&m, o.v[i]);
		char *seed = xstrfmt("%s@%s", o.v[i], run.run_id);

		sha256_hex(seed, strlen(seed), mo->sha256);
		mo->size = (int64_t)(10 + i);
		strvec_push(&m.config.outputs, o.v[i]);
		free(seed);
	}
	for (size_t i = 0; i < in.nr; i++) {
		struct manifest_input *mi = manifest_add_input(&m, in.v[i]);
		struct partition p;

		OK(catalog_get_partition(&cat, in.v[i], &p, &err));
		memcpy(mi->sha256, p.sha256, sizeof(mi->sha256));
		mi->run_id = p.published_run ? xstrdup(p.published_run) : NULL;
		job_config_add_input(&m.config, DEP_MATERIALIZE, in.v[i]);
		partition_release(&p);
	}
	strvec_push(&m.config.args, "--date");
	strvec_push(&m.config.env, "TZ=UTC");
	if (produce_hook)
		produce_hook();
	OK(catalog_publish(&cat, &m, &err));
	id = xstrdup(run.run_id);
	manifest_release(&m);
	run_record_release(&run);
	strvec_clear(&o);
	strvec_clear(&in);
	return id;
}

static enum part_status status_of(const char *ref)
{
	struct partition p;
	enum part_status st;

	OK(catalog_get_partition(&cat, ref, &p, &err));
	st = p.status;
	partition_release(&p);
	return st;
}

static void assert_status(const char *ref, enum part_status want)
{
	enum part_status got = status_of(ref);

	ck_assert_msg(got == want, "'%s' is %s, expected %s", ref, part_status_name(got),
		      part_status_name(want));
}

static int sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* ---- open and schema ------------------------------------------------- */

START_TEST(test_open_schema)
{
	char *path = db_path();
	struct catalog again;

	ck_assert_int_eq(sql_int(path, "PRAGMA user_version"), CATALOG_SQLITE_VERSION);
	ck_assert_int_eq(sql_int(path, "PRAGMA application_id"), CATALOG_SQLITE_APPLICATION_ID);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('partitions','datasets','runs','manifests','manifest_inputs',"
				 "'builds','events')"), 7);
	ck_assert_str_eq(cat.location, path);
	ck_assert_str_eq(cat.ops->name, "sqlite");
	/* A second handle (another thread or process) opens the same file. */
	OK(catalog_open(&again, &store, NULL, &err));
	catalog_close(&again);
	free(path);
}
END_TEST

START_TEST(test_open_locations)
{
	struct catalog other;
	char *loc = xstrfmt("sqlite:%s/other.db", tmpdir);

	OK(catalog_open(&other, &store, loc, &err));
	ck_assert_str_eq(other.location, loc + 7);
	catalog_close(&other);
	ck_assert_int_eq(access(loc + 7, F_OK), 0);
	/* nothing listens on port 1; the password never shows in messages */
	ck_assert_int_eq(catalog_open(&other, &store, "postgresql://u:secret@127.0.0.1:1/x",
				      &err), -1);
	ck_assert_msg(strstr(err.buf, "catalog 'postgresql://u:***@127.0.0.1:1/x': "), "%s",
		      err.buf);
	ck_assert_msg(!strstr(err.buf, "secret"), "%s", err.buf);
	strbuf_reset(&err);
	ck_assert_int_eq(catalog_open(&other, &store,
				      "postgres://127.0.0.1:1/x?user=u&password=secret", &err), -1);
	ck_assert_msg(strstr(err.buf, "password=***'"), "%s", err.buf);
	ck_assert_msg(!strstr(err.buf, "secret"), "%s", err.buf);
	strbuf_reset(&err);
	ck_assert_int_eq(catalog_open(&other, &store, "ftp://x", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "unknown scheme 'ftp'"));
	free(loc);
}
END_TEST

/*
 * A postgresql:// catalog whose module cannot be found fails naming the
 * catalog (password masked), the module's path and the loader's reason.
 */
START_TEST(test_module_missing)
{
	struct catalog other;
	char *dir = xstrfmt("%s/no-modules", tmpdir);
	char *want = xstrfmt("catalog 'postgresql://u:***@127.0.0.1:1/x': cannot load the backend "
			     "module '%s/databuild-postgres.so': ", dir);
	int rc;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	setenv("DATABUILD_MODULE_DIR", dir, 1);
	rc = catalog_open(&other, &store, "postgresql://u:secret@127.0.0.1:1/x", &err);
	unsetenv("DATABUILD_MODULE_DIR");
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(strstr(err.buf, want), "%s", err.buf);
	ck_assert_msg(strstr(err.buf, "No such file or directory"), "%s", err.buf);
	ck_assert_msg(!strstr(err.buf, "secret"), "%s", err.buf);
	free(want);
	free(dir);
}
END_TEST

/* ---- corrupt catalogs ------------------------------------------------ */

enum damage { GARBAGE, TRUNCATED, DIRECTORY, NEWER, FOREIGN, WRONG_APP };

static const struct corrupt_case {
	const char *name;
	enum damage damage;
	const char *want;
} corrupt_cases[] = {
	{ "garbage", GARBAGE, "file is not a database" },
	{ "truncated", TRUNCATED, "catalog '" },
	{ "directory", DIRECTORY, "unable to open database file" },
	{ "newer schema", NEWER, "schema version 99 is newer than this databuild supports" },
	{ "foreign database", FOREIGN, "an SQLite database but not a databuild catalog" },
	{ "foreign application", WRONG_APP, "an SQLite database but not a databuild catalog" },
};

static void damage_file(const char *path, enum damage d)
{
	sqlite3 *db;
	char *buf;
	int fd;

	switch (d) {
	case GARBAGE:
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		buf = xmalloc(8192);
		for (int i = 0; i < 8192; i++)
			buf[i] = (char)(i * 7 + 13);
		ck_assert_int_eq(write(fd, buf, 8192), 8192);
		free(buf);
		close(fd);
		break;
	case TRUNCATED:
		/* A real catalog with data, cut in the middle of its first page. */
		for (int i = 0; i < 50; i++) {
			char *ref = xstrfmt("t/p=%03d", i);

			free(produce("trunc", ref, NULL));
			free(ref);
		}
		catalog_close(&cat);
		/* the WAL outlives the handle: move its pages into the file first */
		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
					      NULL), 0);
		sqlite3_close(db);
		ck_assert_int_eq(truncate(path, 1000), 0);
		break;
	case DIRECTORY:
		ck_assert_int_eq(mkdir(path, 0700), 0);
		break;
	case NEWER:
		catalog_close(&cat);
		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), 0);
		sqlite3_close(db);
		break;
	case FOREIGN:
	case WRONG_APP:
		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, d == FOREIGN ? "CREATE TABLE t (x)" :
					      "PRAGMA application_id = 7", NULL, NULL, NULL), 0);
		sqlite3_close(db);
		break;
	}
}

START_TEST(test_corrupt)
{
	const struct corrupt_case *tc = &corrupt_cases[_i];
	/* truncated / newer damage the fixture's own catalog (closing it) */
	int own = tc->damage == TRUNCATED || tc->damage == NEWER;
	char *path = own ? db_path() : xstrfmt("%s/bad.db", tmpdir);
	char *loc = xstrfmt("sqlite:%s", path);
	char *prefix = xstrfmt("catalog '%s': ", path);
	struct catalog bad;

	damage_file(path, tc->damage);
	strbuf_reset(&err);
	ck_assert_msg(catalog_open(&bad, &store, loc, &err) == -1, "%s: opened", tc->name);
	ck_assert_msg(!strncmp(err.buf, prefix, strlen(prefix)), "%s: '%s'", tc->name, err.buf);
	ck_assert_msg(strstr(err.buf, tc->want), "%s: '%s'", tc->name, err.buf);
	ck_assert_ptr_null(bad.ops);
	/* the fixture's handle is reopened so teardown has something to close */
	if (!cat.ops)
		OK(catalog_open(&cat, &store, "sqlite::memory:", &err));
	free(path);
	free(loc);
	free(prefix);
}
END_TEST

/* ---- migrations ------------------------------------------------------ */

START_TEST(test_migrate_from_v1)
{
	char *path = xstrfmt("%s/v1.db", tmpdir);
	char *loc = xstrfmt("sqlite:%s", path);
	struct catalog old;
	struct partition p;
	struct manifest m;
	struct strvec down = STRVEC_INIT;
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, catalog_sqlite_migrations[0], NULL, NULL, NULL), 0);
	ck_assert_int_eq(sqlite3_exec(db,
		"PRAGMA user_version = 1;"
		"INSERT INTO runs (id, job, status, start_us, end_us, outputs, prior)"
		" VALUES (7, 'old', 'succeeded', 1000, 2000, '[\"a/x=1\"]', '[]');"
		"INSERT INTO manifests VALUES (7, '{\"run_id\":\"7\",\"job\":\"old\","
		"\"build_key\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"start_time\":1000,\"end_time\":2000,\"outputs\":[{\"ref\":\"a/x=1\","
		"\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111\","
		"\"size\":3}],\"inputs\":[{\"ref\":\"up\",\"dep_type\":\"query\",\"sha256\":\"\","
		"\"run_id\":null}],\"config\":{\"outputs\":[\"a/x=1\"]}}');"
		"INSERT INTO manifest_inputs VALUES (7, 'up', 'query', '', NULL);"
		"INSERT INTO partitions (ref, dataset, name, status, size, job, run_id,"
		" published_run, created_us, updated_us) VALUES"
		" ('a/x=1', 'a', 'x=1', 'live', 3, 'old', 7, 7, 1000, 2000);"
		"INSERT INTO datasets VALUES ('a', '', 'a/');", NULL, NULL, NULL), 0);
	sqlite3_close(db);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = "
				 "'manifest_inputs_by_input'"), 0);

	OK(catalog_open(&old, &store, loc, &err));
	ck_assert_int_eq(sql_int(path, "PRAGMA user_version"), CATALOG_SQLITE_VERSION);
	ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('manifest_inputs_by_input', 'runs_by_job', 'meta')"), 3);
	ck_assert_int_eq(catalog_get_partition(&old, "a/x=1", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_LIVE);
	ck_assert_str_eq(p.run_id, "7");
	ck_assert_ptr_null(p.ident);  /* published before identities: unknown */
	partition_release(&p);
	ck_assert_int_eq(catalog_get_manifest(&old, "7", &m, &err), 1);
	ck_assert_str_eq(m.job, "old");
	manifest_release(&m);
	OK(catalog_lineage(&old, "up", 1, &down, &err));
	ck_assert_int_eq(down.nr, 1);
	ck_assert_str_eq(down.v[0], "a/x=1");
	strvec_clear(&down);
	catalog_close(&old);
	/* idempotent: opening an up-to-date catalog changes nothing */
	OK(catalog_open(&old, &store, loc, &err));
	catalog_close(&old);
	ck_assert_int_eq(sql_int(path, "PRAGMA user_version"), CATALOG_SQLITE_VERSION);
	free(path);
	free(loc);
}
END_TEST

/* ---- partitions ------------------------------------------------------ */

static const struct status_case {
	enum part_status status;
	const char *error;
	const char *event;
} status_cases[] = {
	{ PART_BUILDING, NULL, NULL },
	{ PART_FAILED, "exit status 3", EV_PARTITION_FAILED },
	{ PART_STALE, NULL, EV_PARTITION_STALE },
	{ PART_TAINTED, NULL, EV_PARTITION_TAINTED },
	{ PART_LIVE, NULL, NULL },
};

struct ev_list {
	struct strvec lines;
	struct strvec types;
	int64_t last_seq;
	size_t stop_after;
};

static int collect(const struct event *e, void *arg)
{
	struct ev_list *l = arg;
	struct strbuf line = STRBUF_INIT;

	ck_assert_int_gt(e->seq, l->last_seq);
	l->last_seq = e->seq;
	event_to_jsonl(e, &line);
	strvec_push(&l->lines, line.buf);
	strvec_push(&l->types, e->type);
	strbuf_release(&line);
	return l->stop_after && l->types.nr >= l->stop_after;
}

#define EV_LIST_INIT { STRVEC_INIT, STRVEC_INIT, 0, 0 }

static void ev_list_release(struct ev_list *l)
{
	strvec_clear(&l->lines);
	strvec_clear(&l->types);
}

START_TEST(test_partition_status_roundtrip)
{
	const struct status_case *tc = &status_cases[_i];
	struct ev_list evs = EV_LIST_INIT;
	struct partition p;
	struct strvec kids = STRVEC_INIT;

	ck_assert_int_eq(catalog_get_partition(&cat, "ds/sub/p=1", &p, &err), 0);
	ck_assert_int_eq(p.status, PART_MISSING);
	ck_assert_str_eq(p.ref, "ds/sub/p=1");
	partition_release(&p);

	OK(catalog_set_status(&cat, "ds/sub/p=1", tc->status, tc->error, &err));
	ck_assert_int_eq(catalog_get_partition(&cat, "ds/sub/p=1", &p, &err), 1);
	ck_assert_str_eq(p.ref, "ds/sub/p=1");
	ck_assert_int_eq(p.status, tc->status);
	if (tc->error)
		ck_assert_str_eq(p.error, tc->error);
	else
		ck_assert_ptr_null(p.error);
	ck_assert_int_gt(p.created_us, 0);
	ck_assert_int_ge(p.updated_us, p.created_us);
	ck_assert_int_eq(p.size, -1);
	ck_assert_str_eq(p.sha256, "");
	partition_release(&p);
	OK(catalog_list_children(&cat, "ds", NULL, 0, &kids, &err));
	ck_assert_int_eq(kids.nr, 1);
	ck_assert_str_eq(kids.v[0], "sub/");
	strvec_clear(&kids);

	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.types.nr, tc->event ? 1 : 0);
	if (tc->event)
		ck_assert_str_eq(evs.types.v[0], tc->event);
	ev_list_release(&evs);

	/* missing forgets it, and the datasets left empty */
	OK(catalog_set_status(&cat, "ds/sub/p=1", PART_MISSING, NULL, &err));
	assert_status("ds/sub/p=1", PART_MISSING);
	OK(catalog_list_children(&cat, "", NULL, 0, &kids, &err));
	ck_assert_int_eq(kids.nr, 0);
	strvec_clear(&kids);
}
END_TEST

START_TEST(test_publish_roundtrip)
{
	char *up = produce("upjob", "up/d=1", NULL);
	char *id = produce("daily", "out/d=1,out/d=1/extra", "up/d=1");
	struct partition p;
	struct manifest m;
	struct run_record r;
	struct ev_list evs = EV_LIST_INIT;
	int64_t avg;
	char want[SHA256_HEX_SIZE];
	char *seed = xstrfmt("out/d=1@%s", id);

	ck_assert_int_eq(catalog_get_partition(&cat, "out/d=1", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_LIVE);
	sha256_hex(seed, strlen(seed), want);
	ck_assert_str_eq(p.sha256, want);
	ck_assert_int_eq(p.size, 10);
	sha256_hex("daily", 5, want);
	ck_assert_str_eq(p.build_key, want);
	ck_assert_str_eq(p.version, "1.2.3");
	ck_assert_str_eq(p.job, "daily");
	ck_assert_str_eq(p.run_id, id);
	ck_assert_str_eq(p.published_run, id);
	ck_assert_ptr_null(p.error);
	partition_release(&p);

	ck_assert_int_eq(catalog_get_manifest(&cat, id, &m, &err), 1);
	ck_assert_str_eq(m.run_id, id);
	ck_assert_str_eq(m.job, "daily");
	ck_assert_int_eq(m.outputs_nr, 2);
	ck_assert_str_eq(m.outputs[1].ref, "out/d=1/extra");
	ck_assert_int_eq(m.outputs[1].size, 11);
	ck_assert_int_eq(m.inputs_nr, 1);
	ck_assert_str_eq(m.inputs[0].ref, "up/d=1");
	ck_assert_str_eq(m.inputs[0].run_id, up);
	ck_assert_int_eq(m.end_time_us - m.start_time_us, 1500);
	ck_assert_str_eq(m.config.args.v[0], "--date");
	ck_assert_str_eq(m.config.env.v[0], "TZ=UTC");
	ck_assert_str_eq(m.host, "testhost");
	manifest_release(&m);
	ck_assert_int_eq(catalog_get_manifest(&cat, "999", &m, &err), 0);
	manifest_release(&m);

	ck_assert_int_eq(catalog_get_run(&cat, id, &r, &err), 1);
	ck_assert_int_eq(r.status, RUN_SUCCEEDED);
	ck_assert_str_eq(r.job, "daily");
	ck_assert_str_eq(r.host, "testhost");
	ck_assert_int_eq(r.pid, 4242);
	ck_assert_int_eq(r.end_us - r.start_us, 1500);
	ck_assert_int_eq(r.outputs.nr, 2);
	ck_assert_str_eq(r.config_json, "{\"outputs\":[]}");
	run_record_release(&r);
	ck_assert_int_eq(catalog_get_run(&cat, "12345", &r, &err), 0);
	run_record_release(&r);
	/* a lookup that found nothing leaves the handle usable for the next */
	ck_assert_int_eq(catalog_get_run(&cat, id, &r, &err), 1);
	ck_assert_str_eq(r.run_id, id);
	run_record_release(&r);
	ck_assert_int_eq(catalog_get_manifest(&cat, id, &m, &err), 1);
	manifest_release(&m);

	OK(catalog_last_durations(&cat, "daily", 5, &avg, &err));
	ck_assert_int_eq(avg, 1500);
	OK(catalog_last_durations(&cat, "nosuchjob", 5, &avg, &err));
	ck_assert_int_eq(avg, 0);

	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	/* up: started, published, finished; daily: started, 2x published, finished */
	ck_assert_int_eq(evs.types.nr, 7);
	ck_assert_str_eq(evs.types.v[3], EV_JOB_STARTED);
	ck_assert_str_eq(evs.types.v[4], EV_PARTITION_PUBLISHED);
	ck_assert_str_eq(evs.types.v[5], EV_PARTITION_PUBLISHED);
	ck_assert_str_eq(evs.types.v[6], EV_JOB_FINISHED);
	ev_list_release(&evs);
	free(seed);
	free(up);
	free(id);
}
END_TEST

START_TEST(test_publish_unknown_run)
{
	struct manifest m;

	manifest_init(&m);
	m.run_id = xstrdup("77");
	m.job = xstrdup("j");
	manifest_add_output(&m, "x");
	strvec_push(&m.config.outputs, "x");
	ck_assert_int_eq(catalog_publish(&cat, &m, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot publish run '77': unknown run"));
	assert_status("x", PART_MISSING);
	manifest_release(&m);
}
END_TEST

/*
 * data: the store holds old/p=1's published bytes (else they are gone, as
 * when a dead run had moved its own output over them): an abandoned run
 * restores a partition live only if its bytes still match.
 */
static const struct finish_case {
	enum run_status status;
	const char *event;
	int data;
	enum part_status old;  /* old/p=1 afterwards */
} finish_cases[] = {
	{ RUN_FAILED, EV_JOB_FAILED, 1, PART_FAILED },
	{ RUN_CANCELLED, EV_JOB_CANCELLED, 0, PART_LIVE },
	{ RUN_ABANDONED, EV_JOB_ABANDONED, 1, PART_LIVE },
	{ RUN_ABANDONED, EV_JOB_ABANDONED, 0, PART_STALE },
};

/* Writes the bytes produce() recorded for ref of run (its seed). */
static void write_data(const char *ref, const char *run)
{
	char *path = xstrfmt("%s/data/%s", store.root, ref);
	char *seed = xstrfmt("%s@%s", ref, run);
	int fd;

	ck_assert_int_eq(mkdir_parents(path, 0755), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, seed, strlen(seed)), (ssize_t)strlen(seed));
	close(fd);
	free(path);
	free(seed);
}

START_TEST(test_finish_run)
{
	const struct finish_case *tc = &finish_cases[_i];
	char *first = produce("j", "old/p=1", NULL);
	struct run_record run, got;
	int stale_events = 0;
	struct partition p;
	struct ev_list evs = EV_LIST_INIT;
	struct strvec kids = STRVEC_INIT;
	int64_t build;
	struct strvec refs = STRVEC_INIT;
	char *log, *log_json;

	if (tc->data)
		write_data("old/p=1", first);
	OK(catalog_set_status(&cat, "old/p=2", PART_STALE, NULL, &err));
	strvec_push(&refs, "old/p=1");
	OK(catalog_begin_build(&cat, &refs, "cli", &build, &err));
	run_record_init(&run);
	run.job = xstrdup("j");
	run.build_id = build;
	strvec_push(&run.outputs, "old/p=1");
	strvec_push(&run.outputs, "old/p=2");
	strvec_push(&run.outputs, "new/q=1");
	OK(catalog_begin_run(&cat, &run, &err));
	ck_assert_ptr_nonnull(run.run_id);
	ck_assert_str_ne(run.run_id, first);
	/* no log path given: the store's logs/<run_id>.log is recorded */
	log = xstrfmt("%s/logs/%s.log", store.root, run.run_id);
	ck_assert_ptr_nonnull(run.log_path);
	ck_assert_str_eq(run.log_path, log);
	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_str_eq(evs.types.v[evs.types.nr - 1], EV_JOB_STARTED);
	log_json = xstrfmt("\"log\":\"%s\"", log);
	ck_assert_msg(strstr(evs.lines.v[evs.lines.nr - 1], log_json), "%s",
		      evs.lines.v[evs.lines.nr - 1]);
	ev_list_release(&evs);
	evs.last_seq = 0;
	assert_status("old/p=1", PART_BUILDING);
	assert_status("new/q=1", PART_BUILDING);
	ck_assert_int_eq(catalog_get_partition(&cat, "new/q=1", &p, &err), 1);
	ck_assert_str_eq(p.run_id, run.run_id);
	partition_release(&p);
	OK(catalog_set_run_pid(&cat, run.run_id, 999, &err));

	OK(catalog_finish_run(&cat, run.run_id, tc->status, 3, "boom", &err));
	ck_assert_int_eq(catalog_get_run(&cat, run.run_id, &got, &err), 1);
	ck_assert_int_eq(got.status, tc->status);
	ck_assert_int_eq(got.exit_status, 3);
	ck_assert_int_eq(got.pid, 999);
	ck_assert_str_eq(got.log_path, log);
	ck_assert_int_eq(got.build_id, build);
	ck_assert_str_eq(got.error, "boom");
	ck_assert_int_gt(got.end_us, 0);
	run_record_release(&got);

	ck_assert_int_eq(catalog_get_partition(&cat, "old/p=1", &p, &err), 1);
	if (tc->status == RUN_FAILED) {
		ck_assert_int_eq(p.status, PART_FAILED);
		ck_assert_str_eq(p.error, "boom");
		ck_assert_str_eq(p.run_id, run.run_id);
		assert_status("old/p=2", PART_FAILED);
		assert_status("new/q=1", PART_FAILED);
	} else {
		/* back to what they were: live with its producer, stale, forgotten */
		ck_assert_int_eq(p.status, tc->old);
		ck_assert_str_eq(p.run_id, first);
		if (tc->old == PART_LIVE)
			ck_assert_ptr_null(p.error);
		else
			ck_assert_ptr_nonnull(strstr(p.error, "differs from its manifest"));
		assert_status("old/p=2", PART_STALE);
		assert_status("new/q=1", PART_MISSING);
		OK(catalog_list_children(&cat, "", NULL, 0, &kids, &err));
		ck_assert_int_eq(kids.nr, 1);
		ck_assert_str_eq(kids.v[0], "old/");
		strvec_clear(&kids);
	}
	ck_assert_str_eq(p.published_run, first);
	partition_release(&p);

	/* a finished run cannot finish again */
	ck_assert_int_eq(catalog_finish_run(&cat, run.run_id, RUN_ABANDONED, 0, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "is already"));
	strbuf_reset(&err);

	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_str_eq(evs.types.v[evs.types.nr - 1], tc->event);
	for (size_t i = 0; i < evs.types.nr; i++)
		if (!strcmp(evs.types.v[i], EV_PARTITION_STALE) && strstr(evs.lines.v[i], "old/p=1"))
			stale_events++;
	ck_assert_int_eq(stale_events, tc->old == PART_STALE);
	ev_list_release(&evs);

	/* publishing afterwards clears the failure */
	free(produce("j", "old/p=1", NULL));
	ck_assert_int_eq(catalog_get_partition(&cat, "old/p=1", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_LIVE);
	ck_assert_ptr_null(p.error);
	partition_release(&p);
	run_record_release(&run);
	strvec_clear(&refs);
	free(first);
	free(log);
	free(log_json);
}
END_TEST

/* A run begun over one that never ended: cancelling it must not resurrect the dead run. */
START_TEST(test_begin_over_dead_run)
{
	char *first = produce("j", "p/x=1", NULL);
	struct run_record dead, next;
	struct partition p;

	run_record_init(&dead);
	run_record_init(&next);
	dead.job = xstrdup("j");
	strvec_push(&dead.outputs, "p/x=1");
	strvec_push(&dead.outputs, "p/x=2");
	OK(catalog_begin_run(&cat, &dead, &err));
	next.job = xstrdup("j");
	strvec_copy(&next.outputs, &dead.outputs);
	OK(catalog_begin_run(&cat, &next, &err));
	OK(catalog_finish_run(&cat, next.run_id, RUN_CANCELLED, -15, NULL, &err));
	ck_assert_int_eq(catalog_get_partition(&cat, "p/x=1", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_STALE);
	ck_assert_str_eq(p.run_id, first);
	partition_release(&p);
	assert_status("p/x=2", PART_MISSING);
	/* the dead run no longer holds anything: abandoning it changes nothing */
	OK(catalog_finish_run(&cat, dead.run_id, RUN_ABANDONED, 0, NULL, &err));
	assert_status("p/x=1", PART_STALE);
	run_record_release(&dead);
	run_record_release(&next);
	free(first);
}
END_TEST

START_TEST(test_build_roundtrip)
{
	struct strvec refs = STRVEC_INIT;
	struct build_record b;
	struct ev_list evs = EV_LIST_INIT;
	int64_t id, id2;

	strvec_push(&refs, "a/b=1");
	strvec_push(&refs, "c");
	OK(catalog_begin_build(&cat, &refs, "fs", &id, &err));
	OK(catalog_begin_build(&cat, &refs, "cli", &id2, &err));
	ck_assert_int_gt(id2, id);
	ck_assert_int_eq(catalog_get_build(&cat, id, &b, &err), 1);
	ck_assert_int_eq(b.id, id);
	ck_assert_int_eq(strvec_equal(&b.refs, &refs), 1);
	ck_assert_str_eq(b.requester, "fs");
	ck_assert_str_eq(b.status, "running");
	ck_assert_int_eq(b.end_us, 0);
	build_record_release(&b);
	OK(catalog_finish_build(&cat, id, "succeeded", &err));
	ck_assert_int_eq(catalog_get_build(&cat, id, &b, &err), 1);
	ck_assert_str_eq(b.status, "succeeded");
	ck_assert_int_ge(b.end_us, b.start_us);
	build_record_release(&b);
	ck_assert_int_eq(catalog_get_build(&cat, 9999, &b, &err), 0);
	build_record_release(&b);
	ck_assert_int_eq(catalog_finish_build(&cat, 9999, "failed", &err), -1);

	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.types.nr, 3);
	ck_assert_str_eq(evs.types.v[0], EV_BUILD_REQUESTED);
	ck_assert_str_eq(evs.types.v[2], EV_BUILD_FINISHED);
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], "\"payload\":{\"refs\":[\"a/b=1\",\"c\"],"
				     "\"requester\":\"fs\"}"));
	ev_list_release(&evs);
	strvec_clear(&refs);
}
END_TEST

/* Begins a run of job "b" writing ref; the manifest to publish it with. */
static void batch_manifest(struct manifest *m, const char *ref, const char *input)
{
	struct run_record run;
	struct manifest_output *o;

	run_record_init(&run);
	run.job = xstrdup("b");
	strvec_push(&run.outputs, ref);
	OK(catalog_begin_run(&cat, &run, &err));
	manifest_init(m);
	m->run_id = xstrdup(run.run_id);
	m->job = xstrdup("b");
	m->start_time_us = run.start_us;
	m->end_time_us = run.start_us + 5;
	o = manifest_add_output(m, ref);
	sha256_hex(m->run_id, strlen(m->run_id), o->sha256);
	o->size = 3;
	strvec_push(&m->config.outputs, ref);
	if (input) {
		struct manifest_input *in = manifest_add_input(m, input);

		sha256_hex(input, strlen(input), in->sha256);
		job_config_add_input(&m->config, DEP_MATERIALIZE, input);
	}
	run_record_release(&run);
}

/* Batches publish in order, all or nothing, also with an output twice. */
START_TEST(test_publish_batch)
{
	struct manifest m[5];
	const struct manifest *p[5];
	struct ev_list evs = EV_LIST_INIT;
	struct partition part;
	struct strvec refs = STRVEC_INIT;
	int64_t seq;

	batch_manifest(&m[0], "b/x=1", NULL);
	batch_manifest(&m[1], "b/y/z=2", "b/x=1");
	batch_manifest(&m[2], "b/x=3", NULL);
	batch_manifest(&m[3], "b/x=3", NULL);
	batch_manifest(&m[4], "b/x=4", NULL);
	for (int i = 0; i < 5; i++)
		p[i] = &m[i];
	OK(catalog_last_event_seq(&cat, &seq, &err));
	evs.last_seq = seq;
	OK(catalog_publish_batch(&cat, p, 2, &err));
	OK(catalog_read_events(&cat, seq, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.types.nr, 4);
	ck_assert_str_eq(evs.types.v[0], EV_PARTITION_PUBLISHED);
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], "\"b/x=1\""));
	ck_assert_str_eq(evs.types.v[1], EV_JOB_FINISHED);
	ck_assert_ptr_nonnull(strstr(evs.lines.v[2], "\"b/y/z=2\""));
	ck_assert_str_eq(evs.types.v[3], EV_JOB_FINISHED);
	ev_list_release(&evs);
	assert_status("b/y/z=2", PART_LIVE);
	OK(catalog_lineage(&cat, "b/y/z=2", 0, &refs, &err));
	ck_assert_int_eq(refs.nr, 1);
	ck_assert_str_eq(refs.v[0], "b/x=1");
	strvec_clear(&refs);
	OK(catalog_list_children(&cat, "b/y", NULL, 0, &refs, &err));
	ck_assert_int_eq(refs.nr, 1);
	ck_assert_str_eq(refs.v[0], "z=2");
	strvec_clear(&refs);

	/* one output twice: the later manifest wins */
	OK(catalog_publish_batch(&cat, p + 2, 2, &err));
	ck_assert_int_eq(catalog_get_partition(&cat, "b/x=3", &part, &err), 1);
	ck_assert_str_eq(part.run_id, m[3].run_id);
	partition_release(&part);

	/* an unknown run fails the whole batch */
	free(m[3].run_id);
	m[3].run_id = xstrdup("9999");
	ck_assert_int_eq(catalog_publish_batch(&cat, p + 3, 2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot publish run '9999': unknown run"));
	strbuf_reset(&err);
	assert_status("b/x=4", PART_BUILDING);
	for (int i = 0; i < 5; i++)
		manifest_release(&m[i]);
}
END_TEST

/* ---- events ---------------------------------------------------------- */

static const struct events_case {
	int64_t since;
	size_t limit, stop_after, want;
	int64_t first;
} events_cases[] = {
	{ 0, 0, 0, 1200, 1 },
	{ 0, 10, 0, 10, 1 },
	{ 600, 0, 0, 600, 601 },
	{ 1199, 0, 0, 1, 1200 },
	{ 1200, 0, 0, 0, 0 },
	{ 5, 0, 3, 3, 6 },
	{ 0, 700, 0, 700, 1 },   /* spans pages */
};

START_TEST(test_events)
{
	const struct events_case *tc = &events_cases[_i];
	struct ev_list evs = EV_LIST_INIT;
	int64_t seq;

	for (int i = 1; i <= 1200; i++) {
		struct event e = { 0 };
		char *payload = xstrfmt("{\"i\":%d}", i);

		e.type = (char *)(i % 2 ? EV_JOB_PLANNED : EV_LEASE_WAIT);
		e.ref = i % 3 ? (char *)"r/x" : NULL;
		e.payload = payload;
		e.time_us = i == 1 ? 1700000000123456LL : 0;
		OK(catalog_append_event(&cat, &e, &seq, &err));
		ck_assert_int_eq(seq, i);
		free(payload);
	}
	OK(catalog_last_event_seq(&cat, &seq, &err));
	ck_assert_int_eq(seq, 1200);
	evs.last_seq = tc->since;
	evs.stop_after = tc->stop_after;
	OK(catalog_read_events(&cat, tc->since, tc->limit, collect, &evs, &err));
	ck_assert_int_eq(evs.lines.nr, tc->want);
	if (tc->want) {
		char *start = xstrfmt("{\"seq\":%lld,", (long long)tc->first);

		ck_assert_msg(!strncmp(evs.lines.v[0], start, strlen(start)), "%s", evs.lines.v[0]);
		free(start);
	}
	if (tc->first == 1)
		ck_assert_str_eq(evs.lines.v[0],
				 "{\"seq\":1,\"time_us\":1700000000123456,\"time\":"
				 "\"2023-11-14T22:13:20Z\",\"build_id\":null,\"type\":\"job_planned\","
				 "\"ref\":\"r/x\",\"run_id\":null,\"payload\":{\"i\":1}}\n");
	ev_list_release(&evs);
}
END_TEST

START_TEST(test_event_errors)
{
	struct event e = { 0 };
	int64_t seq;

	OK(catalog_last_event_seq(&cat, &seq, &err));
	ck_assert_int_eq(seq, 0);
	e.type = (char *)"x";
	e.payload = (char *)"[1,2]";
	ck_assert_int_eq(catalog_append_event(&cat, &e, &seq, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "payload of event 'x' is not a JSON object"));
	strbuf_reset(&err);
	e.payload = NULL;
	e.run_id = (char *)"abc";
	ck_assert_int_eq(catalog_append_event(&cat, &e, &seq, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "invalid run id 'abc'"));
	strbuf_reset(&err);
}
END_TEST

/*
 * catalog_append_events: one transaction, in order, all or none; for a
 * few events and for many (PostgreSQL sends more than 64 as one statement
 * over arrays).
 */
START_TEST(test_append_events)
{
	struct event es[3], many[200];
	struct ev_list evs = EV_LIST_INIT;
	int64_t seq;

	memset(es, 0, sizeof(es));
	for (int i = 0; i < 3; i++) {
		es[i].type = (char *)EV_JOB_PLANNED;
		es[i].ref = (char *)"b/x";
		es[i].build_id = 0;
	}
	es[0].payload = (char *)"{\"node\":0}";
	es[1].payload = (char *)"{\"node\":1}";
	es[2].payload = (char *)"[\"not an object\"]";
	ck_assert_int_eq(catalog_append_events(&cat, es, 3, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "is not a JSON object"));
	strbuf_reset(&err);
	OK(catalog_last_event_seq(&cat, &seq, &err));
	ck_assert_int_eq(seq, 0);
	es[2].payload = (char *)"{\"node\":2}";
	OK(catalog_append_events(&cat, es, 3, &err));
	OK(catalog_append_events(&cat, es, 0, &err));
	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.lines.nr, 3);
	for (int i = 0; i < 3; i++) {
		char *want = xstrfmt("\"payload\":{\"node\":%d}", i);

		ck_assert_msg(strstr(evs.lines.v[i], want), "%s", evs.lines.v[i]);
		free(want);
	}
	ev_list_release(&evs);

	memset(many, 0, sizeof(many));
	for (int i = 0; i < 200; i++) {
		many[i].type = (char *)EV_JOB_PLANNED;
		many[i].ref = i % 2 ? (char *)"b/many" : NULL;
		many[i].payload = xstrfmt("{\"node\":%d}", 100 + i);
	}
	free(many[150].payload);
	many[150].payload = xstrdup("[]");
	ck_assert_int_eq(catalog_append_events(&cat, many, 200, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "is not a JSON object"));
	strbuf_reset(&err);
	OK(catalog_last_event_seq(&cat, &seq, &err));
	ck_assert_int_eq(seq, 3);
	free(many[150].payload);
	many[150].payload = xstrfmt("{\"node\":%d}", 250);
	OK(catalog_append_events(&cat, many, 200, &err));
	OK(catalog_read_events(&cat, 3, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.lines.nr, 200);
	for (int i = 0; i < 200; i++) {
		char *want = xstrfmt("\"payload\":{\"node\":%d}", i == 150 ? 250 : 100 + i);

		ck_assert_msg(strstr(evs.lines.v[i], want), "event %d: %s", i, evs.lines.v[i]);
		ck_assert_msg(!strstr(evs.lines.v[i], "b/many") == !(i % 2), "event %d: %s", i,
			      evs.lines.v[i]);
		free(want);
		free(many[i].payload);
	}
	ev_list_release(&evs);
}
END_TEST

/* catalog_get_partitions: the rows of catalog_get_partition, by position. */
START_TEST(test_get_partitions)
{
	const char *refs[] = { "gp/a", "gp/none", "gp/b", "gp/a", "gp/also-none" };
	struct partition got[5], one;
	size_t n = sizeof(refs) / sizeof(refs[0]);

	OK(catalog_set_status(&cat, "gp/a", PART_STALE, NULL, &err));
	OK(catalog_set_status(&cat, "gp/b", PART_FAILED, "it broke", &err));
	OK(catalog_get_partitions(&cat, refs, n, got, &err));
	for (size_t i = 0; i < n; i++) {
		int found = catalog_get_partition(&cat, refs[i], &one, &err);

		ck_assert_int_ge(found, 0);
		ck_assert_str_eq(got[i].ref, refs[i]);
		ck_assert_int_eq(got[i].status, one.status);
		ck_assert_int_eq(got[i].status, found ? got[i].status : PART_MISSING);
		ck_assert_msg(!got[i].error == !one.error, "error of %s", refs[i]);
		if (one.error)
			ck_assert_str_eq(got[i].error, one.error);
		ck_assert_int_eq(got[i].updated_us, one.updated_us);
		partition_release(&one);
	}
	ck_assert_int_eq(got[0].status, PART_STALE);
	ck_assert_int_eq(got[2].status, PART_FAILED);
	ck_assert_int_eq(got[3].status, PART_STALE);
	ck_assert_int_eq(got[1].status, PART_MISSING);
	for (size_t i = 0; i < n; i++)
		partition_release(&got[i]);
	OK(catalog_get_partitions(&cat, refs, 0, got, &err));
}
END_TEST

/* ---- taint and lineage ----------------------------------------------- */

static void diamond(void)
{
	free(produce("ja", "a", NULL));
	free(produce("jb", "b", "a"));
	free(produce("jc", "c", "a"));
	free(produce("jd", "d", "b,c"));
	free(produce("je", "e", NULL));
	free(produce("jf", "f", "e"));
}

START_TEST(test_taint_diamond)
{
	struct strvec refs = STRVEC_INIT, changed = STRVEC_INIT;
	struct ev_list evs = EV_LIST_INIT;

	diamond();
	strvec_push(&refs, "a");
	OK(catalog_taint(&cat, &refs, 1, 0, &changed, &err));
	assert_status("a", PART_TAINTED);
	assert_status("b", PART_STALE);
	assert_status("c", PART_STALE);
	assert_status("d", PART_STALE);
	assert_status("e", PART_LIVE);
	assert_status("f", PART_LIVE);
	ck_assert_int_eq(changed.nr, 4);
	ck_assert_str_eq(changed.v[0], "a");
	ck_assert_str_eq(changed.v[1], "b");
	ck_assert_str_eq(changed.v[2], "c");
	ck_assert_str_eq(changed.v[3], "d");
	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_str_eq(evs.types.v[evs.types.nr - 4], EV_PARTITION_TAINTED);
	ck_assert_str_eq(evs.types.v[evs.types.nr - 1], EV_PARTITION_STALE);
	ev_list_release(&evs);
	strvec_clear(&changed);

	/* tainting again changes nothing */
	OK(catalog_taint(&cat, &refs, 1, 0, &changed, &err));
	ck_assert_int_eq(changed.nr, 0);
	strvec_clear(&refs);
}
END_TEST

START_TEST(test_taint_single_and_unknown)
{
	struct strvec refs = STRVEC_INIT, changed = STRVEC_INIT;

	diamond();
	strvec_push(&refs, "b");
	OK(catalog_taint(&cat, &refs, 0, 0, &changed, &err));
	assert_status("b", PART_TAINTED);
	assert_status("d", PART_LIVE);
	ck_assert_int_eq(changed.nr, 1);
	strvec_clear(&changed);
	strvec_clear(&refs);

	/* an unknown ref fails the whole call: nothing changes */
	strvec_push(&refs, "e");
	strvec_push(&refs, "nope/x=1");
	ck_assert_int_eq(catalog_taint(&cat, &refs, 1, 0, &changed, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "'nope/x=1' is not in the catalog"));
	assert_status("e", PART_LIVE);
	assert_status("f", PART_LIVE);
	strvec_clear(&changed);
	strvec_clear(&refs);
}
END_TEST

static const struct lineage_case {
	const char *ref;
	int downstream;
	const char *want;
} lineage_cases[] = {
	{ "d", 0, "b,c,a" },
	{ "a", 1, "b,c,d" },
	{ "b", 1, "d" },
	{ "b", 0, "a" },
	{ "a", 0, "" },
	{ "d", 1, "" },
	{ "f", 0, "e" },
	{ "unknown", 1, "" },
};

START_TEST(test_lineage)
{
	const struct lineage_case *tc = &lineage_cases[_i];
	struct strvec got = STRVEC_INIT, want = STRVEC_INIT;

	diamond();
	split(&want, tc->want);
	OK(catalog_lineage(&cat, tc->ref, tc->downstream, &got, &err));
	ck_assert_int_eq(got.nr, want.nr);
	for (size_t i = 0; i < got.nr; i++)
		ck_assert_str_eq(got.v[i], want.v[i]);
	strvec_clear(&got);
	strvec_clear(&want);
}
END_TEST

/* ---- listing --------------------------------------------------------- */

#define BULK 10500

/* BULK partitions "big/k=%05d", plus neighbours that must not match "big/". */
static void fill_bulk(void)
{
	struct manifest *ms = xcalloc(BULK + 3, sizeof(*ms));
	const struct manifest **ptrs = xcalloc(BULK + 3, sizeof(*ptrs));
	static const char *const extra[] = { "big", "big0/x", "bif/x" };

	for (size_t i = 0; i < BULK + 3; i++) {
		struct run_record run;
		struct manifest_output *o;
		char *ref = i < BULK ? xstrfmt("big/k=%05zu", i) : xstrdup(extra[i - BULK]);

		run_record_init(&run);
		run.job = xstrdup("bulk");
		strvec_push(&run.outputs, ref);
		OK(catalog_begin_run(&cat, &run, &err));
		manifest_init(&ms[i]);
		ms[i].run_id = xstrdup(run.run_id);
		ms[i].job = xstrdup("bulk");
		ms[i].start_time_us = run.start_us;
		ms[i].end_time_us = run.start_us + 1;
		o = manifest_add_output(&ms[i], ref);
		sha256_hex(ref, strlen(ref), o->sha256);
		o->size = (int64_t)i;
		strvec_push(&ms[i].config.outputs, ref);
		ptrs[i] = &ms[i];
		run_record_release(&run);
		free(ref);
	}
	OK(catalog_publish_batch(&cat, ptrs, BULK + 3, &err));
	for (size_t i = 0; i < BULK + 3; i++)
		manifest_release(&ms[i]);
	free(ms);
	free(ptrs);
	/* a few non-live ones among them */
	OK(catalog_set_status(&cat, "big/k=00100", PART_FAILED, "x", &err));
	OK(catalog_set_status(&cat, "big/k=05000", PART_TAINTED, NULL, &err));
	OK(catalog_set_status(&cat, "big/k=10499", PART_STALE, NULL, &err));
}

static const struct page_case {
	const char *prefix;
	size_t page;
	unsigned mask;
	size_t want;
} page_cases[] = {
	{ "big/", 1000, 0, BULK },
	{ "big/", 7, 0, BULK },
	{ "big/", 4096, 0, BULK },
	{ "big/", 0, 0, BULK },
	{ "big/k=000", 3, 0, 100 },
	{ "big", 999, 0, BULK + 2 },
	{ "", 1000, 0, BULK + 3 },
	{ "big/", 1000, 1u << PART_LIVE, BULK - 3 },
	{ "big/", 2, (1u << PART_FAILED) | (1u << PART_STALE) | (1u << PART_TAINTED), 3 },
	{ "nothing/", 10, 0, 0 },
};

START_TEST(test_list_paging)
{
	const struct page_case *tc = &page_cases[_i];
	char *after = NULL;
	size_t total = 0, pages = 0;

	fill_bulk();
	for (;;) {
		struct partition_list l = PARTITION_LIST_INIT;

		OK(catalog_list_partitions(&cat, tc->prefix, after, tc->page, tc->mask, &l, &err));
		if (tc->page)
			ck_assert_uint_le(l.nr, tc->page);
		for (size_t i = 0; i < l.nr; i++) {
			ck_assert_msg(!strncmp(l.items[i].ref, tc->prefix, strlen(tc->prefix)),
				      "'%s' lacks prefix '%s'", l.items[i].ref, tc->prefix);
			if (after)
				ck_assert_msg(strcmp(after, l.items[i].ref) < 0, "'%s' after '%s'",
					      l.items[i].ref, after);
			if (tc->mask)
				ck_assert(tc->mask & (1u << l.items[i].status));
			free(after);
			after = xstrdup(l.items[i].ref);
		}
		size_t got = l.nr;

		total += got;
		pages++;
		partition_list_release(&l);
		if (!tc->page || got < tc->page)
			break;
		ck_assert_uint_lt(pages, BULK + 10);
	}
	ck_assert_uint_eq(total, tc->want);
	free(after);
}
END_TEST

START_TEST(test_list_children)
{
	static const char *const refs[] = {
		"a", "a/b", "a/b/c=1", "a/b/c=2", "a/d=1", "a-b/x", "z/y/x/w=1", "top",
	};
	static const struct {
		const char *dir, *after;
		size_t limit;
		const char *want;
	} cases[] = {
		{ "", NULL, 0, "a,a-b/,a/,top,z/" },
		{ "", "a", 2, "a-b/,a/" },
		{ "", "a/", 0, "top,z/" },
		{ "a", NULL, 0, "b,b/,d=1" },
		{ "a/b", NULL, 0, "c=1,c=2" },
		{ "z", NULL, 0, "y/" },
		{ "z/y/x", NULL, 0, "w=1" },
		{ "none", NULL, 0, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(refs); i++)
		OK(catalog_set_status(&cat, refs[i], PART_STALE, NULL, &err));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strvec got = STRVEC_INIT, want = STRVEC_INIT;
		struct strbuf joined = STRBUF_INIT;

		split(&want, cases[i].want);
		OK(catalog_list_children(&cat, cases[i].dir, cases[i].after, cases[i].limit,
					 &got, &err));
		for (size_t k = 0; k < got.nr; k++)
			strbuf_addf(&joined, "%s%s", k ? "," : "", got.v[k]);
		ck_assert_msg(strvec_equal(&got, &want), "children of '%s': got '%s', want '%s'",
			      cases[i].dir, joined.buf, cases[i].want);
		strbuf_release(&joined);
		strvec_clear(&got);
		strvec_clear(&want);
	}
	/* forgetting the only partition under z/ removes z/ */
	OK(catalog_set_status(&cat, "z/y/x/w=1", PART_MISSING, NULL, &err));
	{
		struct strvec got = STRVEC_INIT;

		OK(catalog_list_children(&cat, "", NULL, 0, &got, &err));
		ck_assert_int_eq(strvec_find(&got, "z/"), -1);
		ck_assert_int_ge(strvec_find(&got, "a/"), 0);
		strvec_clear(&got);
	}
}
END_TEST

/* ---- concurrency ----------------------------------------------------- */

START_TEST(test_concurrent_writers)
{
	pid_t kids[3];
	struct partition_list l = PARTITION_LIST_INIT;
	struct strmap runs = STRMAP_INIT;

	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (!kids[k]) {
			struct catalog mine;
			struct strbuf e = STRBUF_INIT;

			/* never touch the parent's connection in the child: a fresh one */
			if (catalog_open(&mine, &store, location, &e) < 0)
				_exit(10);
			cat = mine;
			for (int i = 0; i < 60; i++) {
				char *ref = xstrfmt("w%d/i=%02d", k, i);

				free(produce("w", ref, NULL));
				free(ref);
			}
			catalog_close(&cat);
			_exit(0);
		}
	}
	for (int k = 0; k < 3; k++) {
		int st;

		ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", k);
	}
	OK(catalog_list_partitions(&cat, "", NULL, 0, 1u << PART_LIVE, &l, &err));
	ck_assert_int_eq(l.nr, 180);
	for (size_t i = 0; i < l.nr; i++) {
		ck_assert(!strmap_contains(&runs, l.items[i].run_id));
		strmap_put(&runs, l.items[i].run_id, NULL);
	}
	strmap_clear(&runs);
	partition_list_release(&l);
}
END_TEST

/* ---- leases ---------------------------------------------------------- */

START_TEST(test_lease_in_process)
{
	struct lease *a = NULL, *b = NULL, *c2 = NULL;
	struct strbuf path = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];

	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &a, &err), 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &b, &err), 0);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=2", 0, &c2, &err), 1);
	if (!location) {
		sha256_hex("x/y=1", 5, hex);
		flock_lease_path(store.root, "x/y=1", &path);
		ck_assert_ptr_nonnull(strstr(path.buf, "/locks/"));
		ck_assert_ptr_nonnull(strstr(path.buf, hex));
		ck_assert_int_eq(access(path.buf, F_OK), 0);
	}
	catalog_lease_release(&cat, a);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &b, &err), 1);
	catalog_lease_release(&cat, b);
	catalog_lease_release(&cat, c2);
	strbuf_release(&path);
}
END_TEST

struct waiter {
	struct catalog *c;
	int got;
	struct lease *l;
};

static void *wait_lease(void *arg)
{
	struct waiter *w = arg;
	struct strbuf e = STRBUF_INIT;

	w->got = catalog_lease_acquire(w->c, "t/x=1", 1, &w->l, &e);
	strbuf_release(&e);
	return NULL;
}

START_TEST(test_lease_thread_waits)
{
	struct lease *held = NULL;
	struct waiter w = { &cat, -2, NULL };
	pthread_t th;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "t/x=1", 0, &held, &err), 1);
	ck_assert_int_eq(pthread_create(&th, NULL, wait_lease, &w), 0);
	catalog_lease_release(&cat, held);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.got, 1);
	ck_assert_ptr_nonnull(w.l);
	catalog_lease_release(&cat, w.l);
}
END_TEST

/* A child that takes the lease of ref, reports on `ready`, then waits for `go` (or forever). */
static pid_t lease_holder(const char *ref, int *ready_fd, int *go_fd)
{
	int ready[2], go[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct catalog mine;
		struct lease *l;
		struct strbuf e = STRBUF_INIT;
		char ch = 'x';

		/* its own handle: a process never shares the parent's connection */
		if (catalog_open(&mine, &store, location, &e) < 0)
			_exit(2);
		if (catalog_lease_acquire(&mine, ref, 0, &l, &e) != 1)
			_exit(3);
		if (write(ready[1], &ch, 1) != 1)
			_exit(4);
		if (read(go[0], &ch, 1) < 0)
			_exit(5);
		_exit(0);  /* exiting releases the lease */
	}
	close(ready[1]);
	close(go[0]);
	*ready_fd = ready[0];
	*go_fd = go[1];
	return pid;
}

START_TEST(test_lease_two_processes)
{
	int ready, go, st;
	struct lease *l = NULL;
	char ch;
	pid_t pid = lease_holder("two/p=1", &ready, &go);

	ck_assert_int_eq(read(ready, &ch, 1), 1);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=1", 0, &l, &err), 0);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=2", 0, &l, &err), 1);
	catalog_lease_release(&cat, l);
	ck_assert_int_eq(write(go, "g", 1), 1);
	alarm(30);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=1", 1, &l, &err), 1);
	alarm(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	catalog_lease_release(&cat, l);
	close(ready);
	close(go);
}
END_TEST

START_TEST(test_lease_holder_killed)
{
	int ready, go, st;
	struct lease *l = NULL;
	char ch;
	pid_t pid = lease_holder("kill/p=1", &ready, &go);

	ck_assert_int_eq(read(ready, &ch, 1), 1);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "kill/p=1", 0, &l, &err), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	alarm(30);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "kill/p=1", 1, &l, &err), 1);
	alarm(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	catalog_lease_release(&cat, l);
	close(ready);
	close(go);
}
END_TEST

START_TEST(test_lease_not_inherited)
{
	struct lease *l = NULL;
	struct strbuf path = STRBUF_INIT;
	int fd, flags;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "cloexec", 0, &l, &err), 1);
	flock_lease_path(store.root, "cloexec", &path);
	/* every descriptor on the lock file is close-on-exec */
	for (fd = 3; fd < 1024; fd++) {
		char link[64], target[4096];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path.buf))
			continue;
		flags = fcntl(fd, F_GETFD);
		ck_assert(flags & FD_CLOEXEC);
		break;
	}
	ck_assert_int_lt(fd, 1024);
	catalog_lease_release(&cat, l);
	strbuf_release(&path);
}
END_TEST

/* ---- change notification ------------------------------------------- */

START_TEST(test_watch)
{
	struct catalog other;
	int fd = -2, n;

	n = catalog_watch(&cat, &fd, &err);
	OK(n);
	ck_assert_int_eq(n, 0);
	if (!location) {
		/* SQLite cannot notify: callers re-check on a timer */
		ck_assert_int_eq(fd, -1);
		return;
	}
	ck_assert_int_ge(fd, 0);
	OK(catalog_open(&other, &store, location, &err));
	OK(catalog_set_status(&other, "w/p=1", PART_STALE, NULL, &err));
	catalog_close(&other);
	for (int i = 0; i < 100; i++) {  /* up to 10 s */
		struct pollfd pfd = { fd, POLLIN, 0 };

		OK(n = catalog_watch(&cat, &fd, &err));
		if (n)
			break;
		pfd.fd = fd;
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
	}
	ck_assert_int_gt(n, 0);
	/* consumed: nothing is pending any more */
	ck_assert_int_eq(catalog_watch(&cat, &fd, &err), 0);
}
END_TEST

/* Waits up to 10 s for notifications on cat; their count, released refs pushed to out. */
static int watch_until(struct strvec *out)
{
	int fd = -1, n = 0;

	for (int i = 0; i < 100 && !n; i++) {
		struct pollfd pfd = { -1, POLLIN, 0 };

		OK(n = catalog_watch_leases(&cat, &fd, out, &err));
		pfd.fd = fd;
		if (!n)
			ck_assert_int_ge(poll(&pfd, 1, 100), 0);
	}
	return n;
}

/*
 * Lease waiters learn which lease was released, and only that: another
 * handle's commit does not wake them (every notification wakes every
 * listener), its release names the ref (so a builder re-tries only the
 * waiters on that ref). Notifications arrive in the order they were sent,
 * so a commit heard would come before the release.
 */
START_TEST(test_watch_leases)
{
	struct strvec released = STRVEC_INIT;
	struct catalog other;
	struct lease *l = NULL;
	int fd = -2, heard = 0;

	OK(catalog_watch_leases(&cat, &fd, &released, &err));
	if (!location) {
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(released.nr, 0);
		return;
	}
	OK(catalog_open(&other, &store, location, &err));
	OK(catalog_set_status(&other, "wl/p=1", PART_STALE, NULL, &err));
	ck_assert_int_eq(catalog_lease_acquire(&other, "wl/p=2", 0, &l, &err), 1);
	catalog_lease_release(&other, l);
	for (int i = 0; i < 3 && strvec_find(&released, "wl/p=2") < 0; i++)
		heard += watch_until(&released);
	ck_assert_msg(strvec_find(&released, "wl/p=2") >= 0, "the release of 'wl/p=2' was not named");
	ck_assert_msg(heard == 1 && released.nr == 1,
		      "a lease watcher heard %d notifications (%zu named, the first '%s'), "
		      "want only the release", heard, released.nr, released.v[0]);
	catalog_close(&other);
	strvec_clear(&released);
}
END_TEST

/* The catalog's sockets (PostgreSQL connections) are close-on-exec. */
START_TEST(test_sockets_not_inherited)
{
	struct lease *l = NULL;
	int fd, sockets = 0;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "cloexec", 0, &l, &err), 1);
	OK(catalog_watch(&cat, &fd, &err));
	for (fd = 3; fd < 1024; fd++) {
		char link[64], target[256];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:", 7))
			continue;
		sockets++;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "descriptor %d (%s) is inherited",
			      fd, target);
	}
	if (location)
		ck_assert_int_ge(sockets, 2);  /* the handle's and its lease connection */
	catalog_lease_release(&cat, l);
}
END_TEST

/* ---- versions -------------------------------------------------------- */

/* 2024-01-07T12:00:00.123456Z */
#define T_VER INT64_C(1704628800123456)

static const struct name_case {
	const char *name;
	int64_t us;      /* the time, if ok */
	int ok;
} name_cases[] = {
	{ "2024-01-07T12:00:00.123456Z", T_VER, 1 },
	{ "1970-01-01T00:00:00.000000Z", 0, 1 },
	{ "2000-02-29T00:00:00.000001Z", INT64_C(951782400000001), 1 },
	{ "2024-02-30T00:00:00.000000Z", 0, 0 },
	{ "2023-02-29T00:00:00.000000Z", 0, 0 },
	{ "2024-01-07T24:00:00.000000Z", 0, 0 },
	{ "2024-01-07T12:00:00Z", 0, 0 },
	{ "2024-01-07T12:00:00.123456", 0, 0 },
	{ "2024-01-07 12:00:00.123456Z", 0, 0 },
	{ "2024-01-07T12:00:00.12345xZ", 0, 0 },
	{ "", 0, 0 },
};

START_TEST(test_version_names)
{
	const struct name_case *tc = &name_cases[_i];
	struct strbuf name = STRBUF_INIT;
	int64_t us = -1;

	ck_assert_int_eq(catalog_parse_version_name(tc->name, &us), tc->ok ? 0 : -1);
	if (tc->ok) {
		ck_assert_int_eq(us, tc->us);
		catalog_format_version_name(tc->us, &name);
		ck_assert_str_eq(name.buf, tc->name);
	}
	strbuf_release(&name);
}
END_TEST

static void versions_of(const char *ref, struct version_list *l)
{
	OK(catalog_list_versions(&cat, ref, l, &err));
}

/* The events appended after seq, into evs. */
static void events_after(int64_t seq, struct ev_list *evs)
{
	evs->last_seq = seq;
	OK(catalog_read_events(&cat, seq, 0, collect, evs, &err));
}

static int64_t last_seq(void)
{
	int64_t seq;

	OK(catalog_last_event_seq(&cat, &seq, &err));
	return seq;
}

/* Two publishes of a ref: two versions, oldest first, the second current. */
START_TEST(test_versions_publish)
{
	char *r1 = produce("vj", "v/d=1", NULL), *r2 = produce("vj", "v/d=1", NULL);
	struct version_list l = VERSION_LIST_INIT;
	struct strbuf n1 = STRBUF_INIT, n2 = STRBUF_INIT;
	struct partition p;
	cJSON *j;
	char *text;

	versions_of("v/d=1", &l);
	ck_assert_int_eq(l.nr, 2);
	ck_assert_str_eq(l.items[0].run_id, r1);
	ck_assert_str_eq(l.items[1].run_id, r2);
	ck_assert_int_eq(l.items[0].current, 0);
	ck_assert_int_eq(l.items[1].current, 1);
	ck_assert_int_lt(l.items[0].time_us, l.items[1].time_us);
	OK(catalog_get_partition(&cat, "v/d=1", &p, &err));
	ck_assert_str_eq(l.items[1].sha256, p.sha256);
	ck_assert_str_eq(l.items[1].build_key, p.build_key);
	ck_assert_int_eq(l.items[1].size, p.size);
	ck_assert_int_eq(l.items[1].time_us, p.updated_us);
	ck_assert_str_eq(l.items[1].job, "vj");
	ck_assert_str_eq(l.items[1].version, "1.2.3");
	ck_assert_str_eq(l.items[1].ref, "v/d=1");
	ck_assert_str_ne(l.items[0].sha256, l.items[1].sha256);
	partition_release(&p);
	/* names sort in publish order */
	catalog_format_version_name(l.items[0].time_us, &n1);
	catalog_format_version_name(l.items[1].time_us, &n2);
	ck_assert_int_lt(strcmp(n1.buf, n2.buf), 0);
	j = version_to_json(&l.items[1]);
	text = cJSON_PrintUnformatted(j);
	ck_assert_ptr_nonnull(strstr(text, "\"current\":true"));
	ck_assert_ptr_nonnull(strstr(text, n2.buf));
	ck_assert_ptr_nonnull(strstr(text, "\"job\":\"vj\""));
	free(text);
	cJSON_Delete(j);
	version_list_release(&l);
	versions_of("v/none", &l);
	ck_assert_int_eq(l.nr, 0);
	strbuf_release(&n1);
	strbuf_release(&n2);
	free(r1);
	free(r2);
}
END_TEST

enum same_us_mode {
	SAME_SINGLE,   /* one catalog_publish per round */
	SAME_ROUNDS,   /* one batch of two refs per round (PostgreSQL: over arrays) */
	SAME_ONE,      /* every round in one batch (one ref several times) */
};

static const struct same_us_case {
	enum same_us_mode mode;
	int64_t ends[3];   /* the publish times asked for */
	int64_t want[3];   /* the versions' times */
} same_us_cases[] = {
	{ SAME_SINGLE, { T_VER, T_VER, T_VER }, { T_VER, T_VER + 1, T_VER + 2 } },
	{ SAME_SINGLE, { T_VER, T_VER - 10, T_VER + 5 }, { T_VER, T_VER + 1, T_VER + 5 } },
	{ SAME_ROUNDS, { T_VER, T_VER, T_VER }, { T_VER, T_VER + 1, T_VER + 2 } },
	{ SAME_ONE, { T_VER, T_VER, T_VER }, { T_VER, T_VER + 1, T_VER + 2 } },
};

/* Publishes at one µs get distinct times (and names), in publish order. */
START_TEST(test_versions_same_us)
{
	const struct same_us_case *tc = &same_us_cases[_i];
	static const char *const refs[] = { "s/x", "s/y" };
	size_t nrefs = tc->mode == SAME_ROUNDS ? 2 : 1;
	struct manifest m[3][2];
	const struct manifest *all[6];
	size_t n = 0;

	for (int r = 0; r < 3; r++)
		for (size_t k = 0; k < nrefs; k++) {
			batch_manifest(&m[r][k], refs[k], NULL);
			m[r][k].end_time_us = tc->ends[r];
			all[n++] = &m[r][k];
		}
	if (tc->mode == SAME_ONE)
		OK(catalog_publish_batch(&cat, all, n, &err));
	for (int r = 0; tc->mode != SAME_ONE && r < 3; r++)
		OK(catalog_publish_batch(&cat, all + r * nrefs, nrefs, &err));
	for (size_t k = 0; k < nrefs; k++) {
		struct version_list l = VERSION_LIST_INIT;

		versions_of(refs[k], &l);
		ck_assert_int_eq(l.nr, 3);
		for (int r = 0; r < 3; r++) {
			ck_assert_int_eq(l.items[r].time_us, tc->want[r]);
			ck_assert_str_eq(l.items[r].run_id, m[r][k].run_id);
			ck_assert_int_eq(l.items[r].current, r == 2);
		}
		version_list_release(&l);
	}
	for (int r = 0; r < 3; r++)
		for (size_t k = 0; k < nrefs; k++)
			manifest_release(&m[r][k]);
}
END_TEST

/* Pages through every version by (ref, time), under a prefix. */
START_TEST(test_versions_page)
{
	static const char *const want[] = { "p/a", "p/a", "p/b", "p/c", "p/c", "p/c" };
	struct version_list l = VERSION_LIST_INIT;
	const char *after = NULL;
	int64_t after_us = 0;
	size_t seen = 0;

	free(produce("j", "p/c", NULL));
	free(produce("j", "p/a", NULL));
	free(produce("j", "q/z", NULL));
	free(produce("j", "p/c", NULL));
	free(produce("j", "p/b", NULL));
	free(produce("j", "p/a", NULL));
	free(produce("j", "p/c", NULL));
	for (;;) {
		size_t from = l.nr;

		OK(catalog_page_versions(&cat, "p/", after, after_us, 4, &l, &err));
		if (l.nr == from)
			break;
		after = l.items[l.nr - 1].ref;
		after_us = l.items[l.nr - 1].time_us;
	}
	ck_assert_int_eq(l.nr, ARRAY_SIZE(want));
	for (size_t i = 0; i < l.nr; i++) {
		ck_assert_str_eq(l.items[i].ref, want[i]);
		if (i && !strcmp(l.items[i - 1].ref, l.items[i].ref))
			ck_assert_int_lt(l.items[i - 1].time_us, l.items[i].time_us);
		seen += l.items[i].current;
	}
	ck_assert_int_eq(seen, 3);
	version_list_release(&l);
	OK(catalog_page_versions(&cat, "", NULL, 0, 0, &l, &err));
	ck_assert_int_eq(l.nr, 7);
	ck_assert_str_eq(l.items[6].ref, "q/z");
	version_list_release(&l);
}
END_TEST

/* find_version: the newest version under a build key. */
START_TEST(test_versions_find)
{
	char *a1 = produce("ja", "f/x", NULL), *b = produce("jb", "f/x", NULL);
	char *a2 = produce("ja", "f/x", NULL);
	static const struct { const char *job; int found; int which; } cases[] = {
		{ "ja", 1, 2 }, { "jb", 1, 1 }, { "jc", 0, 0 },
	};
	const char *runs[] = { a1, b, a2 };
	struct version v;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char key[SHA256_HEX_SIZE];

		sha256_hex(cases[i].job, strlen(cases[i].job), key);
		ck_assert_int_eq(catalog_find_version(&cat, "f/x", key, &v, &err), cases[i].found);
		if (cases[i].found) {
			ck_assert_str_eq(v.run_id, runs[cases[i].which]);
			ck_assert_str_eq(v.build_key, key);
			ck_assert_str_eq(v.ref, "f/x");
		}
		version_release(&v);
	}
	ck_assert_int_eq(catalog_find_version(&cat, "f/other", "", &v, &err), 0);
	version_release(&v);
	free(a1);
	free(a2);
	free(b);
}
END_TEST

/* get_version by name and by run id. */
START_TEST(test_versions_get)
{
	char *r1 = produce("g", "g/x", NULL), *r2 = produce("g", "g/x", NULL);
	struct version_list l = VERSION_LIST_INIT;
	struct strbuf n1 = STRBUF_INIT, n2 = STRBUF_INIT;
	struct version v;

	versions_of("g/x", &l);
	catalog_format_version_name(l.items[0].time_us, &n1);
	catalog_format_version_name(l.items[1].time_us, &n2);
	{
		const struct { const char *which; const char *run; } cases[] = {
			{ n1.buf, r1 }, { r1, r1 }, { n2.buf, r2 }, { r2, r2 },
			{ "nonsense", NULL }, { "99999", NULL }, { "0", NULL },
			{ "2024-01-07T12:00:00.123456Z", NULL },
		};

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			int rc = catalog_get_version(&cat, "g/x", cases[i].which, &v, &err);

			ck_assert_msg(rc == (cases[i].run ? 1 : 0), "%s: %d", cases[i].which, rc);
			if (cases[i].run) {
				ck_assert_str_eq(v.run_id, cases[i].run);
				ck_assert_int_eq(v.current, cases[i].run == r2);
			}
			version_release(&v);
		}
	}
	ck_assert_int_eq(catalog_get_version(&cat, "g/other", r1, &v, &err), 0);
	version_release(&v);
	version_list_release(&l);
	strbuf_release(&n1);
	strbuf_release(&n2);
	free(r1);
	free(r2);
}
END_TEST

/* Begins a run writing ref and leaves it running; its id. */
static char *begin_only(const char *ref)
{
	struct run_record run;
	char *id;

	run_record_init(&run);
	run.job = xstrdup("busy");
	strvec_push(&run.outputs, ref);
	OK(catalog_begin_run(&cat, &run, &err));
	id = xstrdup(run.run_id);
	run_record_release(&run);
	return id;
}

static const struct restore_case {
	const char *event;
	int removed;   /* the partition was removed first */
} restore_cases[] = {
	{ EV_PARTITION_ROLLED_BACK, 0 },
	{ EV_PARTITION_RESTORED, 0 },
	{ EV_PARTITION_ROLLED_BACK, 1 },
};

/* restore_versions makes an older version current again. */
START_TEST(test_versions_restore)
{
	const struct restore_case *tc = &restore_cases[_i];
	char *r1 = produce("rj", "r/d=1", NULL), *r2 = produce("rj", "r/d=1", NULL), *busy;
	struct version_list l = VERSION_LIST_INIT;
	struct ev_list evs = EV_LIST_INIT;
	struct strbuf name = STRBUF_INIT;
	const char *idents[] = { "1:2:3:4:5" };
	struct strvec refs = STRVEC_INIT;
	struct partition p;
	int64_t seq;

	if (tc->removed) {
		strvec_push(&refs, "r/d=1");
		OK(catalog_remove_partitions(&cat, &refs, &err));
		assert_status("r/d=1", PART_MISSING);
	}
	versions_of("r/d=1", &l);
	ck_assert_int_eq(l.nr, 2);
	ck_assert_int_eq(l.items[1].current, !tc->removed);
	seq = last_seq();
	OK(catalog_restore_versions(&cat, &l.items[0], idents, 1, tc->event, 0, &err));
	ck_assert_int_eq(catalog_get_partition(&cat, "r/d=1", &p, &err), 1);
	ck_assert_int_eq(p.status, PART_LIVE);
	ck_assert_str_eq(p.sha256, l.items[0].sha256);
	ck_assert_str_eq(p.build_key, l.items[0].build_key);
	ck_assert_int_eq(p.size, l.items[0].size);
	ck_assert_str_eq(p.version, "1.2.3");
	ck_assert_str_eq(p.job, "rj");
	ck_assert_str_eq(p.run_id, r1);
	ck_assert_str_eq(p.published_run, r1);
	ck_assert_str_eq(p.ident, idents[0]);
	ck_assert_ptr_null(p.error);
	partition_release(&p);
	events_after(seq, &evs);
	ck_assert_int_eq(evs.types.nr, 1);
	ck_assert_str_eq(evs.types.v[0], tc->event);
	catalog_format_version_name(l.items[0].time_us, &name);
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], name.buf));
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], l.items[0].sha256));
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], "\"ref\":\"r/d=1\""));
	ev_list_release(&evs);
	version_list_release(&l);
	/* a version of its own, newest, with the first's run and bytes: current */
	versions_of("r/d=1", &l);
	ck_assert_int_eq(l.nr, 3);
	ck_assert_int_eq(l.items[0].current, 0);
	ck_assert_int_eq(l.items[1].current, 0);
	ck_assert_int_eq(l.items[2].current, 1);
	ck_assert_str_eq(l.items[2].run_id, r1);
	ck_assert_str_eq(l.items[2].sha256, l.items[0].sha256);
	ck_assert_int_gt(l.items[2].time_us, l.items[1].time_us);
	if (tc->removed) {
		strvec_clear(&refs);
		OK(catalog_list_children(&cat, "r", NULL, 0, &refs, &err));
		ck_assert_int_eq(refs.nr, 1);
		ck_assert_str_eq(refs.v[0], "d=1");
	}

	/* a partition being built is refused, naming the run; nothing changes */
	busy = begin_only("r/d=1");
	seq = last_seq();
	ck_assert_int_eq(catalog_restore_versions(&cat, &l.items[1], NULL, 1, tc->event, 0,
						  &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, cat.location));
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot restore 'r/d=1': run "));
	ck_assert_ptr_nonnull(strstr(err.buf, busy));
	strbuf_reset(&err);
	assert_status("r/d=1", PART_BUILDING);
	ck_assert_int_eq(last_seq(), seq);
	version_list_release(&l);
	strvec_clear(&refs);
	strbuf_release(&name);
	free(busy);
	free(r1);
	free(r2);
}
END_TEST

/* remove_partitions forgets rows, keeps versions, refuses what is built. */
START_TEST(test_versions_remove)
{
	char *r1 = produce("mj", "m/d=1", NULL), *r2 = produce("mj", "m/d=2", NULL), *busy;
	struct version_list l = VERSION_LIST_INIT;
	struct ev_list evs = EV_LIST_INIT;
	struct strvec refs = STRVEC_INIT;
	int64_t seq = last_seq();

	strvec_push(&refs, "m/d=1");
	OK(catalog_remove_partitions(&cat, &refs, &err));
	assert_status("m/d=1", PART_MISSING);
	assert_status("m/d=2", PART_LIVE);
	versions_of("m/d=1", &l);
	ck_assert_int_eq(l.nr, 1);
	ck_assert_int_eq(l.items[0].current, 0);
	ck_assert_str_eq(l.items[0].run_id, r1);
	version_list_release(&l);
	events_after(seq, &evs);
	ck_assert_int_eq(evs.types.nr, 1);
	ck_assert_str_eq(evs.types.v[0], EV_PARTITION_REMOVED);
	ck_assert_ptr_nonnull(strstr(evs.lines.v[0], "\"ref\":\"m/d=1\""));
	ev_list_release(&evs);

	/* unknown, or being built: an error naming it; nothing changes */
	seq = last_seq();
	ck_assert_int_eq(catalog_remove_partitions(&cat, &refs, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot remove 'm/d=1': not in the catalog"));
	ck_assert_ptr_nonnull(strstr(err.buf, cat.location));
	strbuf_reset(&err);
	busy = begin_only("m/d=3");
	seq = last_seq();
	strvec_clear(&refs);
	strvec_push(&refs, "m/d=2");
	strvec_push(&refs, "m/d=3");
	ck_assert_int_eq(catalog_remove_partitions(&cat, &refs, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "cannot remove 'm/d=3': run "));
	ck_assert_ptr_nonnull(strstr(err.buf, busy));
	strbuf_reset(&err);
	assert_status("m/d=2", PART_LIVE);
	assert_status("m/d=3", PART_BUILDING);
	ck_assert_int_eq(last_seq(), seq);
	strvec_clear(&refs);
	free(busy);
	free(r1);
	free(r2);
}
END_TEST

/* delete_versions skips the current one; references follow the rows. */
START_TEST(test_versions_delete)
{
	char *r1 = produce("dj", "d/x", NULL), *r2 = produce("dj", "d/x", NULL), *busy;
	struct version_list l = VERSION_LIST_INIT;
	char other[SHA256_HEX_SIZE], sha1[SHA256_HEX_SIZE], sha2[SHA256_HEX_SIZE];
	size_t deleted = 99;

	versions_of("d/x", &l);
	ck_assert_int_eq(l.nr, 2);
	memcpy(sha1, l.items[0].sha256, sizeof(sha1));
	memcpy(sha2, l.items[1].sha256, sizeof(sha2));
	sha256_hex("other", 5, other);
	ck_assert_int_eq(catalog_hash_referenced(&cat, sha1, &err), 1);
	ck_assert_int_eq(catalog_hash_referenced(&cat, sha2, &err), 1);
	ck_assert_int_eq(catalog_hash_referenced(&cat, other, &err), 0);
	ck_assert_int_eq(catalog_run_referenced(&cat, r1, &err), 1);
	ck_assert_int_eq(catalog_run_referenced(&cat, r2, &err), 1);
	ck_assert_int_eq(catalog_run_referenced(&cat, "99999", &err), 0);
	ck_assert_int_eq(catalog_run_referenced(&cat, "nonsense", &err), 0);

	OK(catalog_delete_versions(&cat, l.items, l.nr, &deleted, &err));
	ck_assert_int_eq(deleted, 1);
	version_list_release(&l);
	versions_of("d/x", &l);
	ck_assert_int_eq(l.nr, 1);
	ck_assert_str_eq(l.items[0].run_id, r2);
	ck_assert_int_eq(l.items[0].current, 1);
	/* again: nothing left to delete but the current one */
	OK(catalog_delete_versions(&cat, l.items, l.nr, &deleted, &err));
	ck_assert_int_eq(deleted, 0);
	OK(catalog_delete_versions(&cat, l.items, l.nr, NULL, &err));
	version_list_release(&l);
	ck_assert_int_eq(catalog_hash_referenced(&cat, sha1, &err), 0);
	ck_assert_int_eq(catalog_hash_referenced(&cat, sha2, &err), 1);
	ck_assert_int_eq(catalog_run_referenced(&cat, r1, &err), 0);
	ck_assert_int_eq(catalog_run_referenced(&cat, r2, &err), 1);
	/* a running run is referenced; so is a partition row's hash alone */
	busy = begin_only("d/y");
	ck_assert_int_eq(catalog_run_referenced(&cat, busy, &err), 1);
	free(busy);
	free(r1);
	free(r2);
}
END_TEST

/* Takes the catalog back to the schema before versions (closed meanwhile). */
static void drop_versions(void)
{
	catalog_close(&cat);
	if (!location) {
		char *path = db_path();
		sqlite3 *db;

		ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE versions; PRAGMA user_version = 3",
					      NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		ck_assert_int_eq(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE"
					 " 'versions%'"), 0);
		free(path);
	}
#ifdef DATABUILD_WITH_POSTGRES
	else {
		char *sql = xstrfmt("DROP TABLE versions; UPDATE databuild_schema SET version = %d",
				    CATALOG_PG_VERSION - 1);

		pg_exec(location, sql);
		free(sql);
	}
#endif
}

/* Opening a catalog from before versions fills them from published partitions. */
START_TEST(test_versions_migrate)
{
	char *r1 = produce("mg", "mg/a", NULL), *r2 = produce("mg", "mg/a", NULL);
	char *r3 = produce("mg", "mg/b", NULL), *busy;
	struct version_list l = VERSION_LIST_INIT;
	struct partition p;

	OK(catalog_set_status(&cat, "mg/failed", PART_FAILED, "boom", &err));
	busy = begin_only("mg/new");
	drop_versions();
	OK(catalog_open(&cat, &store, location, &err));
	if (!location)
		ck_assert_int_eq(sql_int(cat.location, "PRAGMA user_version"),
				 CATALOG_SQLITE_VERSION);
	OK(catalog_page_versions(&cat, "", NULL, 0, 0, &l, &err));
	ck_assert_int_eq(l.nr, 2);
	ck_assert_str_eq(l.items[0].ref, "mg/a");
	ck_assert_str_eq(l.items[0].run_id, r2);
	ck_assert_str_eq(l.items[1].ref, "mg/b");
	ck_assert_str_eq(l.items[1].run_id, r3);
	for (size_t i = 0; i < l.nr; i++) {
		OK(catalog_get_partition(&cat, l.items[i].ref, &p, &err));
		ck_assert_int_eq(l.items[i].current, 1);
		ck_assert_int_eq(l.items[i].time_us, p.updated_us);
		ck_assert_str_eq(l.items[i].sha256, p.sha256);
		ck_assert_str_eq(l.items[i].build_key, p.build_key);
		ck_assert_int_eq(l.items[i].size, p.size);
		ck_assert_str_eq(l.items[i].job, "mg");
		ck_assert_str_eq(l.items[i].version, "1.2.3");
		partition_release(&p);
	}
	version_list_release(&l);
	/* and publishing goes on from there */
	free(produce("mg", "mg/a", NULL));
	versions_of("mg/a", &l);
	ck_assert_int_eq(l.nr, 2);
	ck_assert_int_eq(l.items[1].current, 1);
	version_list_release(&l);
	free(busy);
	free(r1);
	free(r2);
	free(r3);
}
END_TEST

/* ---- schema (PostgreSQL) --------------------------------------------- */

#ifdef DATABUILD_WITH_POSTGRES
/*
 * A write transaction's statements go out behind its BEGIN and are
 * collected with its COMMIT (catalog/postgres.c, tx_commit): one that the
 * server rejects there fails the call, naming what was wrong, and leaves
 * nothing behind; the handle works on. The server rejects a run of job
 * "rejected" here (a CHECK constraint the test adds), in begin_run's
 * batch, after its reads.
 */
START_TEST(test_pg_deferred_error)
{
	char *url = pg_url(pg_dbname);
	struct run_record bad, good;
	struct partition p;

	pg_exec(url, "ALTER TABLE runs ADD CONSTRAINT test_no_rejected CHECK (job <> 'rejected')");
	run_record_init(&bad);
	run_record_init(&good);
	bad.job = xstrdup("rejected");
	strvec_push(&bad.outputs, "d/x=1");
	ck_assert_int_eq(catalog_begin_run(&cat, &bad, &err), -1);
	ck_assert_msg(strstr(err.buf, "test_no_rejected"), "%s", err.buf);
	/* rolled back: the partition was not marked building by the failed run */
	ck_assert_int_eq(catalog_get_partition(&cat, "d/x=1", &p, &err), 0);
	partition_release(&p);
	strbuf_reset(&err);
	good.job = xstrdup("accepted");
	strvec_push(&good.outputs, "d/x=1");
	OK(catalog_begin_run(&cat, &good, &err));
	assert_status("d/x=1", PART_BUILDING);
	OK(catalog_finish_run(&cat, good.run_id, RUN_FAILED, 1, "no", &err));
	run_record_release(&bad);
	run_record_release(&good);
	free(url);
}
END_TEST

/* The first line psql prints for sql on conninfo (unaligned, tuples only); the caller frees it. */
static char *pg_value(const char *conninfo, const char *sql)
{
	char *cmd = xstrfmt("psql -X -q -A -t -v ON_ERROR_STOP=1 -d '%s' -c \"%s\"", conninfo, sql);
	char line[256] = "";
	FILE *f = popen(cmd, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_int_eq(pclose(f), 0);
	line[strcspn(line, "\n")] = '\0';
	free(cmd);
	return xstrdup(line);
}

/* partitions' scan counters: seq_scan + idx_scan in *scans, rows read by seq scans. */
static long long pg_part_scans(const char *conninfo, long long *scans)
{
	char *v = pg_value(conninfo, "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0),"
			   " coalesce(seq_tup_read, 0) FROM pg_stat_user_tables"
			   " WHERE relname = 'partitions'");
	long long rows = 0;

	ck_assert_int_eq(sscanf(v, "%lld|%lld", scans, &rows), 2);
	free(v);
	return rows;
}

/*
 * Lookups of many refs at once keep using the index after the table grew:
 * a plan chosen while the catalog was empty (a scan, the cheapest then)
 * is not kept for the statement (catalog/postgres.c, planned_each_call).
 * Autovacuum is off for the table, so no analyze replans it behind the
 * test's back; the server's statistics say how many rows were scanned.
 */
START_TEST(test_pg_lookup_plan)
{
	static const char *const refs[] = { "g/p=17", "g/p=missing" };
	char *url = pg_url(pg_dbname);
	struct partition rows[2];
	long long scans0, scans, read0, read = 0;

	pg_exec(url, "ALTER TABLE partitions SET (autovacuum_enabled = false)");
	for (int k = 0; k < 8; k++) {  /* past the five calls after which a plan is cached */
		OK(catalog_get_partitions(&cat, refs, 2, rows, &err));
		ck_assert_int_eq(rows[0].status, PART_MISSING);
		partition_release(&rows[0]);
		partition_release(&rows[1]);
	}
	pg_exec(url, "INSERT INTO partitions (ref, dataset, name, status, created_us, updated_us)"
		" SELECT 'g/p=' || i, 'g', 'p=' || i, 'live', 1, 1 FROM generate_series(1, 20000) i");
	read0 = pg_part_scans(url, &scans0);
	for (int k = 0; k < 3; k++) {
		OK(catalog_get_partitions(&cat, refs, 2, rows, &err));
		ck_assert_int_eq(rows[0].status, PART_LIVE);
		ck_assert_int_eq(rows[1].status, PART_MISSING);
		partition_release(&rows[0]);
		partition_release(&rows[1]);
	}
	/* a server process reports its counters within about ten seconds of going idle */
	for (int t = 0; t < 300; t++) {
		read = pg_part_scans(url, &scans);
		if (scans >= scans0 + 3)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(scans >= scans0 + 3, "the lookups' scans were never reported");
	ck_assert_msg(read - read0 < 1000, "3 lookups of 2 refs read %lld rows of 20,000 by scanning",
		      read - read0);
	free(url);
}
END_TEST

START_TEST(test_pg_schema)
{
	struct catalog again;
	char *db = xstrfmt("%s_fresh", pg_dbname), *sql, *url = pg_url(db);
	pid_t kids[4];

	ck_assert_str_eq(cat.ops->name, "postgresql");
	ck_assert_str_eq(cat.location, location);
	OK(catalog_open(&again, &store, location, &err));
	catalog_close(&again);

	/* first opens of an empty database at once: one creates the schema */
	sql = xstrfmt("CREATE DATABASE %s", db);
	pg_admin(sql);
	free(sql);
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (!kids[k]) {
			struct catalog mine;
			struct strbuf e = STRBUF_INIT;

			if (catalog_open(&mine, &store, url, &e) < 0) {
				fprintf(stderr, "%s\n", e.buf);
				_exit(10);
			}
			catalog_close(&mine);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int st;

		ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "opener %d failed", k);
	}
	/* a database with other tables is not taken over */
	pg_exec(url, "DROP TABLE databuild_schema");
	ck_assert_int_eq(catalog_open(&again, &store, url, &err), -1);
	ck_assert_msg(strstr(err.buf, "not a databuild catalog"), "%s", err.buf);
	strbuf_reset(&err);
	sql = xstrfmt("DROP DATABASE %s WITH (FORCE)", db);
	pg_admin(sql);
	free(sql);

	/* a newer schema is refused, naming the catalog */
	pg_exec(location, "UPDATE databuild_schema SET version = 99");
	ck_assert_int_eq(catalog_open(&again, &store, location, &err), -1);
	ck_assert_msg(strstr(err.buf, "schema version 99 is newer"), "%s", err.buf);
	ck_assert_msg(strstr(err.buf, location), "%s", err.buf);
	strbuf_reset(&err);
	free(url);
	free(db);
}
END_TEST
#endif

/* ---- reconnecting (PostgreSQL) ---------------------------------------- */

/* Restarts the server with $DATABUILD_TEST_PG_CTL. */
static void restart_server(void)
{
	int st = system(getenv("DATABUILD_TEST_PG_CTL"));

	ck_assert_msg(st == 0, "'%s' failed (%d)", getenv("DATABUILD_TEST_PG_CTL"), st);
}

static int count_type(const struct ev_list *l, const char *type)
{
	int n = 0;

	for (size_t i = 0; i < l->types.nr; i++)
		n += !strcmp(l->types.v[i], type);
	return n;
}

/*
 * The server restarts under an open handle (before a begin, between a
 * begin and its publish, before a read): every call reconnects and
 * succeeds, and nothing is recorded twice.
 */
START_TEST(test_reconnect)
{
	const char *ctl = getenv("DATABUILD_TEST_PG_CTL");
	struct ev_list evs = EV_LIST_INIT;
	struct run_record r;
	struct catalog other;
	struct lease *held = NULL, *l = NULL;
	char *first, *second;
	int fd;

	if (!location || !ctl || !*ctl) {
		fprintf(stderr, "reconnect case skipped: DATABUILD_TEST_PG_CTL is not set\n");
		return;
	}
	ck_assert_int_eq(catalog_lease_acquire(&cat, "re/held", 0, &held, &err), 1);
	OK(catalog_watch(&cat, &fd, &err));
	restart_server();
	first = produce("j", "re/p=1", NULL);
	/* the server dropped the lease with the session; reconnecting took it again */
	OK(catalog_open(&other, &store, location, &err));
	ck_assert_int_eq(catalog_lease_acquire(&other, "re/held", 0, &l, &err), 0);
	catalog_close(&other);
	catalog_lease_release(&cat, held);
	produce_hook = restart_server;
	second = produce("j", "re/p=2", "re/p=1");
	produce_hook = NULL;
	restart_server();
	assert_status("re/p=2", PART_LIVE);
	/* notifications may have been lost meanwhile: the watcher is told to re-read */
	ck_assert_int_gt(catalog_watch(&cat, &fd, &err), 0);

	ck_assert_str_eq(first, "1");
	ck_assert_str_eq(second, "2");
	ck_assert_int_eq(catalog_get_run(&cat, second, &r, &err), 1);
	ck_assert_int_eq(r.status, RUN_SUCCEEDED);
	run_record_release(&r);
	ck_assert_int_eq(catalog_get_run(&cat, "3", &r, &err), 0);
	run_record_release(&r);
	OK(catalog_read_events(&cat, 0, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.types.nr, 6);
	ck_assert_int_eq(count_type(&evs, EV_JOB_STARTED), 2);
	ck_assert_int_eq(count_type(&evs, EV_PARTITION_PUBLISHED), 2);
	ck_assert_int_eq(count_type(&evs, EV_JOB_FINISHED), 2);
	ev_list_release(&evs);
	/* a publish retried after the restart recorded its version once */
	{
		struct version_list vl = VERSION_LIST_INIT;

		OK(catalog_page_versions(&cat, "re/", NULL, 0, 0, &vl, &err));
		ck_assert_int_eq(vl.nr, 2);
		ck_assert_str_eq(vl.items[1].run_id, second);
		ck_assert_int_eq(vl.items[1].current, 1);
		version_list_release(&vl);
	}
	free(first);
	free(second);
}
END_TEST

/*
 * The cases of one backend: pg selects PostgreSQL (a database per case),
 * which skips the cases about SQLite files.
 */
static void add_cases(Suite *s, int pg)
{
	void (*set)(void) = setup, (*tear)(void) = teardown;
	TCase *tc;

#ifdef DATABUILD_WITH_POSTGRES
	if (pg) {
		set = setup_pg;
		tear = teardown_pg;
	}
#endif
#define ADD(name) tcase_add_test(tc, name)
#define ADD_LOOP(name, cases) tcase_add_loop_test(tc, name, 0, (int)ARRAY_SIZE(cases))
#define NEW_TCASE(n) do { \
		tc = tcase_create(pg ? n "-pg" : n); \
		tcase_add_checked_fixture(tc, set, tear); \
	} while (0)
	if (!pg) {
		NEW_TCASE("schema");
		ADD(test_open_schema);
		ADD(test_open_locations);
		ADD(test_module_missing);
		ADD_LOOP(test_corrupt, corrupt_cases);
		ADD(test_migrate_from_v1);
		suite_add_tcase(s, tc);
	}

	NEW_TCASE("tables");
	tcase_set_timeout(tc, 60);
	ADD_LOOP(test_partition_status_roundtrip, status_cases);
	ADD(test_publish_roundtrip);
	ADD(test_publish_unknown_run);
	ADD(test_publish_batch);
	ADD_LOOP(test_finish_run, finish_cases);
	ADD(test_begin_over_dead_run);
	ADD(test_build_roundtrip);
	ADD_LOOP(test_events, events_cases);
	ADD(test_event_errors);
	ADD(test_append_events);
	ADD(test_get_partitions);
	suite_add_tcase(s, tc);

	NEW_TCASE("lineage");
	ADD(test_taint_diamond);
	ADD(test_taint_single_and_unknown);
	ADD_LOOP(test_lineage, lineage_cases);
	suite_add_tcase(s, tc);

	NEW_TCASE("listing");
	tcase_set_timeout(tc, 120);
	ADD_LOOP(test_list_paging, page_cases);
	ADD(test_list_children);
	ADD(test_concurrent_writers);
	suite_add_tcase(s, tc);

	NEW_TCASE("versions");
	tcase_set_timeout(tc, 60);
	ADD_LOOP(test_version_names, name_cases);
	ADD(test_versions_publish);
	ADD_LOOP(test_versions_same_us, same_us_cases);
	ADD(test_versions_page);
	ADD(test_versions_find);
	ADD(test_versions_get);
	ADD_LOOP(test_versions_restore, restore_cases);
	ADD(test_versions_remove);
	ADD(test_versions_delete);
	ADD(test_versions_migrate);
	suite_add_tcase(s, tc);

	NEW_TCASE("leases");
	tcase_set_timeout(tc, 60);
	ADD(test_lease_in_process);
	ADD(test_lease_thread_waits);
	ADD(test_lease_two_processes);
	ADD(test_lease_holder_killed);
	if (!pg)
		ADD(test_lease_not_inherited);
	ADD(test_sockets_not_inherited);
	ADD(test_watch);
	ADD(test_watch_leases);
	suite_add_tcase(s, tc);

#ifdef DATABUILD_WITH_POSTGRES
	if (pg) {
		NEW_TCASE("schema");
		tcase_set_timeout(tc, 60);  /* test_pg_lookup_plan waits for the server's statistics */
		ADD(test_pg_schema);
		ADD(test_pg_deferred_error);
		ADD(test_pg_lookup_plan);
		suite_add_tcase(s, tc);
	}
#endif
	if (pg) {
		NEW_TCASE("reconnect");
		tcase_set_timeout(tc, 120);
		ADD(test_reconnect);
		suite_add_tcase(s, tc);
	}
#undef NEW_TCASE
}

static Suite *catalog_suite(void)
{
	Suite *s = suite_create("catalog");

	add_cases(s, 0);
#ifdef DATABUILD_WITH_POSTGRES
	if (getenv("DATABUILD_TEST_PG") && *getenv("DATABUILD_TEST_PG"))
		add_cases(s, 1);
	else
		fprintf(stderr, "PostgreSQL cases skipped: DATABUILD_TEST_PG is not set\n");
#else
	fprintf(stderr, "PostgreSQL cases skipped: the PostgreSQL module is not built\n");
#endif
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(catalog_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
