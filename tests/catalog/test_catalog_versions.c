/* Versions: their names, publishing, paging, lookups, restore, remove, delete, migration. */
#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/postgres.h"
#include "catalog/sqlite.h"
#include "core/array.h"
#include "core/hash.h"
#include "fixture.h"

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

void catalog_versions_cases(TCase *tc)
{
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
}
