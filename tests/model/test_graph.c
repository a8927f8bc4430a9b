#include <limits.h>

#include "model/graph.h"
#include "testutil.h"

static const char base[] =
	"{\n"
	"  \"name\": \"g\",\n"
	"  \"jobs\": [\n"
	"    {\"label\": \"ingest\", \"outputs\": [\"raw/date={date}\"],\n"
	"     \"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],\n"
	"     \"version\": \"1.2.0\", \"comment\": \"unknown members are ignored\"},\n"
	"    {\"label\": \"summary\", \"outputs\": [\"sum/category={c}/date={d}\", \"sum/{c}\"],\n"
	"     \"configure\": [\"sh\", \"jobs/a.sh\"], \"exec\": [\"./jobs/a.sh\"],\n"
	"     \"timeout_s\": 5, \"retries\": 1}\n"
	"  ]\n"
	"}\n";

static char *dir;

static void setup(void)
{
	dir = tmpdir_make();
	write_file(dir, "jobs/a.sh", "#!/bin/sh\nexit 0\n", 0755);
	write_file(dir, "jobs/noexec.sh", "#!/bin/sh\nexit 0\n", 0644);
	write_file(dir, "jobs/dir/file", "", 0644);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	dir = NULL;
}

static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at;
	struct strbuf sb = STRBUF_INIT;

	if (!from)
		return xstrdup(to);
	at = strstr(text, from);
	ck_assert_msg(at != NULL, "case does not apply: %s", from);
	strbuf_add(&sb, text, at - text);
	strbuf_addstr(&sb, to);
	strbuf_addstr(&sb, at + strlen(from));
	return strbuf_detach(&sb, NULL);
}

/*
 * base with `from` replaced by `to` (or the whole text `to` if from is
 * NULL) must fail with "<file>: " + want, where "@" in want stands for the
 * graph directory.
 */
static const struct bad_case {
	const char *from, *to, *want;
} bad_cases[] = {
	{ "\"name\": \"g\",", "\"name\": \"g\"", "line 3, column 3: expected ',' or '}', got '\"'" },
	{ "\"exec\": [\"./jobs/a.sh\"],", "\"exec\": [\"./jobs/a.sh\"]",
	  "line 9, column 6: expected ',' or '}', got '\"'" },
	{ "\n}\n", "\n}\n}", "line 12, column 1: unexpected text after the JSON value" },
	{ NULL, "", "line 1, column 1: expected a JSON value, got end of input" },
	{ NULL, "[]", "(root): expected a graph object {\"name\", \"jobs\"}, got an array" },
	{ "\"name\": \"g\",", "", "name: required member is missing" },
	{ "\"name\": \"g\",", "\"name\": \"\",", "name: expected a non-empty graph name" },
	{ "\"name\": \"g\",", "\"name\": [],", "name: expected a string, got an array" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"name\": \"h\",", "name: duplicate member" },
	{ "\"jobs\": [", "\"jobz\": [", "jobs: required member is missing" },
	{ NULL, "{\"name\": \"g\", \"jobs\": []}", "jobs: expected a non-empty array of jobs, got an empty array" },
	{ NULL, "{\"name\": \"g\", \"jobs\": {}}", "jobs: expected a non-empty array of jobs, got an object" },
	{ NULL, "{\"name\": \"g\", \"jobs\": [1]}", "jobs[0]: expected a job object, got a number" },
	{ "{\"label\": \"ingest\", ", "{", "jobs[0].label: required member is missing" },
	{ "\"label\": \"summary\"", "\"label\": \"sum mary\"",
	  "jobs[1].label: invalid label 'sum mary': use letters, digits, '_', '.' and '-'" },
	{ "\"label\": \"summary\"", "\"label\": \"\"", "jobs[1].label: invalid label ''" },
	{ "\"label\": \"summary\"", "\"label\": \"ingest\"",
	  "jobs[1].label: duplicate label 'ingest' (also jobs[0])" },
	{ "\"outputs\": [\"raw/date={date}\"],", "",
	  "jobs[0].outputs: required member is missing" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": []",
	  "jobs[0].outputs: expected a non-empty array of patterns, got an empty array" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": \"raw/date={date}\"",
	  "jobs[0].outputs: expected a non-empty array of patterns, got a string" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": [null]",
	  "jobs[0].outputs[0]: expected a pattern string, got null" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": [\"raw/{a}{b}\"]",
	  "jobs[0].outputs[0]: invalid pattern 'raw/{a}{b}': adjacent placeholders" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": [\"raw//{d}\"]",
	  "jobs[0].outputs[0]: invalid pattern 'raw//{d}': empty segment at byte 4" },
	{ "\"outputs\": [\"raw/date={date}\"]", "\"outputs\": [\"raw/{date\"]",
	  "jobs[0].outputs[0]: invalid pattern 'raw/{date': unterminated '{'" },
	{ "\"sum/{c}\"", "\"raw/date={day}\"",
	  "jobs[1].outputs[1]: pattern 'raw/date={day}' is also an output of job 'ingest' "
	  "('raw/date={date}'): no ref could be looked up unambiguously" },
	{ "\"sum/{c}\"", "\"sum/category={x}/date={y}\"",
	  "jobs[1].outputs[1]: pattern 'sum/category={x}/date={y}' is listed twice "
	  "(also 'sum/category={c}/date={d}')" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], ", "",
	  "jobs[0].configure: required member is missing" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": []",
	  "jobs[0].configure: expected a non-empty array of strings (an argv), got an empty array" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": \"jobs/a.sh\"",
	  "jobs[0].configure: expected a non-empty array of strings (an argv), got a string" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"jobs/a.sh\", 1]",
	  "jobs[0].configure[1]: expected a string, got a number" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"\"]",
	  "jobs[0].configure[0]: empty program name" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"jobs/missing\"]",
	  "jobs[0].configure[0]: job 'ingest' configure executable '@/jobs/missing' does not exist" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"jobs/noexec.sh\"]",
	  "jobs[0].configure[0]: job 'ingest' configure executable '@/jobs/noexec.sh' is not executable" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"./jobs/dir\"]",
	  "jobs[0].configure[0]: job 'ingest' configure executable '@/jobs/dir' is a directory" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]",
	  "\"configure\": [\"databuild-no-such-program-x\"]",
	  "jobs[0].configure[0]: job 'ingest' configure executable 'databuild-no-such-program-x' "
	  "not found in PATH" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"]", "\"configure\": [\"/nonexistent/x\"]",
	  "jobs[0].configure[0]: job 'ingest' configure executable '/nonexistent/x' does not exist" },
	{ "\"exec\": [\"./jobs/a.sh\"]", "\"exec\": [\"./jobs/gone.sh\"]",
	  "jobs[1].exec[0]: job 'summary' exec executable '@/jobs/gone.sh' does not exist" },
	{ "\"exec\": [\"./jobs/a.sh\"],", "", "jobs[1].exec: required member is missing" },
	{ "\"version\": \"1.2.0\"", "\"version\": \"1.2\"",
	  "jobs[0].version: expected semver MAJOR.MINOR.PATCH, got '1.2'" },
	{ "\"version\": \"1.2.0\"", "\"version\": \"v1.2.0\"",
	  "jobs[0].version: expected semver MAJOR.MINOR.PATCH, got 'v1.2.0'" },
	{ "\"version\": \"1.2.0\"", "\"version\": 1", "jobs[0].version: expected a string, got a number" },
	{ "\"timeout_s\": 5", "\"timeout_s\": -1",
	  "jobs[1].timeout_s: expected an integer from 0 to 2592000, got -1" },
	{ "\"timeout_s\": 5", "\"timeout_s\": 2592001",
	  "jobs[1].timeout_s: expected an integer from 0 to 2592000, got 2592001" },
	{ "\"retries\": 1", "\"retries\": 100000000",
	  "jobs[1].retries: expected an integer from 0 to 100, got 100000000" },
	{ "\"retries\": 1", "\"retries\": -1",
	  "jobs[1].retries: expected an integer from 0 to 100, got -1" },
	{ "\"timeout_s\": 5", "\"timeout_s\": 2.5", "jobs[1].timeout_s: expected an integer, got 2.5" },
	{ "\"retries\": 1", "\"retries\": \"1\"", "jobs[1].retries: expected an integer, got a string" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"lookup\": [],",
	  "lookup: expected a non-empty array of strings (an argv), got an empty array" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"lookup\": [\"bin/lookup\"],",
	  "lookup[0]: lookup executable '@/bin/lookup' does not exist" },
};

static void expand(struct strbuf *out, const char *want)
{
	for (const char *s = want; *s; s++) {
		if (*s == '@')
			strbuf_addstr(out, dir);
		else
			strbuf_addch(out, *s);
	}
}

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	char *text = replaced(base, c->from, c->to);
	char *path = xstrfmt("%s/databuild.json", dir);
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct graph g;

	write_file(dir, "databuild.json", text, 0644);
	ck_assert_int_eq(graph_load(&g, path, &err), -1);
	strbuf_addf(&want, "%s: ", path);
	expand(&want, c->want);
	ck_assert_msg(!strncmp(err.buf, want.buf, want.len), "want prefix\n  %s\ngot\n  %s",
		      want.buf, err.buf);
	ck_assert_ptr_null(g.jobs);
	graph_release(&g);
	strbuf_release(&err);
	strbuf_release(&want);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_unreadable)
{
	char *path = xstrfmt("%s/nope.json", dir);
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct graph g;

	ck_assert_int_eq(graph_load(&g, path, &err), -1);
	strbuf_addf(&want, "cannot read graph file '%s': No such file or directory", path);
	ck_assert_str_eq(err.buf, want.buf);
	strbuf_reset(&err);
	free(path);
	path = xstrfmt("%s/jobs", dir);
	ck_assert_int_eq(graph_load(&g, path, &err), -1);
	ck_assert_contains(err.buf, "cannot read graph file '");
	ck_assert_contains(err.buf, "/jobs': not a regular file (a directory)");
	strbuf_release(&err);
	strbuf_release(&want);
	free(path);
}
END_TEST

START_TEST(test_good)
{
	char *path = xstrfmt("%s/databuild.json", dir);
	char *real = realpath(dir, NULL);
	char *exe = xstrfmt("%s/jobs/a.sh", real);
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	const struct job *j;

	write_file(dir, "databuild.json", base, 0644);
	ck_assert_msg(graph_load(&g, path, &err) == 0, "%s", err.buf);
	ck_assert_str_eq(g.name, "g");
	ck_assert_str_eq(g.dir, real);
	ck_assert_str_eq(g.path, path);
	ck_assert_int_eq(g.lookup.nr, 0);
	ck_assert_int_eq(g.jobs_nr, 2);

	j = graph_job(&g, "ingest");
	ck_assert_ptr_eq(j, &g.jobs[0]);
	ck_assert_int_eq(j->outputs_nr, 1);
	ck_assert_str_eq(j->outputs[0].text, "raw/date={date}");
	ck_assert_str_eq(j->configure.v[0], exe);
	ck_assert_str_eq(j->configure.v[1], "configure");
	ck_assert_str_eq(j->exec.v[0], exe);
	ck_assert_str_eq(j->version.text, "1.2.0");
	ck_assert_int_eq(j->version.major, 1);
	ck_assert_int_eq(j->version.minor, 2);
	ck_assert_int_eq(j->timeout_s, 0);
	ck_assert_int_eq(j->retries, 0);
	ck_assert_str_eq(j->graph_dir, g.dir);

	j = graph_job(&g, "summary");
	ck_assert_ptr_eq(j, &g.jobs[1]);
	/* bare names are searched in PATH; "./x" resolves against the graph dir */
	ck_assert_msg(j->configure.v[0][0] == '/' &&
		      !strcmp(strrchr(j->configure.v[0], '/'), "/sh"), "%s", j->configure.v[0]);
	ck_assert_str_eq(j->configure.v[1], "jobs/a.sh");
	ck_assert_str_eq(j->exec.v[0], exe);
	ck_assert_str_eq(j->version.text, "0.0.0");
	ck_assert_int_eq(j->timeout_s, 5);
	ck_assert_int_eq(j->retries, 1);
	ck_assert_int_eq(j->outputs_nr, 2);
	ck_assert_ptr_null(graph_job(&g, "nope"));

	graph_release(&g);
	strbuf_release(&err);
	free(exe);
	free(real);
	free(path);
}
END_TEST

START_TEST(test_load_text_relative)
{
	char *real = realpath(dir, NULL);
	char *cwd = getcwd(NULL, 0);
	struct strbuf err = STRBUF_INIT;
	struct graph g;

	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_msg(graph_load_text(&g, "databuild.json", base, strlen(base), &err) == 0,
		      "%s", err.buf);
	ck_assert_str_eq(g.dir, real);
	ck_assert_str_eq(g.jobs[0].configure.v[0] + strlen(real), "/jobs/a.sh");
	graph_release(&g);
	ck_assert_int_eq(graph_load_text(&g, "databuild.json", "{", 1, &err), -1);
	ck_assert_str_eq(err.buf, "databuild.json: line 1, column 2: unexpected end of input "
			  "(expected a member name in double quotes)");
	ck_assert_int_eq(chdir(cwd), 0);
	strbuf_release(&err);
	free(cwd);
	free(real);
}
END_TEST

static const char lookup_graph[] =
	"{\"name\": \"l\", \"lookup\": [\"jobs/a.sh\", \"x\"], \"jobs\": [\n"
	" {\"label\": \"ingest\", \"outputs\": [\"raw/date={date}\"], \"configure\": [\"jobs/a.sh\"],"
	"  \"exec\": [\"jobs/a.sh\"]},\n"
	" {\"label\": \"summary\", \"outputs\": [\"sum/category={c}/date={d}\", \"sum/{c}\","
	"  \"sum/{c}/all\"], \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	" {\"label\": \"ax\", \"outputs\": [\"x/{a}\"], \"configure\": [\"jobs/a.sh\"],"
	"  \"exec\": [\"jobs/a.sh\"]},\n"
	" {\"label\": \"by\", \"outputs\": [\"{b}/y\"], \"configure\": [\"jobs/a.sh\"],"
	"  \"exec\": [\"jobs/a.sh\"]}]}";

static const struct lookup_case {
	const char *ref;
	const char *label;  /* expected job, or NULL */
	const char *want;   /* expected error if label is NULL */
} lookup_cases[] = {
	{ "raw/date=2024-01-01", "ingest", NULL },
	{ "sum/category=comedy/date=2024-01-01", "summary", NULL },
	{ "sum/comedy", "summary", NULL },
	{ "sum/comedy/all", "summary", NULL },
	{ "x/z", "ax", NULL },
	{ "q/y", "by", NULL },
	{ "nothing/here", NULL,
	  "no job produces 'nothing/here' (patterns: raw/date={date}, sum/category={c}/date={d}, "
	  "sum/{c}, sum/{c}/all, x/{a}, {b}/y)" },
	{ "raw/date=1/extra", NULL, "no job produces 'raw/date=1/extra' (patterns: " },
	{ "raw", NULL, "no job produces 'raw' (patterns: " },
	{ "x/y", NULL, "ref 'x/y' is claimed by 2 jobs: ax (x/{a}), by ({b}/y)" },
};

START_TEST(test_lookup)
{
	const struct lookup_case *c = &lookup_cases[_i];
	char *path = xstrfmt("%s/databuild.json", dir);
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	struct job *j;

	ck_assert_msg(graph_load_text(&g, path, lookup_graph, strlen(lookup_graph), &err) == 0,
		      "%s", err.buf);
	ck_assert_int_eq(g.lookup.nr, 2);
	j = graph_lookup(&g, c->ref, &err);
	if (c->label) {
		ck_assert_msg(j != NULL, "%s", err.buf);
		ck_assert_str_eq(j->label, c->label);
	} else {
		ck_assert_ptr_null(j);
		ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)),
			      "want prefix\n  %s\ngot\n  %s", c->want, err.buf);
	}
	graph_release(&g);
	strbuf_release(&err);
	free(path);
}
END_TEST

START_TEST(test_lookup_many_patterns)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	char *path = xstrfmt("%s/databuild.json", dir);
	struct graph g;

	strbuf_addstr(&text, "{\"name\": \"m\", \"jobs\": [");
	for (int i = 0; i < 12; i++)
		strbuf_addf(&text, "%s{\"label\": \"j%d\", \"outputs\": [\"d%d/{x}\"], "
			    "\"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]}",
			    i ? "," : "", i, i);
	strbuf_addstr(&text, "]}");
	ck_assert_msg(graph_load_text(&g, path, text.buf, text.len, &err) == 0, "%s", err.buf);
	ck_assert_ptr_null(graph_lookup(&g, "q", &err));
	ck_assert_str_eq(err.buf, "no job produces 'q' (patterns: d0/{x}, d1/{x}, d2/{x}, d3/{x}, "
			 "d4/{x}, d5/{x}, d6/{x}, d7/{x} and 4 more)");
	graph_release(&g);
	strbuf_release(&text);
	strbuf_release(&err);
	free(path);
}
END_TEST

static const struct semver_case {
	const char *text;
	long major, minor, patch;  /* major < 0: invalid */
} semver_cases[] = {
	{ "0.0.0", 0, 0, 0 },
	{ "1.2.3", 1, 2, 3 },
	{ "10.20.30", 10, 20, 30 },
	{ "1.2.3-alpha.1", 1, 2, 3 },
	{ "1.2.3+build.5", 1, 2, 3 },
	{ "1.0.0-rc-1+x-y.z", 1, 0, 0 },
	{ "", -1, 0, 0 },
	{ "1", -1, 0, 0 },
	{ "1.2", -1, 0, 0 },
	{ "1.2.3.4", -1, 0, 0 },
	{ "01.2.3", -1, 0, 0 },
	{ "1.02.3", -1, 0, 0 },
	{ "v1.2.3", -1, 0, 0 },
	{ "1..3", -1, 0, 0 },
	{ "1.2.3-", -1, 0, 0 },
	{ "1.2.3+", -1, 0, 0 },
	{ "1.2.3-a..b", -1, 0, 0 },
	{ "1.2.3 ", -1, 0, 0 },
	{ "1.-2.3", -1, 0, 0 },
	{ "99999999999999999999.0.0", -1, 0, 0 },
};

START_TEST(test_semver)
{
	const struct semver_case *c = &semver_cases[_i];
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct semver v = { 0 };

	if (c->major >= 0) {
		ck_assert_msg(semver_parse(&v, c->text, &err) == 0, "%s", err.buf);
		ck_assert_int_eq(v.major, c->major);
		ck_assert_int_eq(v.minor, c->minor);
		ck_assert_int_eq(v.patch, c->patch);
		ck_assert_str_eq(v.text, c->text);
		semver_release(&v);
	} else {
		ck_assert_int_eq(semver_parse(&v, c->text, &err), -1);
		strbuf_addf(&want, "expected semver MAJOR.MINOR.PATCH, got '%s'", c->text);
		ck_assert_str_eq(err.buf, want.buf);
	}
	strbuf_release(&err);
	strbuf_release(&want);
}
END_TEST

START_TEST(test_refs_describe)
{
	const char *refs[] = { "a", "b", "c", "d", "e", "f", "g" };
	struct strbuf sb = STRBUF_INIT;

	refs_describe(refs, 1, 5, &sb);
	ck_assert_str_eq(sb.buf, "'a'");
	strbuf_reset(&sb);
	refs_describe(refs, 5, 5, &sb);
	ck_assert_str_eq(sb.buf, "'a', 'b', 'c', 'd', 'e'");
	strbuf_reset(&sb);
	refs_describe(refs, 7, 5, &sb);
	ck_assert_str_eq(sb.buf, "'a', 'b', 'c', 'd', 'e' and 2 more");
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("graph");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_load_text_relative);
	tcase_add_loop_test(tc, test_lookup, 0, sizeof(lookup_cases) / sizeof(lookup_cases[0]));
	tcase_add_test(tc, test_lookup_many_patterns);
	tcase_add_loop_test(tc, test_semver, 0, sizeof(semver_cases) / sizeof(semver_cases[0]));
	tcase_add_test(tc, test_refs_describe);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
