/*
 * Source discovery: a source job's partitions are the files that exist
 * under its path pattern (and inside its domains).
 */
#include "../model/testutil.h"
#include "planner/source.h"

static char *dir;
static char *real;

static void setup(void)
{
	dir = tmpdir_make();
	real = realpath(dir, NULL);
	write_file(dir, "jobs/a.sh", "#!/bin/sh\nexit 0\n", 0755);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	free(real);
	dir = NULL;
	real = NULL;
}

static void load(struct graph *g, const char *source, const char *partitions)
{
	char *path = xstrfmt("%s/databuild.json", dir);
	char *text = xstrfmt(
		"{\"name\": \"s\", \"domains\": {\"q1\": {\"dates\": {\"start\": \"2024-01-01\", "
		"\"end\": \"2024-03-31\"}}},\n"
		" \"jobs\": [{\"label\": \"packages\", \"source\": \"%s\",\n"
		"   \"outputs\": [\"src/packages/region={region}/date={date}\"]%s},\n"
		"  {\"label\": \"flat\", \"source\": \"flat/{day}.csv\", \"outputs\": [\"src/flat/{day}\"]},\n"
		"  {\"label\": \"use\", \"outputs\": [\"use/{x}\"], \"configure\": [\"jobs/a.sh\"],"
		"   \"exec\": [\"jobs/a.sh\"]}]}",
		source, partitions);
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(graph_load_text(g, path, text, strlen(text), &err) == 0, "%s", err.buf);
	strbuf_release(&err);
	free(text);
	free(path);
}

static void join(const struct strvec *refs, struct strbuf *out)
{
	for (size_t i = 0; i < refs->nr; i++)
		strbuf_addf(out, "%s%s", i ? "," : "", refs->v[i]);
}

static const struct discover_case {
	const char *source, *partitions;
	const char *want;  /* refs joined by ',' */
} discover_cases[] = {
	{ "drops/{region}/{date}.csv", "",
	  "src/packages/region=eu/date=2024-01-01,src/packages/region=eu/date=2024-01-02,"
	  "src/packages/region=eu/date=2024-05-01,src/packages/region=us/date=2024-01-01,"
	  "src/packages/region=us/date=garbage" },
	{ "drops/{region}/{date}.csv", ", \"partitions\": {\"date\": \"q1\"}",
	  "src/packages/region=eu/date=2024-01-01,src/packages/region=eu/date=2024-01-02,"
	  "src/packages/region=us/date=2024-01-01" },
	{ "drops/{region}/{date}.csv", ", \"partitions\": {\"region\": {\"values\": [\"us\"]}}",
	  "src/packages/region=us/date=2024-01-01,src/packages/region=us/date=garbage" },
	{ "drops/eu-{region}-{date}.csv", "", "src/packages/region=x/date=2024-01-01" },
	{ "drops/{region}/data/{date}.csv", "", "src/packages/region=ap/date=2024-02-02" },
	{ "missing/{region}/{date}.csv", "", "" },
	{ "{region}/{date}.csv", ", \"partitions\": {\"region\": {\"values\": [\"drops\"]}}",
	  "src/packages/region=drops/date=eu-x-2024-01-01,src/packages/region=drops/date=top" },
};

static void make_files(void)
{
	char *sub, *link;

	write_file(dir, "drops/eu/2024-01-01.csv", "a\n", 0644);
	write_file(dir, "drops/eu/2024-01-02.csv", "b\n", 0644);
	write_file(dir, "drops/eu/2024-05-01.csv", "c\n", 0644);
	write_file(dir, "drops/eu/notes.txt", "not a partition\n", 0644);
	write_file(dir, "drops/us/2024-01-01.csv", "d\n", 0644);
	write_file(dir, "drops/us/garbage.csv", "e\n", 0644);
	write_file(dir, "drops/ap/data/2024-02-02.csv", "f\n", 0644);
	write_file(dir, "drops/eu-x-2024-01-01.csv", "g\n", 0644);
	write_file(dir, "drops/top.csv", "h\n", 0644);
	sub = xstrfmt("%s/drops/dir.csv/x", dir);   /* a directory named like a file */
	link = xstrfmt("%s/drops/us/dangling.csv", dir);
	ck_assert_int_eq(mkdir_parents(sub, 0755), 0);
	ck_assert_int_eq(symlink("nowhere.csv", link), 0);
	free(sub);
	free(link);
}

START_TEST(test_discover)
{
	const struct discover_case *c = &discover_cases[_i];
	struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
	struct strvec refs = STRVEC_INIT;
	struct graph g;

	make_files();
	load(&g, c->source, c->partitions);
	ck_assert_msg(source_discover(graph_job(&g, "packages"), &refs, &err) == 0, "%s", err.buf);
	join(&refs, &got);
	ck_assert_str_eq(got.buf, c->want);
	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&got);
}
END_TEST

START_TEST(test_exists)
{
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	const struct job *j;
	struct stat st;

	make_files();
	load(&g, "drops/{region}/{date}.csv", ", \"partitions\": {\"date\": \"q1\"}");
	j = graph_job(&g, "packages");
	ck_assert_int_eq(source_exists(j, "src/packages/region=eu/date=2024-01-02", &st, &err), 1);
	ck_assert_int_eq(st.st_size, 2);
	ck_assert_int_eq(source_exists(j, "src/packages/region=eu/date=2024-01-03", &st, &err), 0);
	/* exists, but outside the job's domain */
	ck_assert_int_eq(source_exists(j, "src/packages/region=eu/date=2024-05-01", &st, &err), 0);
	ck_assert_int_eq(source_exists(j, "src/packages/region=dir/date=x", &st, &err), 0);
	ck_assert_int_eq(source_exists(j, "use/x", NULL, &err), 0);
	ck_assert_str_eq(err.buf, "");
	ck_assert_int_eq(source_exists(graph_job(&g, "flat"), "src/flat/a", NULL, &err), 0);
	graph_release(&g);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_errors)
{
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct strvec refs = STRVEC_INIT;
	struct graph g;
	char *locked = xstrfmt("%s/drops", dir);

	make_files();
	load(&g, "drops/{region}/{date}.csv", "");
	ck_assert_int_eq(source_discover(graph_job(&g, "use"), &refs, &err), -1);
	ck_assert_str_eq(err.buf, "job 'use' is not a source");
	strbuf_reset(&err);
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(locked, 0), 0);
		ck_assert_int_eq(source_discover(graph_job(&g, "packages"), &refs, &err), -1);
		strbuf_addf(&want, "source of job 'packages': cannot read directory '%s/drops': "
			    "Permission denied", real);
		ck_assert_str_eq(err.buf, want.buf);
		ck_assert_int_eq(chmod(locked, 0755), 0);
	}
	ck_assert_int_eq(refs.nr, 0);
	/* the flat source has no files: nothing, not an error */
	ck_assert_int_eq(source_discover(graph_job(&g, "flat"), &refs, &err), 0);
	ck_assert_int_eq(refs.nr, 0);
	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&want);
	free(locked);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("source");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_discover, 0, sizeof(discover_cases) / sizeof(discover_cases[0]));
	tcase_add_test(tc, test_exists);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
