/* The fixture and helpers the catalog cases share (see fixture.h). */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/array.h"
#include "core/hash.h"
#include "fixture.h"

char *tmpdir;
struct store store;
struct catalog cat;
struct strbuf err = STRBUF_INIT;
char *location;

void setup(void)
{
	char tmpl[] = "/tmp/databuild-catalog.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	tmpdir = xstrdup(tmpl);
	strbuf_reset(&err);
	ck_assert_msg(store_open(&store, tmpdir, &err) == 0, "%s", err.buf);
	ck_assert_msg(catalog_open(&cat, &store, location, &err) == 0, "%s", err.buf);
}

void teardown(void)
{
	catalog_close(&cat);
	store_release(&store);
	remove_tree(tmpdir);
	free(tmpdir);
	strbuf_release(&err);
}

#ifdef DATABUILD_WITH_POSTGRES
char *pg_dbname;

char *pg_url(const char *db)
{
	const char *base = getenv("DATABUILD_TEST_PG");
	const char *auth = strstr(base, "://");
	const char *path = auth ? auth + 3 + strcspn(auth + 3, "/?") : base + strlen(base);
	const char *query = strchr(path, '?');

	return xstrfmt("%.*s/%s%s", (int)(path - base), base, db, query ? query : "");
}

void pg_exec(const char *conninfo, const char *sql)
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

void pg_admin(const char *sql)
{
	pg_exec(getenv("DATABUILD_TEST_PG"), sql);
}

void setup_pg(void)
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

void teardown_pg(void)
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

char *db_path(void)
{
	return xstrfmt("%s/catalog.db", tmpdir);
}

void split(struct strvec *out, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		strvec_push_nodup(out, xstrndup(p, n));
		p = end ? end + 1 : NULL;
	}
}

void (*produce_hook)(void);

char *produce(const char *job, const char *outs, const char *ins)
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

void assert_status(const char *ref, enum part_status want)
{
	enum part_status got = status_of(ref);

	ck_assert_msg(got == want, "'%s' is %s, expected %s", ref, part_status_name(got),
		      part_status_name(want));
}

int sql_int(const char *path, const char *sql)
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

int collect(const struct event *e, void *arg)
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

void ev_list_release(struct ev_list *l)
{
	strvec_clear(&l->lines);
	strvec_clear(&l->types);
}

void batch_manifest(struct manifest *m, const char *ref, const char *input)
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
