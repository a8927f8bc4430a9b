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
	/* domains */
	{ "\"name\": \"g\",", "\"name\": \"g\", \"domains\": [],",
	  "domains: expected an object of named domains, got an array" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"domains\": {\"a b\": {\"values\": [\"x\"]}},",
	  "domains[\"a b\"]: invalid domain name 'a b': use letters, digits, '_', '.' and '-'" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"domains\": {\"v\": {\"values\": [\"x\"]}, "
	  "\"v\": {\"values\": [\"y\"]}},", "domains.v: duplicate member" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"domains\": {\"day2024\": {\"dates\": "
	  "{\"start\": \"2024-01-01\", \"end\": \"2024-12-32\"}}},",
	  "domains.day2024.dates.end: expected a date (2024-12-31, in format %Y-%m-%d, or "
	  "today[-Nd]), got '2024-12-32'" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"domains\": {\"c\": {\"command\": "
	  "[\"jobs/missing\"]}},",
	  "domains.c.command[0]: domain 'c' command executable '@/jobs/missing' does not exist" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": {\"dat\": \"x\"}",
	  "jobs[0].partitions.dat: 'dat' is not a variable of job 'ingest' (variables: date)" },
	{ "\"retries\": 1", "\"partitions\": {\"x\": \"x\"}",
	  "jobs[1].partitions.x: 'x' is not a variable of job 'summary' (variables: c, d)" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": {\"date\": \"nope\"}",
	  "jobs[0].partitions.date: no domain 'nope' (the graph has no \"domains\")" },
	{ NULL, "{\"name\": \"g\", \"domains\": {\"v\": {\"values\": [\"x\"]}, "
	  "\"w\": {\"values\": [\"y\"]}}, \"jobs\": [{\"label\": \"z\", \"outputs\": [\"z/{a}\"], "
	  "\"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"], \"partitions\": "
	  "{\"a\": \"vv\"}}]}",
	  "jobs[0].partitions.a: no domain 'vv' (domains: v, w)" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": {\"date\": 5}",
	  "jobs[0].partitions.date: expected a domain name or a domain object, got a number" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": [\"date\"]",
	  "jobs[0].partitions: expected an object {\"variable\": \"domain\" | {domain}}, got an array" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": {\"date\": {\"ints\": {\"start\": 1}}}",
	  "jobs[0].partitions.date.ints.end: required member is missing" },
	{ "\"version\": \"1.2.0\"", "\"partitions\": {\"date\": {\"values\": [\"a\"]}, "
	  "\"date\": {\"values\": [\"b\"]}}", "jobs[0].partitions.date: duplicate member" },
	/* source jobs */
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], ",
	  "\"source\": \"/srv/{date}.csv\", \"configure\": [\"jobs/a.sh\", \"configure\"], ",
	  "jobs[0].configure: job 'ingest' is a source (it has \"source\"): it has no configure" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], ", "\"source\": \"/srv/{date}.csv\", ",
	  "jobs[0].exec: job 'ingest' is a source (it has \"source\"): it has no exec" },
	{ "\"configure\": [\"sh\", \"jobs/a.sh\"], \"exec\": [\"./jobs/a.sh\"],",
	  "\"source\": \"/srv/{c}/{d}\",",
	  "jobs[1].outputs: source job 'summary' has one output pattern, got 2" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],",
	  "\"source\": \"/srv/{day}.csv\",",
	  "jobs[0].source: placeholder '{day}' of source '/srv/{day}.csv' is not in the output "
	  "pattern 'raw/date={date}'" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],",
	  "\"source\": \"/srv/all.csv\",",
	  "jobs[0].source: source '/srv/all.csv' has no placeholder '{date}' of the output "
	  "pattern 'raw/date={date}'" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],",
	  "\"source\": \"/srv/{date\",",
	  "jobs[0].source: invalid source '/srv/{date': invalid pattern 'srv/{date': unterminated '{'" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],",
	  "\"source\": \"\",", "jobs[0].source: expected a non-empty path pattern" },
	{ "\"configure\": [\"jobs/a.sh\", \"configure\"], \"exec\": [\"jobs/a.sh\", \"exec\"],",
	  "\"source\": 5,", "jobs[0].source: expected a string, got a number" },
	/* retention: the graph's and a job's */
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": 5,",
	  "retention: expected an object {\"keep_versions\", \"keep_days\"}, got a number" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep\": 1},",
	  "retention.keep: unknown member 'keep': expected keep_versions or keep_days" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_versions\": 0},",
	  "retention.keep_versions: expected an integer from 1 to 1000000000, got 0" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_versions\": 1.5},",
	  "retention.keep_versions: expected an integer from 1 to 1000000000, got 1.5" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_versions\": \"3\"},",
	  "retention.keep_versions: expected an integer >= 1, got a string" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_days\": -1},",
	  "retention.keep_days: expected an integer from 0 to 3650000, got -1" },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_days\": null},",
	  "retention.keep_days: expected an integer >= 0, got null" },
	{ "\"name\": \"g\",",
	  "\"name\": \"g\", \"retention\": {\"keep_days\": 1, \"keep_days\": 2},",
	  "retention.keep_days: duplicate member 'keep_days'" },
	{ "\"timeout_s\": 5,", "\"timeout_s\": 5, \"retention\": [],",
	  "jobs[1].retention: expected an object {\"keep_versions\", \"keep_days\"}, got an array" },
	{ "\"timeout_s\": 5,", "\"timeout_s\": 5, \"retention\": {\"keep_versions\": 2, \"days\": 1},",
	  "jobs[1].retention.days: unknown member 'days': expected keep_versions or keep_days" },
	{ "\"timeout_s\": 5,", "\"timeout_s\": 5, \"retention\": {\"keep_versions\": true},",
	  "jobs[1].retention.keep_versions: expected an integer >= 1, got a boolean" },
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

/*
 * The effective retention of ref in base with `from` replaced by `to`
 * (NULL: base as it is): set, keep_versions, keep_days.
 */
static const struct retention_case {
	const char *from, *to, *ref;
	unsigned set;
	long versions, days;
} retention_cases[] = {
	{ NULL, NULL, "raw/date=2024-01-01", 0, 0, 0 },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_versions\": 5},",
	  "raw/date=2024-01-01", RETENTION_VERSIONS, 5, 0 },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {},",
	  "raw/date=2024-01-01", 0, 0, 0 },
	{ "\"name\": \"g\",",
	  "\"name\": \"g\", \"retention\": {\"keep_versions\": 5, \"keep_days\": 30},",
	  "sum/x", RETENTION_VERSIONS | RETENTION_DAYS, 5, 30 },
	{ "\"name\": \"g\",", "\"name\": \"g\", \"retention\": {\"keep_days\": 0},",
	  "sum/x", RETENTION_DAYS, 0, 0 },
	/* a job's fields override the global ones, field by field */
	{ "\"timeout_s\": 5,", "\"timeout_s\": 5, \"retention\": {\"keep_versions\": 1},",
	  "sum/x", RETENTION_VERSIONS, 1, 0 },
	{ "\"timeout_s\": 5,", "\"timeout_s\": 5, \"retention\": {\"keep_versions\": 1},",
	  "raw/date=2024-01-01", 0, 0, 0 },
	{ "\"version\": \"1.2.0\",",
	  "\"version\": \"1.2.0\", \"retention\": {\"keep_days\": 7},",
	  "raw/date=2024-01-01", RETENTION_DAYS, 0, 7 },
	/* a ref no job claims: the global policy (none here) */
	{ "\"version\": \"1.2.0\",",
	  "\"version\": \"1.2.0\", \"retention\": {\"keep_days\": 7},",
	  "other/x", 0, 0, 0 },
};

/* base, with a global policy merged field by field with the job's */
static const char retention_text[] =
	"{\"name\": \"g\", \"retention\": {\"keep_versions\": 5, \"keep_days\": 30},\n"
	" \"jobs\": [{\"label\": \"daily\", \"outputs\": [\"d/{x}\"],\n"
	"            \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"],\n"
	"            \"retention\": {\"keep_versions\": 1}},\n"
	"           {\"label\": \"other\", \"outputs\": [\"o/{x}\"],\n"
	"            \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]}]}\n";

START_TEST(test_retention)
{
	const struct retention_case *c = &retention_cases[_i];
	char *text = c->from ? replaced(base, c->from, c->to) : xstrdup(base);
	char *path = xstrfmt("%s/databuild.json", dir);
	struct strbuf err = STRBUF_INIT;
	struct retention r;
	struct graph g;

	write_file(dir, "databuild.json", text, 0644);
	ck_assert_msg(graph_load(&g, path, &err) == 0, "%s", err.buf);
	graph_retention(&g, c->ref, &r);
	ck_assert_uint_eq(r.set, c->set);
	if (c->set & RETENTION_VERSIONS)
		ck_assert_int_eq(r.keep_versions, c->versions);
	if (c->set & RETENTION_DAYS)
		ck_assert_int_eq(r.keep_days, c->days);
	ck_assert_int_eq(graph_has_retention(&g), c->set != 0 || (c->to && strstr(c->to, "keep_")));
	graph_release(&g);
	strbuf_release(&err);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_retention_merge)
{
	char *path = xstrfmt("%s/databuild.json", dir);
	struct strbuf err = STRBUF_INIT;
	struct retention r;
	struct graph g;

	write_file(dir, "databuild.json", retention_text, 0644);
	ck_assert_msg(graph_load(&g, path, &err) == 0, "%s", err.buf);
	graph_retention(&g, "d/1", &r);
	ck_assert_uint_eq(r.set, RETENTION_VERSIONS | RETENTION_DAYS);
	ck_assert_int_eq(r.keep_versions, 1);
	ck_assert_int_eq(r.keep_days, 30);
	graph_retention(&g, "o/1", &r);
	ck_assert_int_eq(r.keep_versions, 5);
	ck_assert_int_eq(r.keep_days, 30);
	graph_release(&g);
	strbuf_release(&err);
	free(path);
}
END_TEST

#define DAY_US (86400LL * 1000000)
/* retention_keeps: { set, keep_versions, keep_days }, current, rank, age -> kept */
static const struct keeps_case {
	struct retention r;
	int current;
	size_t rank;
	int64_t age_us;
	int want;
} keeps_cases[] = {
	{ { 0, 0, 0 }, 0, 100, 1000 * DAY_US, 1 },                     /* no policy: all */
	{ { RETENTION_VERSIONS, 1, 0 }, 1, 5, 1000 * DAY_US, 1 },      /* current */
	{ { RETENTION_VERSIONS, 1, 0 }, 0, 0, 1000 * DAY_US, 1 },      /* the newest */
	{ { RETENTION_VERSIONS, 1, 0 }, 0, 1, 0, 0 },                  /* versions alone decide */
	{ { RETENTION_VERSIONS, 3, 0 }, 0, 2, 0, 1 },
	{ { RETENTION_DAYS, 0, 2 }, 0, 0, 1 * DAY_US, 1 },             /* days alone decide */
	{ { RETENTION_DAYS, 0, 2 }, 0, 0, 2 * DAY_US, 0 },
	{ { RETENTION_DAYS, 0, 0 }, 0, 0, 0, 0 },
	{ { RETENTION_VERSIONS | RETENTION_DAYS, 1, 2 }, 0, 7, DAY_US, 1 },  /* young */
	{ { RETENTION_VERSIONS | RETENTION_DAYS, 1, 2 }, 0, 0, 9 * DAY_US, 1 },  /* newest */
	{ { RETENTION_VERSIONS | RETENTION_DAYS, 1, 2 }, 0, 1, 9 * DAY_US, 0 },
};

START_TEST(test_retention_keeps)
{
	const struct keeps_case *c = &keeps_cases[_i];

	ck_assert_int_eq(retention_keeps(&c->r, c->current, c->rank, c->age_us), c->want);
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

static const char domain_graph[] =
	"{\"name\": \"d\",\n"
	" \"domains\": {\"day2024\": {\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}},\n"
	"             \"station\": {\"values\": [\"north\", \"south\", \"east\"]},\n"
	"             \"customer\": {\"command\": [\"jobs/customers.sh\"]}},\n"
	" \"jobs\": [\n"
	"  {\"label\": \"ingest\", \"outputs\": [\"raw/station={station}/date={date}\"],\n"
	"   \"partitions\": {\"station\": \"station\", \"date\": \"day2024\"},\n"
	"   \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	"  {\"label\": \"report\", \"outputs\": [\"report/date={date}\", \"report/all\"],\n"
	"   \"partitions\": {\"date\": {\"dates\": {\"start\": \"2024-01-01\", \"end\": \"today-1d\"}}},\n"
	"   \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	"  {\"label\": \"free\", \"outputs\": [\"free/key={key}/date={date}\"],\n"
	"   \"partitions\": {\"date\": \"day2024\"},\n"
	"   \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	"  {\"label\": \"cust\", \"outputs\": [\"cust/{customer}\"], \"partitions\": {\"customer\": \"customer\"},\n"
	"   \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	"  {\"label\": \"packages\", \"source\": \"drops/{region}/{date}.csv\",\n"
	"   \"outputs\": [\"src/packages/date={date}/region={region}\"], \"partitions\": {\"date\": \"day2024\"}}\n"
	" ]}\n";

static void load_domain_graph(struct graph *g)
{
	char *path = xstrfmt("%s/databuild.json", dir);
	struct strbuf err = STRBUF_INIT;

	setenv("DATABUILD_NOW", "2024-03-03T03:00:00Z", 1);
	write_file(dir, "jobs/customers.sh", "#!/bin/sh\nprintf 'acme\\nglobex\\n'\n", 0755);
	ck_assert_msg(graph_load_text(g, path, domain_graph, strlen(domain_graph), &err) == 0,
		      "%s", err.buf);
	strbuf_release(&err);
	free(path);
}

START_TEST(test_domains_loaded)
{
	char *real = realpath(dir, NULL);
	char *src = xstrfmt("%s/drops/{region}/{date}.csv", real);
	struct graph g;
	const struct job *j;

	load_domain_graph(&g);
	ck_assert_int_eq(g.domains_nr, 3);
	ck_assert_ptr_eq(graph_domain(&g, "station"), &g.domains[1]);
	ck_assert_ptr_null(graph_domain(&g, "nope"));
	ck_assert_int_eq(graph_domain(&g, "customer")->kind, DOMAIN_COMMAND);
	ck_assert_msg(graph_domain(&g, "customer")->argv.v[0][0] == '/', "argv[0] resolved");
	j = graph_job(&g, "ingest");
	ck_assert_int_eq(j->vars_nr, 2);
	ck_assert_ptr_eq(job_domain(j, "date"), graph_domain(&g, "day2024"));
	ck_assert_ptr_null(j->source);
	ck_assert(!job_is_source(j));
	j = graph_job(&g, "report");
	ck_assert_int_eq(j->vars[0].owned, 1);
	ck_assert_str_eq(job_domain(j, "date")->name, "report.date");
	ck_assert_ptr_null(job_domain(graph_job(&g, "free"), "key"));
	j = graph_job(&g, "packages");
	ck_assert(job_is_source(j));
	ck_assert_str_eq(j->source, src);
	ck_assert_int_eq(j->configure.nr, 0);
	/* its exec is the import: /bin/sh -c SOURCE_IMPORT_SCRIPT databuild-source */
	ck_assert_int_eq(j->exec.nr, 4);
	ck_assert_str_eq(j->exec.v[0], "/bin/sh");
	ck_assert_str_eq(j->exec.v[2], SOURCE_IMPORT_SCRIPT);
	ck_assert_int_eq(graph_domains_refresh(&g, NULL), 0);
	graph_release(&g);
	free(src);
	free(real);
}
END_TEST

/* The example of the design contract, as written there. */
static const char design_graph[] =
	"{\"name\": \"design\",\n"
	"  \"domains\": {\n"
	"    \"day2024\":  {\"dates\":  {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}},\n"
	"    \"recent\":   {\"dates\":  {\"start\": \"2023-01-01\", \"end\": \"today-1d\", \"step\": \"1d\", "
	"\"format\": \"%Y-%m-%d\"}},\n"
	"    \"hour\":     {\"hours\":  {\"start\": \"2024-01-01T00\", \"end\": \"now\"}},\n"
	"    \"station\":  {\"values\": [\"north\", \"south\", \"east\"]},\n"
	"    \"shard\":    {\"ints\":   {\"start\": 0, \"end\": 99999}},\n"
	"    \"customer\": {\"command\": [\"jobs/list-customers\"]}\n"
	"  },\n"
	"  \"jobs\": [\n"
	"    {\"label\": \"ingest\", \"outputs\": [\"raw/station={station}/date={date}\"],\n"
	"     \"partitions\": {\"station\": \"station\", \"date\": \"day2024\"},\n"
	"     \"configure\": [\"jobs/a.sh\"], \"exec\": [\"jobs/a.sh\"]},\n"
	"    {\"label\": \"packages\", \"source\": \"/srv/drops/{date}.csv\",\n"
	"     \"outputs\": [\"src/packages/date={date}\"]}\n"
	"  ]\n"
	"}\n";

START_TEST(test_design_example)
{
	static const struct { const char *name, *describe; uint64_t count; } want[] = {
		{ "day2024", "dates 2024-01-01..2024-12-31", 366 },
		{ "recent", "dates 2023-01-01..2024-03-02 (today-1d)", 365 + 62 },
		{ "hour", "hours 2024-01-01T00..2024-03-03T03 (now)", 62 * 24 + 4 },
		{ "station", "values north, south, east", 3 },
		{ "shard", "ints 0..99999", 100000 },
		{ "customer", "command @/jobs/list-customers: 3 values", 3 },
	};
	char *path = xstrfmt("%s/databuild.json", dir);
	char *real = realpath(dir, NULL);
	struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT, exp = STRBUF_INIT;
	struct graph g;
	const struct job *j;

	setenv("DATABUILD_NOW", "2024-03-03T03:00:00Z", 1);
	write_file(dir, "jobs/list-customers", "#!/bin/sh\necho acme; echo globex; echo initech\n",
		   0755);
	ck_assert_msg(graph_load_text(&g, path, design_graph, strlen(design_graph), &err) == 0,
		      "%s", err.buf);
	ck_assert_int_eq(g.domains_nr, 6);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct domain *d = graph_domain(&g, want[i].name);

		ck_assert_ptr_eq(d, &g.domains[i]);
		ck_assert_int_eq(domain_ready(d, &err), 0);
		strbuf_reset(&sb);
		strbuf_reset(&exp);
		domain_describe(d, &sb);
		for (const char *c = want[i].describe; *c; c++)
			if (*c == '@')
				strbuf_addstr(&exp, real);
			else
				strbuf_addch(&exp, *c);
		ck_assert_str_eq(sb.buf, exp.buf);
		ck_assert_uint_eq(domain_count(d), want[i].count);
	}
	j = graph_job(&g, "packages");
	ck_assert_str_eq(j->source, "/srv/drops/{date}.csv");
	ck_assert_int_eq(job_source_path(j, "src/packages/date=2024-01-01", &sb), 1);
	ck_assert_str_eq(sb.buf, "/srv/drops/2024-01-01.csv");
	ck_assert_int_eq(job_space_contains(j, NULL, "src/packages/date=anything", &err), 1);
	graph_release(&g);
	strbuf_release(&err);
	strbuf_release(&sb);
	strbuf_release(&exp);
	free(path);
	free(real);
}
END_TEST

static const struct space_case {
	const char *ref;
	int want;
	const char *err;
} space_cases[] = {
	{ "raw/station=north/date=2024-01-01", 1, NULL },
	{ "raw/station=west/date=2024-01-01", 0,
	  "ref 'raw/station=west/date=2024-01-01' is outside the partitions of job 'ingest': "
	  "variable 'station': 'west' is not in domain 'station' (values north, south, east)" },
	{ "raw/station=east/date=2025-01-01", 0,
	  "ref 'raw/station=east/date=2025-01-01' is outside the partitions of job 'ingest': "
	  "variable 'date': date '2025-01-01' is outside domain 'day2024' (dates 2024-01-01..2024-12-31)" },
	{ "raw/station=east/date=2024-1-01", 0,
	  "variable 'date': '2024-1-01' is not a date of domain 'day2024'" },
	{ "report/date=2024-03-02", 1, NULL },
	{ "report/date=2024-03-03", 0,
	  "ref 'report/date=2024-03-03' is outside the partitions of job 'report': variable 'date': "
	  "date '2024-03-03' is outside domain 'report.date' (dates 2024-01-01..2024-03-02 (today-1d))" },
	{ "report/all", 1, NULL },
	{ "free/key=anything/date=2024-05-05", 1, NULL },
	{ "free/key=anything/date=2024-13-05", 0, "variable 'date': '2024-13-05' is not a date" },
	{ "cust/globex", 1, NULL },
	{ "cust/hooli", 0, "variable 'customer': 'hooli' is not in domain 'customer' (command " },
	{ "src/packages/date=2024-01-01/region=eu", 1, NULL },
	{ "src/packages/date=2023-01-01/region=eu", 0, "variable 'date': date '2023-01-01' is outside" },
};

START_TEST(test_space_contains)
{
	const struct space_case *c = &space_cases[_i];
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	struct job *j;

	load_domain_graph(&g);
	j = graph_lookup(&g, c->ref, &err);
	ck_assert_msg(j != NULL, "%s", err.buf);
	ck_assert_int_eq(job_space_contains(j, NULL, c->ref, &err), c->want);
	if (c->want)
		ck_assert_str_eq(err.buf, "");
	else
		ck_assert_contains(err.buf, c->err);
	strbuf_reset(&err);
	ck_assert_int_eq(job_space_contains(j, job_match(j, c->ref), c->ref, NULL), c->want);
	ck_assert_int_eq(job_space_contains(graph_job(&g, "free"), NULL, "cust/acme", &err), 0);
	ck_assert_str_eq(err.buf, "ref 'cust/acme' is not an output of job 'free'");
	graph_release(&g);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_resolve)
{
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	struct job *j;

	load_domain_graph(&g);
	ck_assert_int_eq(graph_resolve(&g, "raw/station=east/date=2024-02-29", &j, &err), 1);
	ck_assert_str_eq(j->label, "ingest");
	ck_assert_int_eq(graph_resolve(&g, "raw/station=east/date=2023-02-28", &j, &err), 0);
	ck_assert_str_eq(j->label, "ingest");
	ck_assert_contains(err.buf, "variable 'date': date '2023-02-28' is outside domain 'day2024'");
	strbuf_reset(&err);
	ck_assert_int_eq(graph_resolve(&g, "nothing/here", &j, &err), 0);
	ck_assert_ptr_null(j);
	ck_assert_contains(err.buf, "no job produces 'nothing/here'");
	strbuf_reset(&err);
	/* a command domain that fails is not "outside" */
	write_file(dir, "jobs/customers.sh", "#!/bin/sh\necho down >&2\nexit 4\n", 0755);
	ck_assert_int_eq(graph_resolve(&g, "cust/acme", &j, &err), -1);
	ck_assert_contains(err.buf, "domain 'customer': command '");
	ck_assert_contains(err.buf, "/jobs/customers.sh' exited with status 4:\n  down");
	graph_release(&g);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_space_count)
{
	struct strbuf err = STRBUF_INIT;
	struct graph g;
	struct job *j;
	uint64_t n = 0;

	load_domain_graph(&g);
	j = graph_job(&g, "ingest");
	ck_assert_int_eq(job_space_count(j, &j->outputs[0], &n, &err), 0);
	ck_assert_uint_eq(n, 3 * 366);
	j = graph_job(&g, "report");
	ck_assert_int_eq(job_space_count(j, &j->outputs[0], &n, &err), 0);
	ck_assert_uint_eq(n, 31 + 29 + 2);
	ck_assert_int_eq(job_space_count(j, &j->outputs[1], &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	j = graph_job(&g, "cust");
	ck_assert_int_eq(job_space_count(j, &j->outputs[0], &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	j = graph_job(&g, "free");
	ck_assert_int_eq(job_space_count(j, &j->outputs[0], &n, &err), -1);
	ck_assert_str_eq(err.buf, "variable 'key' of job 'free' has no domain: its partitions "
			 "are open-ended");
	ck_assert_int_eq(job_space_index(j, &j->outputs[0], "free/key=a/date=2024-01-01"), -1);
	graph_release(&g);
	strbuf_release(&err);
}
END_TEST

/* The whole space in order; positions agree with job_space_index. */
START_TEST(test_space_iter)
{
	struct strbuf err = STRBUF_INIT;
	struct space_iter it;
	struct graph g;
	const struct job *j;
	const char *ref;
	int64_t n = 0;

	load_domain_graph(&g);
	j = graph_job(&g, "ingest");
	ck_assert_int_eq(space_iter_init(&it, j, &j->outputs[0], NULL, &err), 0);
	while ((ref = space_iter_next(&it))) {
		if (n == 0)
			ck_assert_str_eq(ref, "raw/station=north/date=2024-01-01");
		if (n == 366)
			ck_assert_str_eq(ref, "raw/station=south/date=2024-01-01");
		ck_assert_int_eq(job_space_index(j, &j->outputs[0], ref), n);
		ck_assert_int_eq(job_space_contains(j, &j->outputs[0], ref, &err), 1);
		n++;
	}
	ck_assert_int_eq(n, 3 * 366);
	ck_assert_ptr_null(space_iter_next(&it));
	space_iter_release(&it);
	j = graph_job(&g, "free");
	ck_assert_int_eq(space_iter_init(&it, j, &j->outputs[0], NULL, &err), -1);
	ck_assert_str_eq(err.buf, "variable 'key' of job 'free' has no domain: its partitions "
			 "cannot be enumerated");
	space_iter_release(&it);
	graph_release(&g);
	strbuf_release(&err);
}
END_TEST

static const struct expand_case {
	const char *expr;
	int n;              /* refs, or -1: an error */
	const char *want;   /* refs joined by ',' (prefix), or the error's prefix */
} expand_cases[] = {
	{ "report/date=2024-02-*", 29, "report/date=2024-02-01,report/date=2024-02-02," },
	{ "raw/station=*/date=2024-01-0[1-7]", 21,
	  "raw/station=north/date=2024-01-01,raw/station=north/date=2024-01-02," },
	{ "raw/station=[se]*/date=2024-01-0[1-2]", 4,
	  "raw/station=south/date=2024-01-01,raw/station=south/date=2024-01-02,"
	  "raw/station=east/date=2024-01-01,raw/station=east/date=2024-01-02" },
	{ "report/date=2024-01-30..2024-02-02", 4,
	  "report/date=2024-01-30,report/date=2024-01-31,report/date=2024-02-01,report/date=2024-02-02" },
	{ "report/date=2024-01-01..2024-03-31", -1,
	  "variable 'date' of job 'report': range '2024-01-01..2024-03-31': date '2024-03-31' is "
	  "outside domain 'report.date' (dates 2024-01-01..2024-03-02 (today-1d))" },
	{ "raw/station=south..east/date=2024-12-31..", 2,
	  "raw/station=south/date=2024-12-31,raw/station=east/date=2024-12-31" },
	{ "raw/station=*/date=2025-*", 0, "" },
	{ "raw/station=west/date=2024-01-01", -1,
	  "variable 'station' of job 'ingest': 'west' is not in domain 'station' "
	  "(values north, south, east)" },
	{ "free/key=*/date=2024-01-01", -1,
	  "variable 'key' of job 'free' has no domain: glob '*' needs one" },
	{ "free/key=k1/date=2024-01-0[12]", 2,
	  "free/key=k1/date=2024-01-01,free/key=k1/date=2024-01-02" },
	{ "free/key=k1..k2/date=2024-01-01", -1,
	  "variable 'key' of job 'free' has no domain: range 'k1..k2' needs one" },
	{ "cust/*", 2, "cust/acme,cust/globex" },
	{ "report/all", 1, "report/all" },
	{ "nothing/x=*", -1, "no job produces 'nothing/x=*'" },
};

START_TEST(test_expand)
{
	const struct expand_case *c = &expand_cases[_i];
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct space_iter it;
	struct graph g;
	const char *ref;
	int n = 0;

	load_domain_graph(&g);
	if (graph_expand_init(&it, &g, c->expr, &err) < 0) {
		n = -1;
	} else {
		while ((ref = space_iter_next(&it)))
			strbuf_addf(&out, "%s%s", n++ ? "," : "", ref);
	}
	space_iter_release(&it);
	ck_assert_msg(n == c->n, "%s: want %d refs, got %d (%s)", c->expr, c->n, n, err.buf);
	ck_assert_msg(!strncmp(n < 0 ? err.buf : out.buf, c->want, strlen(c->want)),
		      "want prefix\n  %s\ngot\n  %s", c->want, n < 0 ? err.buf : out.buf);
	graph_release(&g);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

static const struct below_case {
	const char *job, *dir;
	int n;              /* segments, or -1: an error */
	const char *want;   /* segments joined by ',' (prefix), or the error's prefix */
} below_cases[] = {
	{ "ingest", "", 1, "raw" },
	{ "ingest", "raw", 3, "station=north,station=south,station=east" },
	{ "ingest", "raw/station=south", 366, "date=2024-01-01,date=2024-01-02," },
	{ "ingest", "raw/station=west", -1,
	  "'raw/station=west' is outside the partitions of job 'ingest': variable 'station': "
	  "'west' is not in domain 'station' (values north, south, east)" },
	{ "ingest", "raw/station=north/date=2024-01-01", -1,
	  "'raw/station=north/date=2024-01-01' is not a directory of pattern "
	  "'raw/station={station}/date={date}' of job 'ingest'" },
	{ "ingest", "other", -1, "'other' is not a directory of pattern" },
	{ "free", "free", -1,
	  "variable 'key' of job 'free' has no domain: its partitions cannot be listed" },
	{ "free", "free/key=anything", 366, "date=2024-01-01," },
	{ "report", "report", 62, "date=2024-01-01," },
	{ "cust", "cust", 2, "acme,globex" },
};

START_TEST(test_below)
{
	const struct below_case *c = &below_cases[_i];
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct space_iter it;
	struct graph g;
	const struct job *j;
	const char *seg;
	int n = 0;

	load_domain_graph(&g);
	j = graph_job(&g, c->job);
	if (space_iter_init_below(&it, j, &j->outputs[0], c->dir, &err) < 0) {
		n = -1;
	} else {
		while ((seg = space_iter_next(&it)))
			strbuf_addf(&out, "%s%s", n++ ? "," : "", seg);
	}
	space_iter_release(&it);
	ck_assert_msg(n == c->n, "%s: want %d segments, got %d (%s)", c->dir, c->n, n, err.buf);
	ck_assert_msg(!strncmp(n < 0 ? err.buf : out.buf, c->want, strlen(c->want)),
		      "want prefix\n  %s\ngot\n  %s", c->want, n < 0 ? err.buf : out.buf);
	graph_release(&g);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

START_TEST(test_source_mapping)
{
	char *real = realpath(dir, NULL);
	char *path = xstrfmt("%s/drops/eu/2024-01-05.csv", real);
	struct strbuf out = STRBUF_INIT;
	struct graph g;
	const struct job *j;

	load_domain_graph(&g);
	j = graph_job(&g, "packages");
	ck_assert_int_eq(job_source_path(j, "src/packages/date=2024-01-05/region=eu", &out), 1);
	ck_assert_str_eq(out.buf, path);
	ck_assert_int_eq(job_source_ref(j, path, &out), 1);
	ck_assert_str_eq(out.buf, "src/packages/date=2024-01-05/region=eu");
	ck_assert_int_eq(job_source_path(j, "src/packages/date=2024-01-05", &out), 0);
	ck_assert_int_eq(job_source_ref(j, "/elsewhere/eu/2024-01-05.csv", &out), 0);
	ck_assert_int_eq(job_source_ref(j, "drops/eu/2024-01-05.csv", &out), 0);
	free(path);
	path = xstrfmt("%s/drops/eu/2024-01-05.txt", real);
	ck_assert_int_eq(job_source_ref(j, path, &out), 0);
	free(path);
	path = xstrfmt("%s/drops/e\tu/2024-01-05.csv", real);
	ck_assert_int_eq(job_source_ref(j, path, &out), 0);  /* no valid ref */
	j = graph_job(&g, "ingest");
	ck_assert_int_eq(job_source_path(j, "raw/station=north/date=2024-01-01", &out), 0);
	graph_release(&g);
	strbuf_release(&out);
	free(path);
	free(real);
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
	tcase_add_loop_test(tc, test_retention, 0,
			    sizeof(retention_cases) / sizeof(retention_cases[0]));
	tcase_add_test(tc, test_retention_merge);
	tcase_add_loop_test(tc, test_retention_keeps, 0,
			    sizeof(keeps_cases) / sizeof(keeps_cases[0]));
	tcase_add_loop_test(tc, test_lookup, 0, sizeof(lookup_cases) / sizeof(lookup_cases[0]));
	tcase_add_test(tc, test_lookup_many_patterns);
	tcase_add_loop_test(tc, test_semver, 0, sizeof(semver_cases) / sizeof(semver_cases[0]));
	tcase_add_test(tc, test_refs_describe);
	tcase_add_test(tc, test_domains_loaded);
	tcase_add_test(tc, test_design_example);
	tcase_add_loop_test(tc, test_space_contains, 0, sizeof(space_cases) / sizeof(space_cases[0]));
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_space_count);
	tcase_add_test(tc, test_space_iter);
	tcase_add_loop_test(tc, test_expand, 0, sizeof(expand_cases) / sizeof(expand_cases[0]));
	tcase_add_loop_test(tc, test_below, 0, sizeof(below_cases) / sizeof(below_cases[0]));
	tcase_add_test(tc, test_source_mapping);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
