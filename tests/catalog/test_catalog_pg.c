/* The cases only PostgreSQL has: its schema, and reconnecting after the server restarted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/postgres.h"
#include "core/array.h"
#include "fixture.h"

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

void catalog_pg_schema_cases(TCase *tc)
{
	ADD(test_pg_schema);
	ADD(test_pg_deferred_error);
	ADD(test_pg_lookup_plan);
}
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

void catalog_reconnect_cases(TCase *tc)
{
	ADD(test_reconnect);
}
