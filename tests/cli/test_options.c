#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "core/array.h"

/* What the test table sets, printed by state_text for comparison. */
struct state {
	int flag, count, num;
	long big;
	const char *str, *color;
	struct strvec list;
	int secret;
};

static int cb_color(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	if (strcmp(arg, "red") && strcmp(arg, "blue")) {
		strbuf_addf(err, "unknown color '%s' (red, blue)", arg);
		return -1;
	}
	*(const char **)opt->value = arg;
	return 0;
}

static const char head[] = "usage: databuild test [options] ARG...\n\nA test command.\n";

#define TEST_OPTIONS(st) { \
	OPT_FLAG('f', "flag", &(st)->flag, "a flag"), \
	OPT_COUNT('v', "verbose", &(st)->count, "say more"), \
	OPT_INT('j', "jobs", &(st)->num, "N", 1, 8, "at most N\nat once"), \
	OPT_LONG(0, "big", &(st)->big, "N", 0, LONG_MAX, "a long"), \
	OPT_STRING('s', "str", &(st)->str, "S", "a string"), \
	OPT_STRVEC('o', NULL, &(st)->list, "OPT", "repeatable"), \
	{ .type = CLI_OPT_CALLBACK, .long_name = "color", .value = &(st)->color, .argh = "C", \
	  .cb = cb_color, .choices = "red blue", .help = "red or blue" }, \
	{ .type = CLI_OPT_FLAG, .long_name = "secret", .value = &(st)->secret, \
	  .flags = CLI_OPT_HIDDEN }, \
	OPT_END(), \
}

static void state_text(const struct state *st, int n, char **args, struct strbuf *out)
{
	strbuf_addf(out, "flag=%d count=%d num=%d big=%ld str=%s color=%s secret=%d list=[",
		    st->flag, st->count, st->num, st->big, st->str ? st->str : "-",
		    st->color ? st->color : "-", st->secret);
	for (size_t i = 0; i < st->list.nr; i++)
		strbuf_addf(out, "%s%s", i ? "," : "", st->list.v[i]);
	strbuf_addstr(out, "] args=[");
	for (int i = 0; i < n; i++)
		strbuf_addf(out, "%s%s", i ? "," : "", args[i]);
	strbuf_addch(out, ']');
}

/* Redirects a stream's descriptor to a temporary file until capture_end. */
struct capture {
	FILE *stream, *tmp;
	int saved;
};

static void capture_begin(struct capture *c, FILE *stream)
{
	fflush(stream);
	c->stream = stream;
	c->tmp = tmpfile();
	ck_assert_ptr_nonnull(c->tmp);
	c->saved = dup(fileno(stream));
	dup2(fileno(c->tmp), fileno(stream));
}

static void capture_end(struct capture *c, struct strbuf *out)
{
	fflush(c->stream);
	dup2(c->saved, fileno(c->stream));
	close(c->saved);
	lseek(fileno(c->tmp), 0, SEEK_SET);
	ck_assert_int_ge(strbuf_read_fd(out, fileno(c->tmp), 1 << 20), 0);
	fclose(c->tmp);
}

/*
 * A case: argv after the command name "test" (NULL-ended), the parse
 * flags, and what comes out: the result (>= 0: that many arguments), the
 * state_text after a successful parse, a line stderr must contain.
 */
struct parse_case {
	const char *argv[8];
	unsigned flags;
	int ret;
	const char *state;
	const char *err;
};

#define NONE "flag=0 count=0 num=0 big=0 str=- color=- secret=0 list=[]"
#define E(msg) "databuild: test: " msg "\n"

static const struct parse_case parse_cases[] = {
	{ { NULL }, 0, 0, NONE " args=[]", "" },
	{ { "a", "-", "b" }, 0, 3, NONE " args=[a,-,b]", "" },
	/* options before, between and after arguments */
	{ { "a", "--flag", "b", "-v" }, 0, 2,
	  "flag=1 count=1 num=0 big=0 str=- color=- secret=0 list=[] args=[a,b]", "" },
	/* -- ends the options */
	{ { "a", "--", "--flag", "-v", "--" }, 0, 4, NONE " args=[a,--flag,-v,--]", "" },
	{ { "--" }, 0, 0, NONE " args=[]", "" },
	/* values: --opt=v, --opt v, -xv, -x v, a value that looks like an option */
	{ { "--str=v" }, 0, 0, "flag=0 count=0 num=0 big=0 str=v color=- secret=0 list=[] args=[]", "" },
	{ { "--str", "v" }, 0, 0, "flag=0 count=0 num=0 big=0 str=v color=- secret=0 list=[] args=[]", "" },
	{ { "--str=" }, 0, 0, "flag=0 count=0 num=0 big=0 str= color=- secret=0 list=[] args=[]", "" },
	{ { "-sv" }, 0, 0, "flag=0 count=0 num=0 big=0 str=v color=- secret=0 list=[] args=[]", "" },
	{ { "-s", "v" }, 0, 0, "flag=0 count=0 num=0 big=0 str=v color=- secret=0 list=[] args=[]", "" },
	{ { "-s", "--flag" }, 0, 0,
	  "flag=0 count=0 num=0 big=0 str=--flag color=- secret=0 list=[] args=[]", "" },
	{ { "--str", "a=b" }, 0, 0,
	  "flag=0 count=0 num=0 big=0 str=a=b color=- secret=0 list=[] args=[]", "" },
	/* missing values */
	{ { "--str" }, 0, CLI_PARSE_ERROR, NULL, E("option '--str' needs a value") },
	{ { "a", "-s" }, 0, CLI_PARSE_ERROR, NULL, E("option '-s' needs a value") },
	{ { "--jobs" }, 0, CLI_PARSE_ERROR, NULL, E("option '--jobs' needs a value") },
	/* unknown options, flags given a value */
	{ { "--nope" }, 0, CLI_PARSE_ERROR, NULL,
	  E("unknown option '--nope' (see 'databuild test --help')") },
	{ { "--nope=1" }, 0, CLI_PARSE_ERROR, NULL,
	  E("unknown option '--nope=1' (see 'databuild test --help')") },
	{ { "-x" }, 0, CLI_PARSE_ERROR, NULL, E("unknown option '-x' (see 'databuild test --help')") },
	{ { "-fv" }, 0, CLI_PARSE_ERROR, NULL, E("unknown option '-fv' (see 'databuild test --help')") },
	{ { "--fla" }, 0, CLI_PARSE_ERROR, NULL, E("unknown option '--fla' (see 'databuild test --help')") },
	{ { "---flag" }, 0, CLI_PARSE_ERROR, NULL,
	  E("unknown option '---flag' (see 'databuild test --help')") },
	{ { "--flag=1" }, 0, CLI_PARSE_ERROR, NULL, E("option '--flag' takes no value") },
	/* repeated options: counted, listed, the last one wins */
	{ { "-v", "--verbose", "-v" }, 0, 0,
	  "flag=0 count=3 num=0 big=0 str=- color=- secret=0 list=[] args=[]", "" },
	{ { "-o", "a", "-ob", "-o", "" }, 0, 0,
	  "flag=0 count=0 num=0 big=0 str=- color=- secret=0 list=[a,b,] args=[]", "" },
	{ { "--str", "a", "--str=b", "-f", "--flag" }, 0, 0,
	  "flag=1 count=0 num=0 big=0 str=b color=- secret=0 list=[] args=[]", "" },
	/* integers and their bounds */
	{ { "-j", "8", "--big=9223372036854775807" }, 0, 0,
	  "flag=0 count=0 num=8 big=9223372036854775807 str=- color=- secret=0 list=[] args=[]", "" },
	{ { "-j1" }, 0, 0, "flag=0 count=0 num=1 big=0 str=- color=- secret=0 list=[] args=[]", "" },
	{ { "-j9" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '-j': expected an integer from 1 to 8, got '9'") },
	{ { "--jobs=0" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--jobs': expected an integer from 1 to 8, got '0'") },
	{ { "--jobs", "2x" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--jobs': expected an integer from 1 to 8, got '2x'") },
	{ { "--jobs=" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--jobs': expected an integer from 1 to 8, got ''") },
	{ { "--big", "-1" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--big': expected an integer from 0 to 9223372036854775807, got '-1'") },
	{ { "--big", "99999999999999999999" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--big': expected an integer from 0 to 9223372036854775807, "
	    "got '99999999999999999999'") },
	/* callbacks */
	{ { "--color", "red" }, 0, 0,
	  "flag=0 count=0 num=0 big=0 str=- color=red secret=0 list=[] args=[]", "" },
	{ { "--color=green" }, 0, CLI_PARSE_ERROR, NULL,
	  E("option '--color': unknown color 'green' (red, blue)") },
	/* a hidden option works, it is only not shown */
	{ { "--secret" }, 0, 0, "flag=0 count=0 num=0 big=0 str=- color=- secret=1 list=[] args=[]", "" },
	/* stopping at the first argument (the global options before a command) */
	{ { "-f", "cmd", "--str", "x", "--" }, CLI_PARSE_STOP_AT_NON_OPTION, 4,
	  "flag=1 count=0 num=0 big=0 str=- color=- secret=0 list=[] args=[cmd,--str,x,--]", "" },
	{ { "-f", "--", "-cmd" }, CLI_PARSE_STOP_AT_NON_OPTION, 1,
	  "flag=1 count=0 num=0 big=0 str=- color=- secret=0 list=[] args=[-cmd]", "" },
	/* help, before an error or an argument */
	{ { "-h", "--nope" }, 0, CLI_PARSE_HELP, NULL, "" },
	{ { "a", "--help" }, 0, CLI_PARSE_HELP, NULL, "" },
	{ { "--list-options" }, 0, CLI_PARSE_HELP, NULL, "" },
	{ { "-hx" }, 0, CLI_PARSE_ERROR, NULL, E("unknown option '-hx' (see 'databuild test --help')") },
	{ { "--help=1" }, 0, CLI_PARSE_ERROR, NULL, E("option '--help' takes no value") },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct state st = { .str = NULL, .color = NULL, .list = STRVEC_INIT };
	const struct cli_option options[] = TEST_OPTIONS(&st);
	const struct cli_usage u = { .cmd = "test", .head = head };
	struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
	struct capture cap;
	char *argv[10] = { (char *)"test" };
	int argc = 1, n;

	while (c->argv[argc - 1])
		argv[argc] = (char *)c->argv[argc - 1], argc++;
	capture_begin(&cap, stderr);
	n = cli_parse_options(argc, argv, &u, options, c->flags);
	capture_end(&cap, &err);
	ck_assert_msg(n == c->ret, "case %d: returned %d, not %d (stderr: %s)", _i, n, c->ret,
		      err.buf);
	ck_assert_str_eq(err.buf, c->err);
	if (c->state) {
		state_text(&st, n, argv, &got);
		ck_assert_str_eq(got.buf, c->state);
	}
	strvec_clear(&st.list);
	strbuf_release(&got);
	strbuf_release(&err);
}
END_TEST

#define TEST_HEAD "usage: databuild test [options] ARG...\n\nA test command.\n\n"
#define TEST_LINES \
	"  -f, --flag     a flag\n" \
	"  -v, --verbose  say more\n" \
	"  -j, --jobs N   at most N\n" \
	"                 at once\n" \
	"  --big N        a long\n" \
	"  -s, --str S    a string\n" \
	"  -o OPT         repeatable\n" \
	"  --color C      red or blue\n" \
	"  -h, --help     this text\n"

static const char test_list[] =
	"-f --flag\n"
	"-v --verbose\n"
	"-j --jobs N\n"
	"--big N\n"
	"-s --str S\n"
	"-o OPT\n"
	"--color C red blue\n"
	"-h --help\n";

/* -h, --help and --list-options print on stdout, from the table. */
struct output_case {
	const char *arg;
	const char *tail, *title;
	const char *out;
};

static const struct output_case output_cases[] = {
	{ "-h", NULL, NULL, TEST_HEAD "options:\n" TEST_LINES },
	{ "--help", "exit status: 0\n", NULL, TEST_HEAD "options:\n" TEST_LINES "\nexit status: 0\n" },
	{ "--help", NULL, "global options:", TEST_HEAD "global options:\n" TEST_LINES },
	{ "--list-options", NULL, NULL, test_list },
};

START_TEST(test_output)
{
	const struct output_case *c = &output_cases[_i];
	struct state st = { .str = NULL, .color = NULL, .list = STRVEC_INIT };
	const struct cli_option options[] = TEST_OPTIONS(&st);
	const struct cli_usage u = { .cmd = "test", .head = head, .title = c->title,
				     .tail = c->tail };
	struct strbuf out = STRBUF_INIT;
	struct capture cap;
	char *argv[] = { (char *)"test", (char *)c->arg, NULL };

	capture_begin(&cap, stdout);
	ck_assert_int_eq(cli_parse_options(2, argv, &u, options, 0), CLI_PARSE_HELP);
	capture_end(&cap, &out);
	ck_assert_str_eq(out.buf, c->out);
	strbuf_release(&out);
}
END_TEST

/* A table with its own OPT_HELP: its line, where it stands, replaces the built-in one. */
START_TEST(test_own_help)
{
	int version = 0;
	const struct cli_option options[] = {
		OPT_HELP("this text; more with COMMAND --help"),
		OPT_FLAG(0, "version", &version, "print the version"),
		OPT_END(),
	};
	const struct cli_usage u = { .cmd = NULL, .head = "usage: databuild\n" };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct capture cap;
	char *argv[] = { (char *)"databuild", (char *)"--version", (char *)"--help", NULL };
	char *bad[] = { (char *)"databuild", (char *)"--nope", NULL };

	capture_begin(&cap, stdout);
	ck_assert_int_eq(cli_parse_options(3, argv, &u, options, 0), CLI_PARSE_HELP);
	capture_end(&cap, &out);
	ck_assert_int_eq(version, 1);
	ck_assert_str_eq(out.buf, "usage: databuild\n\noptions:\n"
			 "  -h, --help  this text; more with COMMAND --help\n"
			 "  --version   print the version\n");
	capture_begin(&cap, stderr);
	ck_assert_int_eq(cli_parse_options(2, bad, &u, options, 0), CLI_PARSE_ERROR);
	capture_end(&cap, &err);
	ck_assert_str_eq(err.buf, "databuild: unknown option '--nope' (see 'databuild --help')\n");
	strbuf_release(&out);
	strbuf_release(&err);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("cli-options");
	TCase *tc = tcase_create("options");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_loop_test(tc, test_output, 0, sizeof(output_cases) / sizeof(output_cases[0]));
	tcase_add_test(tc, test_own_help);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
