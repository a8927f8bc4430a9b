#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "model/pattern.h"
#include "core/proc.h"

struct parse_case {
	const char *text;
	const char *err;     /* NULL: valid */
	const char *names;   /* valid: comma-joined placeholder names */
	size_t depth, literal_prefix;
};

static const struct parse_case parse_cases[] = {
	{ "reviews/date={date}", NULL, "date", 2, 13 },
	{ "summaries/category={category}/date={date}", NULL, "category,date", 3, 19 },
	{ "fixed/partition", NULL, "", 2, 15 },
	{ "{a}", NULL, "a", 1, 0 },
	{ "x/{a}-{b}.csv", NULL, "a,b", 2, 2 },
	{ "{_x1}/{Y_2}", NULL, "_x1,Y_2", 2, 0 },
	{ "{d}.error.txt", NULL, "d", 1, 0 },
	{ "caf\xc3\xa9/{x}", NULL, "x", 2, 6 },
	{ "{x}/.databuild", NULL, "x", 2, 0 },
	{ "", "invalid pattern '': empty pattern", NULL, 0, 0 },
	{ "/a/{x}", "invalid pattern '/a/{x}': leading '/' (empty segment at byte 0)", NULL, 0, 0 },
	{ "a/{x}/", "invalid pattern 'a/{x}/': trailing '/' (empty segment at byte 6)", NULL, 0, 0 },
	{ "a//{x}", "invalid pattern 'a//{x}': empty segment at byte 2", NULL, 0, 0 },
	{ "./{x}", "invalid pattern './{x}': segment '.' at byte 0 is not allowed", NULL, 0, 0 },
	{ "a/../{x}", "invalid pattern 'a/../{x}': segment '..' at byte 2 is not allowed", NULL, 0, 0 },
	{ ".databuild/{x}", "invalid pattern '.databuild/{x}': top-level name '.databuild' is reserved",
	  NULL, 0, 0 },
	{ "a/{x}.manifest.json",
	  "invalid pattern 'a/{x}.manifest.json': last segment ends in the reserved suffix '.manifest.json'",
	  NULL, 0, 0 },
	{ "a/{x}.error", "invalid pattern 'a/{x}.error': last segment ends in the reserved suffix '.error'",
	  NULL, 0, 0 },
	{ "a/b.error", "invalid pattern 'a/b.error': last segment ends in the reserved suffix '.error'",
	  NULL, 0, 0 },
	{ "a/{x", "invalid pattern 'a/{x': unterminated '{' at byte 2", NULL, 0, 0 },
	{ "a/{x/y}", "invalid pattern 'a/{x/y}': unterminated '{' at byte 2", NULL, 0, 0 },
	{ "a/x}", "invalid pattern 'a/x}': unmatched '}' at byte 3", NULL, 0, 0 },
	{ "a/{}", "invalid pattern 'a/{}': empty placeholder '{}' at byte 2", NULL, 0, 0 },
	{ "a/{1x}",
	  "invalid pattern 'a/{1x}': invalid placeholder name '1x' at byte 2 (expected [A-Za-z_][A-Za-z0-9_]*)",
	  NULL, 0, 0 },
	{ "a/{x-y}",
	  "invalid pattern 'a/{x-y}': invalid placeholder name 'x-y' at byte 2 (expected [A-Za-z_][A-Za-z0-9_]*)",
	  NULL, 0, 0 },
	{ "a/{x{y}}",
	  "invalid pattern 'a/{x{y}}': invalid placeholder name 'x{y' at byte 2 (expected [A-Za-z_][A-Za-z0-9_]*)",
	  NULL, 0, 0 },
	{ "{x}/{x}", "invalid pattern '{x}/{x}': duplicate placeholder '{x}' at byte 4", NULL, 0, 0 },
	{ "a/{x}{y}", "invalid pattern 'a/{x}{y}': adjacent placeholders at byte 5", NULL, 0, 0 },
	{ "a\n/{x}", "invalid pattern 'a\\x0a/{x}': control character 0x0a at byte 1", NULL, 0, 0 },
	{ "a/{x}\x7f", "invalid pattern 'a/{x}\\x7f': control character 0x7f at byte 5", NULL, 0, 0 },
	{ "\xff/{x}", "invalid pattern '\\xff/{x}': invalid UTF-8 or control character at byte 0",
	  NULL, 0, 0 },
	{ "c1/\xc2\x85{x}", "invalid pattern 'c1/\\xc2\\x85{x}': invalid UTF-8 or control character at byte 3",
	  NULL, 0, 0 },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct pattern p;
	struct strbuf err = STRBUF_INIT, names = STRBUF_INIT;
	int rc = pattern_parse(&p, c->text, &err);

	if (c->err) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(err.buf, c->err);
		pattern_release(&p);   /* safe after a failed parse */
		ck_assert_int_eq(pattern_parse(&p, c->text, NULL), -1);
	} else {
		ck_assert_msg(rc == 0, "%s", err.buf);
		for (size_t i = 0; i < p.names.nr; i++)
			strbuf_addf(&names, "%s%s", i ? "," : "", p.names.v[i]);
		ck_assert_str_eq(names.buf, c->names);
		ck_assert_uint_eq(p.depth, c->depth);
		ck_assert_uint_eq(p.literal_prefix, c->literal_prefix);
		ck_assert_str_eq(p.text, c->text);
		pattern_release(&p);
	}
	strbuf_release(&err);
	strbuf_release(&names);
}
END_TEST

START_TEST(test_parse_long)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	struct pattern p;

	for (int i = 0; i < 256; i++)
		strbuf_addch(&text, 's');
	strbuf_addstr(&text, "/{x}");
	ck_assert_int_eq(pattern_parse(&p, text.buf, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "': segment at byte 0 is longer than 255 bytes (256)"));
	strbuf_reset(&text);
	strbuf_reset(&err);
	for (int i = 0; i < 205; i++)
		strbuf_addstr(&text, "abcd/");
	strbuf_addstr(&text, "{x}");
	ck_assert_int_eq(pattern_parse(&p, text.buf, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "': longer than 1024 bytes (1028)"));
	strbuf_release(&text);
	strbuf_release(&err);
}
END_TEST

struct match_case {
	const char *pattern, *ref;
	const char *values;   /* NULL: no match; else comma-joined values */
};

static const struct match_case match_cases[] = {
	{ "reviews/date={date}", "reviews/date=2024-01-01", "2024-01-01" },
	{ "reviews/date={date}", "reviews/date=", NULL },
	{ "reviews/date={date}", "reviews/date=1/x", NULL },
	{ "reviews/date={date}", "reviews", NULL },
	{ "reviews/date={date}", "review/date=1", NULL },
	{ "reviews/date={date}", "reviews/Date=1", NULL },
	{ "summaries/category={category}/date={date}", "summaries/category=comedy/date=2024-01-01",
	  "comedy,2024-01-01" },
	{ "summaries/category={category}/date={date}", "summaries/category=/date=1", NULL },
	{ "{a}/{b}", "x/y", "x,y" },
	{ "{a}", "x", "x" },
	{ "{a}", "x/y", NULL },
	{ "{a}-{b}", "x-y-z", "x,y-z" },
	{ "{a}-{b}", "x-", NULL },
	{ "{a}-{b}", "-x", NULL },
	{ "{a}-{b}", "--x", "-,x" },
	{ "{name}.csv", "a.csv.csv", "a.csv" },
	{ "{name}.csv", ".csv", NULL },
	{ "{name}.csv", "a.csvx", NULL },
	{ "p{a}q{b}r", "pxqyqzr", "x,yqz" },
	{ "p{a}q{b}r", "pqqr", NULL },
	{ "x_{a}_{b}_{c}", "x_1_2_3_4", "1,2,3_4" },
	{ "fixed/partition", "fixed/partition", "" },
	{ "fixed/partition", "fixed/partitio", NULL },
	{ "fixed/partition", "fixed/partitionx", NULL },
	{ "caf\xc3\xa9/{x}", "caf\xc3\xa9/\xe2\x82\xac", "\xe2\x82\xac" },
};

START_TEST(test_match)
{
	const struct match_case *c = &match_cases[_i];
	struct pattern p;
	struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
	struct strvec values = STRVEC_INIT;
	int m;

	ck_assert_msg(!pattern_parse(&p, c->pattern, &err), "%s", err.buf);
	strvec_push(&values, "keep");
	m = pattern_match(&p, c->ref, &values);
	ck_assert_int_eq(m, pattern_match(&p, c->ref, NULL));
	if (!c->values) {
		ck_assert_int_eq(m, 0);
		ck_assert_uint_eq(values.nr, 1);
	} else {
		ck_assert_msg(m == 1, "'%s' does not match '%s'", c->ref, c->pattern);
		ck_assert_uint_eq(values.nr, 1 + p.names.nr);
		for (size_t i = 1; i < values.nr; i++)
			strbuf_addf(&got, "%s%s", i > 1 ? "," : "", values.v[i]);
		ck_assert_str_eq(got.buf, c->values);
	}
	ck_assert_str_eq(values.v[0], "keep");
	strvec_clear(&values);
	strbuf_release(&got);
	strbuf_release(&err);
	pattern_release(&p);
}
END_TEST

START_TEST(test_match_pathological)
{
	struct strbuf pat = STRBUF_INIT, ref = STRBUF_INIT, err = STRBUF_INIT;
	struct pattern p;
	long long t0;

	/* many placeholders separated by the same literal, against a long run of
	 * that literal that cannot match: naive backtracking is exponential */
	for (int i = 0; i < 40; i++)
		strbuf_addf(&pat, "{p%d}x", i);
	strbuf_addstr(&pat, "y");
	for (int i = 0; i < 200; i++)
		strbuf_addch(&ref, 'x');
	strbuf_addch(&ref, 'z');
	ck_assert_msg(!pattern_parse(&p, pat.buf, &err), "%s", err.buf);
	t0 = mono_ms();
	ck_assert_int_eq(pattern_match(&p, ref.buf, NULL), 0);
	ck_assert_int_lt(mono_ms() - t0, 5000);
	pattern_release(&p);
	strbuf_release(&pat);
	strbuf_release(&ref);
	strbuf_release(&err);
}
END_TEST

struct dir_case {
	const char *pattern, *dir;
	int want;
};

static const struct dir_case dir_cases[] = {
	{ "reviews/date={date}", "", 2 },
	{ "reviews/date={date}", "reviews", 1 },
	{ "reviews/date={date}", "other", 0 },
	{ "reviews/date={date}", "reviews/date=1", 0 },
	{ "summaries/category={category}/date={date}", "", 2 },
	{ "summaries/category={category}/date={date}", "summaries", 2 },
	{ "summaries/category={category}/date={date}", "summaries/category=comedy", 1 },
	{ "summaries/category={category}/date={date}", "summaries/cat=comedy", 0 },
	{ "summaries/category={category}/date={date}", "summaries/category=", 0 },
	{ "summaries/category={category}/date={date}", "summaries/category=comedy/date=1", 0 },
	{ "{x}", "", 1 },
	{ "{x}", "a", 0 },
	{ "{x}/{y}/{z}", "a/b", 1 },
	{ "{x}/{y}/{z}", "a", 2 },
};

START_TEST(test_match_dir)
{
	const struct dir_case *c = &dir_cases[_i];
	struct pattern p;
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(!pattern_parse(&p, c->pattern, &err), "%s", err.buf);
	ck_assert_int_eq(pattern_match_dir(&p, c->dir), c->want);
	pattern_release(&p);
	strbuf_release(&err);
}
END_TEST

struct lit_case {
	const char *pattern;
	size_t index;
	const char *want;  /* NULL: no literal */
};

static const struct lit_case lit_cases[] = {
	{ "reviews/date={date}", 0, "reviews" },
	{ "reviews/date={date}", 1, NULL },
	{ "reviews/date={date}", 2, NULL },
	{ "a/b/{c}/d", 1, "b" },
	{ "a/b/{c}/d", 3, "d" },
	{ "{c}", 0, NULL },
};

START_TEST(test_literal_segment)
{
	const struct lit_case *c = &lit_cases[_i];
	struct pattern p;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	const char *got;

	ck_assert_msg(!pattern_parse(&p, c->pattern, &err), "%s", err.buf);
	strbuf_addstr(&out, "prefix:");
	got = pattern_literal_segment(&p, c->index, &out);
	if (!c->want) {
		ck_assert_ptr_null(got);
		ck_assert_str_eq(out.buf, "prefix:");
	} else {
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, c->want);
		ck_assert_ptr_eq(got, out.buf + 7);
	}
	pattern_release(&p);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

static Suite *pattern_suite(void)
{
	Suite *s = suite_create("pattern");
	TCase *tc = tcase_create("pattern");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_long);
	tcase_add_loop_test(tc, test_match, 0, sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_test(tc, test_match_pathological);
	tcase_add_loop_test(tc, test_match_dir, 0, sizeof(dir_cases) / sizeof(dir_cases[0]));
	tcase_add_loop_test(tc, test_literal_segment, 0, sizeof(lit_cases) / sizeof(lit_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pattern_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
