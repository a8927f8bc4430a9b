/*
 * The catalog's cases (one executable, with test_catalog_*.c and the
 * fixture in fixture.c): opening, damaged and old catalogs, partitions,
 * runs and events, taint and lineage; main and the tcases of every file.
 */
#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "core/array.h"
#include "core/hash.h"
#include "fixture.h"

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

/*
 * catalog_begin_build_events: the build's build_requested, then its events
 * with the new build's id, in one transaction: all or nothing. One event,
 * two, and many (one statement over arrays on PostgreSQL); bad: which of
 * them has a payload that is not an object (-1: none).
 */
static const struct begin_events_case {
	const char *name;
	size_t n;
	int bad;
} begin_events_cases[] = {
	{ "one", 1, -1 },
	{ "two", 2, -1 },
	{ "many", 200, -1 },
	{ "one bad", 1, 0 },
	{ "last of many bad", 200, 199 },
};

START_TEST(test_begin_build_events)
{
	const struct begin_events_case *tc = &begin_events_cases[_i];
	struct event *es = xcalloc(tc->n + 1, sizeof(*es));
	struct strvec refs = STRVEC_INIT;
	struct ev_list evs = EV_LIST_INIT;
	struct build_record b;
	int64_t id = 0, before, after;
	char *build;

	strvec_push(&refs, "a/b=1");
	for (size_t i = 0; i < tc->n; i++) {
		es[i].type = (char *)EV_JOB_PLANNED;
		es[i].ref = (char *)"a/b=1";
		es[i].build_id = 424242;  /* ignored: the new build's id is set */
		es[i].payload = (int)i == tc->bad ? xstrdup("[]") : xstrfmt("{\"node\":%zu}", i);
	}
	OK(catalog_last_event_seq(&cat, &before, &err));
	if (tc->bad >= 0) {
		ck_assert_int_eq(catalog_begin_build_events(&cat, &refs, "fs", es, tc->n, &id, &err),
				 -1);
		ck_assert_msg(strstr(err.buf, "is not a JSON object"), "%s: %s", tc->name, err.buf);
		OK(catalog_last_event_seq(&cat, &after, &err));
		ck_assert_msg(after == before, "%s: events appended by a failed begin", tc->name);
		ck_assert_int_eq(catalog_get_build(&cat, 1, &b, &err), 0);
		build_record_release(&b);
		goto out;
	}
	OK(catalog_begin_build_events(&cat, &refs, "fs", es, tc->n, &id, &err));
	ck_assert_int_eq(catalog_get_build(&cat, id, &b, &err), 1);
	ck_assert_str_eq(b.requester, "fs");
	build_record_release(&b);
	OK(catalog_read_events(&cat, before, 0, collect, &evs, &err));
	ck_assert_int_eq(evs.types.nr, tc->n + 1);
	ck_assert_str_eq(evs.types.v[0], EV_BUILD_REQUESTED);
	build = xstrfmt("\"build_id\":%lld,", (long long)id);
	for (size_t i = 0; i <= tc->n; i++) {
		char *node = xstrfmt("\"payload\":{\"node\":%zu}", i - 1);

		ck_assert_msg(strstr(evs.lines.v[i], build), "%s: event %zu: %s", tc->name, i,
			      evs.lines.v[i]);
		if (i)
			ck_assert_msg(!strcmp(evs.types.v[i], EV_JOB_PLANNED) &&
				      strstr(evs.lines.v[i], node), "%s: event %zu: %s",
				      tc->name, i, evs.lines.v[i]);
		free(node);
	}
	free(build);
	ev_list_release(&evs);
out:
	for (size_t i = 0; i < tc->n; i++)
		free(es[i].payload);
	free(es);
	strvec_clear(&refs);
}
END_TEST

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
	ADD_LOOP(test_begin_build_events, begin_events_cases);
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
	catalog_listing_cases(tc);
	suite_add_tcase(s, tc);

	NEW_TCASE("versions");
	tcase_set_timeout(tc, 60);
	catalog_versions_cases(tc);
	suite_add_tcase(s, tc);

	NEW_TCASE("leases");
	tcase_set_timeout(tc, 60);
	catalog_leases_cases(tc, pg);
	suite_add_tcase(s, tc);

#ifdef DATABUILD_WITH_POSTGRES
	if (pg) {
		NEW_TCASE("schema");
		tcase_set_timeout(tc, 60);  /* test_pg_lookup_plan waits for the server's statistics */
		catalog_pg_schema_cases(tc);
		suite_add_tcase(s, tc);
	}
#endif
	if (pg) {
		NEW_TCASE("reconnect");
		tcase_set_timeout(tc, 120);
		catalog_reconnect_cases(tc);
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
