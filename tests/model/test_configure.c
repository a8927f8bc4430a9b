#include "core/clock.h"
#include "model/graph.h"
#include "core/proc.h"
#include "planner/planner.h"
#include "testutil.h"

/*
 * One job per behaviour of `configure`; job `x` owns refs `x/...`.
 * Every configure script runs for real, with the graph dir as cwd.
 */
static const char configure_sh[] =
	"#!/bin/sh\n"
	"mode=$1; shift\n"
	"echo \"$# $(pwd)\" >> calls-$mode.log\n"
	"configs() {\n"
	"  sep=\n"
	"  for r in \"$@\"; do\n"
	"    printf '%s{\"outputs\":[\"%s\"],\"inputs\":[{\"dep_type\":\"materialize\","
	"\"ref\":\"raw/%s\"}],\"args\":[\"%s\"],\"env\":{\"MODE\":\"%s\"}}' "
	"\"$sep\" \"$r\" \"${r#*/}\" \"$r\" \"$mode\"\n"
	"    sep=,\n"
	"  done\n"
	"}\n"
	"case $mode in\n"
	"ok) printf '['; configs \"$@\"; echo ']' ;;\n"
	"extra) printf '[{\"outputs\":['; sep=; for r; do printf '%s\"%s\"' \"$sep\" \"$r\"; sep=,; done;"
	" echo ',\"extra/all\"]}]' ;;\n"
	"fail) i=1; while [ $i -le 15 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 3 ;;\n"
	"malformed) echo 'oops' >&2; printf '[{\"outputs\": [\"malformed/1\"],}]' ;;\n"
	"empty) ;;\n"
	"trailing) printf '['; configs \"$@\"; echo '] ]' ;;\n"
	"badtype) printf '['; configs \"$@\"; printf ',{\"outputs\":[\"badtype/z\"],\"inputs\":"
	"[{\"dep_type\":\"build\",\"ref\":\"raw/z\"}]}]' ;;\n"
	"badref) echo '[{\"outputs\":[\"badref//1\"]}]' ;;\n"
	"omit) printf '['; configs \"$1\"; echo ']' ;;\n"
	"twice) printf '['; configs \"$@\"; printf ','; configs \"$1\"; echo ']' ;;\n"
	"foreign) printf '['; configs \"$@\"; echo ',{\"outputs\":[\"elsewhere/1\"]}]' ;;\n"
	"object) echo '{\"outputs\":[\"object/1\"]}' ;;\n"
	"hang) echo 'about to hang' >&2; sleep 30; echo '[]' ;;\n"
	"signal) kill -9 $$ ;;\n"
	"esac\n";

static const char lookup_sh[] =
	"#!/bin/sh\n"
	"mode=$1; shift\n"
	"echo \"$*\" > lookup-args.log\n"
	"case $mode in\n"
	"good) printf '{'; sep=; for r; do printf '%s\"%s\":[\"%s\"]' \"$sep\" \"${r%%/*}\" \"$r\";"
	" sep=,; done; echo '}' ;;\n"
	"unknown) echo '{\"nojob\":[\"ok/1\"]}' ;;\n"
	"missing) echo '{\"ok\":[]}' ;;\n"
	"twice) echo '{\"ok\":[\"ok/1\"],\"fail\":[\"ok/1\"]}' ;;\n"
	"dup) echo '{\"ok\":[\"ok/1\",\"ok/1\"]}' ;;\n"
	"extra) echo '{\"ok\":[\"ok/1\",\"zzz\"]}' ;;\n"
	"notobject) echo '[]' ;;\n"
	"notarray) echo '{\"ok\":\"ok/1\"}' ;;\n"
	"number) echo '{\"ok\":[1]}' ;;\n"
	"syntax) echo '{\"ok\":' ;;\n"
	"exit) echo 'no lookup today' >&2; exit 4 ;;\n"
	"hang) sleep 30 ;;\n"
	"esac\n";

static const char *const modes[] = {
	"ok", "extra", "fail", "malformed", "empty", "trailing", "badtype", "badref", "omit",
	"twice", "foreign", "object", "hang", "signal",
};

static char *dir;

static void setup(void)
{
	dir = tmpdir_make();
	write_file(dir, "jobs/configure.sh", configure_sh, 0755);
	write_file(dir, "jobs/lookup.sh", lookup_sh, 0755);
	write_file(dir, "jobs/exec.sh", "#!/bin/sh\nexit 0\n", 0755);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	dir = NULL;
}

/* The graph: one job per mode, with outputs "<mode>/{x}" (extra: also "extra/all"). */
static void load(struct graph *g, const char *lookup_mode)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	char *path = xstrfmt("%s/databuild.json", dir);

	strbuf_addstr(&text, "{\"name\": \"c\", ");
	if (lookup_mode)
		strbuf_addf(&text, "\"lookup\": [\"jobs/lookup.sh\", \"%s\"], ", lookup_mode);
	strbuf_addstr(&text, "\"jobs\": [");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		strbuf_addf(&text, "%s{\"label\": \"%s\", \"outputs\": [\"%s/{x}\"],"
			    " \"configure\": [\"jobs/configure.sh\", \"%s\"],"
			    " \"exec\": [\"jobs/exec.sh\"]}", i ? "," : "", modes[i], modes[i],
			    modes[i]);
	strbuf_addstr(&text, "]}");
	ck_assert_msg(graph_load_text(g, path, text.buf, text.len, &err) == 0, "%s", err.buf);
	strbuf_release(&text);
	strbuf_release(&err);
	free(path);
}

static void split(struct strvec *sv, const char *words)
{
	const char *s = words;

	while (*s) {
		const char *sp = strchr(s, ' ');
		size_t n = sp ? (size_t)(sp - s) : strlen(s);

		strvec_push_nodup(sv, xstrndup(s, n));
		s += n;
		while (*s == ' ')
			s++;
	}
}

static const struct fail_case {
	const char *job;
	const char *refs;
	long timeout_ms;
	const char *want[3];  /* substrings of the error */
	const char *unwanted; /* must not appear, or NULL */
} fail_cases[] = {
	{ "fail", "fail/1", 0,
	  { "job 'fail': configure for 'fail/1' exited with status 3\n  stderr:\n"
	    "    line 6\n    line 7\n", "    line 15", NULL }, "line 5\n" },
	{ "fail", "fail/1 fail/2 fail/3 fail/4 fail/5 fail/6 fail/7", 0,
	  { "job 'fail': configure for 'fail/1', 'fail/2', 'fail/3', 'fail/4', 'fail/5' "
	    "and 2 more exited with status 3", NULL, NULL }, NULL },
	{ "malformed", "malformed/1", 0,
	  { "job 'malformed': configure for 'malformed/1' printed an invalid answer: "
	    "line 1, column ", "\n  stderr:\n    oops", NULL }, NULL },
	{ "empty", "empty/1", 0,
	  { "job 'empty': configure for 'empty/1' printed an invalid answer: line 1, column 1: "
	    "expected a JSON value, got end of input", NULL, NULL }, "stderr" },
	{ "trailing", "trailing/1", 0,
	  { "printed an invalid answer: line 1, column ", "unexpected text after the JSON value",
	    NULL }, NULL },
	{ "badtype", "badtype/1 badtype/2", 0,
	  { "job 'badtype': configure for 'badtype/1', 'badtype/2' printed an invalid answer: "
	    "[2].inputs[0].dep_type: expected \"materialize\" or \"query\", got 'build'", NULL,
	    NULL }, NULL },
	{ "badref", "badref/1", 0,
	  { "printed an invalid answer: [0].outputs[0]: invalid ref 'badref//1'", NULL, NULL },
	  NULL },
	{ "object", "object/1", 0,
	  { "printed an invalid answer: (root): expected an array of job configs, got an object",
	    NULL, NULL }, NULL },
	{ "omit", "omit/1 omit/2 omit/3", 0,
	  { "job 'omit': configure for 'omit/1', 'omit/2', 'omit/3': no config produces "
	    "'omit/2', 'omit/3'", NULL, NULL }, NULL },
	{ "twice", "twice/1 twice/2", 0,
	  { "job 'twice': configure for 'twice/1', 'twice/2': [2].outputs[0]: 'twice/1' is also "
	    "an output of config [0]: two configs claim one ref", NULL, NULL }, NULL },
	{ "foreign", "foreign/1", 0,
	  { "job 'foreign': configure for 'foreign/1': [1].outputs[0]: 'elsewhere/1' matches "
	    "none of the job's output patterns (foreign/{x})", NULL, NULL }, NULL },
	{ "hang", "hang/1", 300,
	  { "job 'hang': configure for 'hang/1' timed out after 300 ms",
	    "\n  stderr:\n    about to hang", NULL }, NULL },
	{ "signal", "signal/1", 0,
	  { "job 'signal': configure for 'signal/1' was killed by signal 9", NULL, NULL }, NULL },
};

START_TEST(test_configure_fails)
{
	const struct fail_case *c = &fail_cases[_i];
	struct job_config_list l = JOB_CONFIG_LIST_INIT;
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	long long start;
	struct graph g;

	load(&g, NULL);
	split(&refs, c->refs);
	start = mono_ms();
	ck_assert_int_eq(planner_configure(&g, graph_job(&g, c->job), &refs, c->timeout_ms, -1, &l,
					   &err), -1);
	if (c->timeout_ms)  /* killed, not waited for (sleep 30) */
		ck_assert_msg(mono_ms() - start < 20000, "took %lld ms", mono_ms() - start);
	for (int i = 0; i < 3 && c->want[i]; i++)
		ck_assert_contains(err.buf, c->want[i]);
	if (c->unwanted)
		ck_assert_msg(!strstr(err.buf, c->unwanted), "unexpected '%s' in\n%s", c->unwanted,
			      err.buf);
	ck_assert_int_eq(l.nr, 0);
	ck_assert_ptr_null(l.items);
	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_configure_ok)
{
	struct job_config_list l = JOB_CONFIG_LIST_INIT;
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, log = STRBUF_INIT, want = STRBUF_INIT;
	char *logpath = xstrfmt("%s/calls-ok.log", dir);
	struct graph g;

	load(&g, NULL);
	split(&refs, "ok/2024-01-01 ok/2024-01-02 ok/2024-01-03");
	ck_assert_msg(planner_configure(&g, graph_job(&g, "ok"), &refs, 0, -1, &l, &err) == 0,
		      "%s", err.buf);
	ck_assert_int_eq(l.nr, 3);
	ck_assert_str_eq(l.items[1].outputs.v[0], "ok/2024-01-02");
	ck_assert_str_eq(l.items[1].inputs[0].ref, "raw/2024-01-02");
	ck_assert_str_eq(l.items[1].args.v[0], "ok/2024-01-02");
	ck_assert_str_eq(l.items[1].env.v[0], "MODE=ok");
	/* one call with every ref, run in the graph's directory */
	ck_assert_int_eq(strbuf_read_file(&log, logpath, 0), 0);
	strbuf_addf(&want, "3 %s\n", g.dir);
	ck_assert_str_eq(log.buf, want.buf);
	job_config_list_release(&l);

	/* a config may produce more than was asked for */
	strvec_clear(&refs);
	split(&refs, "extra/1 extra/2");
	ck_assert_msg(planner_configure(&g, graph_job(&g, "extra"), &refs, 0, -1, &l, &err) == 0,
		      "%s", err.buf);
	ck_assert_int_eq(l.nr, 1);
	ck_assert_int_eq(l.items[0].outputs.nr, 3);
	ck_assert_str_eq(l.items[0].outputs.v[2], "extra/all");
	job_config_list_release(&l);

	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&log);
	strbuf_release(&want);
	free(logpath);
}
END_TEST

START_TEST(test_lookup_patterns)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct job *jobs[4];
	struct graph g;

	load(&g, NULL);
	split(&refs, "ok/1 fail/2 ok/3");
	ck_assert_msg(planner_lookup(&g, &refs, jobs, 0, -1, &err) == 0, "%s", err.buf);
	ck_assert_str_eq(jobs[0]->label, "ok");
	ck_assert_str_eq(jobs[1]->label, "fail");
	ck_assert_ptr_eq(jobs[2], jobs[0]);

	strvec_clear(&refs);
	split(&refs, "ok/1 nowhere/1 ok/2 nowhere/2");
	ck_assert_int_eq(planner_lookup(&g, &refs, jobs, 0, -1, &err), -1);
	ck_assert_contains(err.buf, "no job produces 'nowhere/1' (patterns: ok/{x}, extra/{x}");
	ck_assert_contains(err.buf, "\nno job produces 'nowhere/2' (patterns: ");
	ck_assert_ptr_null(jobs[1]);
	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
}
END_TEST

static const struct lookup_case {
	const char *mode;
	const char *refs;
	long timeout_ms;
	const char *want;  /* NULL: success, each ref's job is its prefix */
} lookup_cases[] = {
	{ "good", "ok/1 fail/1 ok/2 ok/1", 0, NULL },
	{ "unknown", "ok/1", 0,
	  "lookup for 'ok/1' printed an invalid answer: nojob: no job is labelled 'nojob'" },
	{ "missing", "ok/1 ok/2", 0, "lookup for 'ok/1', 'ok/2': no job was assigned to 'ok/1', 'ok/2'" },
	{ "twice", "ok/1", 0,
	  "lookup for 'ok/1' printed an invalid answer: fail[0]: 'ok/1' is assigned to both 'ok' "
	  "and 'fail'" },
	{ "dup", "ok/1", 0, "printed an invalid answer: ok[1]: 'ok/1' is listed twice" },
	{ "extra", "ok/1", 0, "printed an invalid answer: ok[1]: 'zzz' was not asked for" },
	{ "notobject", "ok/1", 0,
	  "printed an invalid answer: (root): expected an object {\"job label\": [refs...]}, "
	  "got an array" },
	{ "notarray", "ok/1", 0, "printed an invalid answer: ok: expected an array of refs, got a string" },
	{ "number", "ok/1", 0, "printed an invalid answer: ok[0]: expected a ref string, got a number" },
	{ "syntax", "ok/1", 0,
	  "printed an invalid answer: line 2, column 1: unexpected end of input (expected a value)" },
	{ "exit", "ok/1", 0, "lookup for 'ok/1' exited with status 4\n  stderr:\n    no lookup today" },
	{ "hang", "ok/1", 300, "lookup for 'ok/1' timed out after 300 ms" },
};

START_TEST(test_lookup_exec)
{
	const struct lookup_case *c = &lookup_cases[_i];
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, args = STRBUF_INIT;
	char *argspath = xstrfmt("%s/lookup-args.log", dir);
	const struct job *jobs[8];
	struct graph g;

	load(&g, c->mode);
	split(&refs, c->refs);
	if (!c->want) {
		ck_assert_msg(planner_lookup(&g, &refs, jobs, c->timeout_ms, -1, &err) == 0, "%s",
			      err.buf);
		for (size_t i = 0; i < refs.nr; i++)
			ck_assert_int_eq(strncmp(refs.v[i], jobs[i]->label, strlen(jobs[i]->label)),
					 0);
		/* run once, each distinct ref once */
		ck_assert_int_eq(strbuf_read_file(&args, argspath, 0), 0);
		ck_assert_str_eq(args.buf, "ok/1 fail/1 ok/2\n");
	} else {
		ck_assert_int_eq(planner_lookup(&g, &refs, jobs, c->timeout_ms, -1, &err), -1);
		ck_assert_contains(err.buf, c->want);
	}
	graph_release(&g);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&args);
	free(argspath);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("configure");
	TCase *tc = tcase_create("configure");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_configure_fails, 0, sizeof(fail_cases) / sizeof(fail_cases[0]));
	tcase_add_test(tc, test_configure_ok);
	tcase_add_test(tc, test_lookup_patterns);
	tcase_add_loop_test(tc, test_lookup_exec, 0, sizeof(lookup_cases) / sizeof(lookup_cases[0]));
	suite_add_tcase(s, tc);
	return run_suite(s);
}
