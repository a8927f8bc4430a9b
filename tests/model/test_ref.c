#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/ref.h"

struct case_ {
	const char *ref;
	const char *err;  /* NULL: valid */
};

static const struct case_ cases[] = {
	{ "reviews", NULL },
	{ "reviews/date=2024-01-01", NULL },
	{ "summaries/category=comedy/date=2024-01-01", NULL },
	{ "a/b c/d,e;f", NULL },
	{ "caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9", NULL },
	{ "emoji/\xf0\x9f\x98\x80", NULL },
	{ "cjk/\xe4\xb8\xad", NULL },
	{ "back\\slash", NULL },
	{ "...", NULL },
	{ ".hidden/x", NULL },
	{ "a/.databuild", NULL },
	{ ".databuildx/y", NULL },
	{ "x.error/y", NULL },
	{ "a/b.manifest.jsonx", NULL },
	{ "a/b.errors", NULL },
	{ "", "invalid ref '': empty ref" },
	{ "/a", "invalid ref '/a': leading '/' (empty segment at byte 0)" },
	{ "/", "invalid ref '/': leading '/' (empty segment at byte 0)" },
	{ "a/", "invalid ref 'a/': trailing '/' (empty segment at byte 2)" },
	{ "a//b", "invalid ref 'a//b': empty segment at byte 2" },
	{ "a/b//", "invalid ref 'a/b//': empty segment at byte 4" },
	{ ".", "invalid ref '.': segment '.' at byte 0 is not allowed" },
	{ "..", "invalid ref '..': segment '..' at byte 0 is not allowed" },
	{ "../x", "invalid ref '../x': segment '..' at byte 0 is not allowed" },
	{ "a/./b", "invalid ref 'a/./b': segment '.' at byte 2 is not allowed" },
	{ "a/..", "invalid ref 'a/..': segment '..' at byte 2 is not allowed" },
	{ "a\nb", "invalid ref 'a\\x0ab': control character 0x0a at byte 1" },
	{ "a/\tb", "invalid ref 'a/\\x09b': control character 0x09 at byte 2" },
	{ "\x01", "invalid ref '\\x01': control character 0x01 at byte 0" },
	{ "a\x7f", "invalid ref 'a\\x7f': control character 0x7f at byte 1" },
	{ "a\x1f/b", "invalid ref 'a\\x1f/b': control character 0x1f at byte 1" },
	{ "c1/\xc2\x85", "invalid ref 'c1/\\xc2\\x85': control character U+0085 at byte 3" },
	{ "a/\xff", "invalid ref 'a/\\xff': invalid UTF-8 at byte 2" },
	{ "\x80x", "invalid ref '\\x80x': invalid UTF-8 at byte 0" },
	{ "ov/\xc0\xaf", "invalid ref 'ov/\\xc0\\xaf': invalid UTF-8 at byte 3" },
	{ "ov3/\xe0\x80\xaf", "invalid ref 'ov3/\\xe0\\x80\\xaf': invalid UTF-8 at byte 4" },
	{ "sur/\xed\xa0\x80", "invalid ref 'sur/\\xed\\xa0\\x80': invalid UTF-8 at byte 4" },
	{ "big/\xf4\x90\x80\x80", "invalid ref 'big/\\xf4\\x90\\x80\\x80': invalid UTF-8 at byte 4" },
	{ "cut/\xe2\x82", "invalid ref 'cut/\\xe2\\x82': invalid UTF-8 at byte 4" },
	{ "cut2/\xe2\x82/x", "invalid ref 'cut2/\\xe2\\x82/x': invalid UTF-8 at byte 5" },
	{ "a/b.manifest.json",
	  "invalid ref 'a/b.manifest.json': name 'b.manifest.json' ends in the reserved suffix '.manifest.json'" },
	{ "b.manifest.json",
	  "invalid ref 'b.manifest.json': name 'b.manifest.json' ends in the reserved suffix '.manifest.json'" },
	{ "a/.manifest.json",
	  "invalid ref 'a/.manifest.json': name '.manifest.json' ends in the reserved suffix '.manifest.json'" },
	{ "a/b.error", "invalid ref 'a/b.error': name 'b.error' ends in the reserved suffix '.error'" },
	{ ".databuild", "invalid ref '.databuild': top-level name '.databuild' is reserved" },
	{ ".databuild/status", "invalid ref '.databuild/status': top-level name '.databuild' is reserved" },
};

START_TEST(test_validate)
{
	const struct case_ *c = &cases[_i];
	struct strbuf err = STRBUF_INIT;
	int rc = ref_validate(c->ref, &err);

	if (c->err) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(err.buf, c->err);
		ck_assert_int_eq(ref_validate(c->ref, NULL), -1);
		for (size_t i = 0; i < err.len; i++)
			ck_assert_msg((unsigned char)err.buf[i] >= 0x20 && err.buf[i] != 0x7f,
				      "unprintable byte in message '%s'", err.buf);
	} else {
		ck_assert_msg(rc == 0, "'%s' rejected: %s", c->ref, err.buf);
		ck_assert_uint_eq(err.len, 0);
	}
	strbuf_release(&err);
}
END_TEST

struct len_case {
	size_t nseg, seglen;
	const char *err;   /* expected message suffix, NULL: valid */
};

static const struct len_case len_cases[] = {
	{ 1, 255, NULL },
	{ 1, 256, "': segment 1 at byte 0 is longer than 255 bytes (256)" },
	{ 3, 256, "': segment 1 at byte 0 is longer than 255 bytes (256)" },
	{ 4, 255, NULL },                     /* 4*255+3 = 1023 bytes */
	{ 5, 203, NULL },                     /* 5*203+4 = 1019 */
	{ 4, 256, "': longer than 1024 bytes (1027)" },
	{ 5, 205, "': longer than 1024 bytes (1029)" },
	{ 513, 1, "': longer than 1024 bytes (1025)" },
	{ 512, 1, NULL },                     /* 1023 bytes */
};

START_TEST(test_lengths)
{
	const struct len_case *c = &len_cases[_i];
	struct strbuf ref = STRBUF_INIT, err = STRBUF_INIT;

	for (size_t s = 0; s < c->nseg; s++) {
		if (s)
			strbuf_addch(&ref, '/');
		for (size_t k = 0; k < c->seglen; k++)
			strbuf_addch(&ref, 'a' + (char)(s % 26));
	}
	if (!c->err) {
		ck_assert_msg(!ref_validate(ref.buf, &err), "%s", err.buf);
	} else {
		ck_assert_int_eq(ref_validate(ref.buf, &err), -1);
		ck_assert_msg(strstr(err.buf, c->err), "message '%s' lacks '%s'", err.buf, c->err);
		/* long refs are cut when quoted */
		ck_assert_uint_lt(err.len, 300);
	}
	strbuf_release(&ref);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_exact_max)
{
	struct strbuf ref = STRBUF_INIT, err = STRBUF_INIT;

	/* four 255-byte segments, then the last one grown to 256 bytes */
	for (int s = 0; s < 4; s++) {
		for (int k = 0; k < 255; k++)
			strbuf_addch(&ref, 'x');
		strbuf_addch(&ref, '/');
	}
	ck_assert_uint_eq(ref.len, 1024);
	strbuf_setlen(&ref, 1023);
	strbuf_addch(&ref, 'y');       /* "xxx.../xxx...y": 1024 bytes, last seg 256 */
	ck_assert_int_eq(ref_validate(ref.buf, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, "segment 4 at byte 768 is longer than 255 bytes (256)"));
	strbuf_reset(&err);
	ref.buf[1019] = '/';           /* last segments now 251 and 4 bytes: 1024 total */
	ck_assert_msg(!ref_validate(ref.buf, &err), "%s", err.buf);
	strbuf_release(&ref);
	strbuf_release(&err);
}
END_TEST

struct part_case {
	const char *ref;
	size_t dataset_len, depth;
};

static const struct part_case part_cases[] = {
	{ "a", 0, 1 },
	{ "reviews/date=1", 7, 2 },
	{ "summaries/category=comedy/date=2024-01-01", 25, 3 },
	{ "", 0, 0 },
};

START_TEST(test_parts)
{
	const struct part_case *c = &part_cases[_i];

	ck_assert_uint_eq(ref_dataset_len(c->ref), c->dataset_len);
	ck_assert_uint_eq(ref_depth(c->ref), c->depth);
}
END_TEST

struct sidecar_case {
	const char *name, *suffix;
	size_t stem;
};

static const struct sidecar_case sidecar_cases[] = {
	{ "date=1.manifest.json", SIDECAR_MANIFEST, 6 },
	{ "date=1.error", SIDECAR_ERROR, 6 },
	{ "x.json", NULL, 0 },
	{ ".manifest.json", NULL, 0 },
	{ ".error", NULL, 0 },
	{ "a.errorx", NULL, 0 },
	{ "a.manifest.json.error", SIDECAR_ERROR, 15 },
};

START_TEST(test_sidecar)
{
	const struct sidecar_case *c = &sidecar_cases[_i];
	size_t stem = 12345;
	const char *s = ref_sidecar_suffix(c->name, &stem);

	if (!c->suffix) {
		ck_assert_ptr_null(s);
	} else {
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, c->suffix);
		ck_assert_uint_eq(stem, c->stem);
		ck_assert_ptr_nonnull(ref_sidecar_suffix(c->name, NULL));
	}
}
END_TEST

struct char_case {
	const char *s;
	size_t avail;
	int len;
};

static const struct char_case char_cases[] = {
	{ "a", 1, 1 },
	{ " ", 1, 1 },
	{ "~", 1, 1 },
	{ "\x1f", 1, 0 },
	{ "\x7f", 1, 0 },
	{ "\xc3\xa9", 2, 2 },
	{ "\xc3\xa9", 1, 0 },
	{ "\xc2\xa0", 2, 2 },
	{ "\xc2\x9f", 2, 0 },
	{ "\xc1\xbf", 2, 0 },
	{ "\xe2\x82\xac", 3, 3 },
	{ "\xef\xbf\xbd", 3, 3 },
	{ "\xed\x9f\xbf", 3, 3 },
	{ "\xed\xa0\x80", 3, 0 },
	{ "\xf0\x9f\x98\x80", 4, 4 },
	{ "\xf0\x8f\xbf\xbf", 4, 0 },
	{ "\xf4\x8f\xbf\xbf", 4, 4 },
	{ "\xf5\x80\x80\x80", 4, 0 },
	{ "\xe2\x28\xa1", 3, 0 },
	{ "", 0, 0 },
};

START_TEST(test_char_len)
{
	const struct char_case *c = &char_cases[_i];

	ck_assert_int_eq(ref_char_len(c->s, c->avail), c->len);
}
END_TEST

START_TEST(test_quote_cut)
{
	struct strbuf ref = STRBUF_INIT, q = STRBUF_INIT;

	for (int i = 0; i < 300; i++)
		strbuf_addch(&ref, 'q');
	ref_addquoted(&q, ref.buf);
	ck_assert_uint_eq(q.len, 203);
	ck_assert_str_eq(q.buf + 200, "...");
	strbuf_release(&ref);
	strbuf_release(&q);
}
END_TEST

static Suite *ref_suite(void)
{
	Suite *s = suite_create("ref");
	TCase *tc = tcase_create("ref");

	tcase_add_loop_test(tc, test_validate, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, test_lengths, 0, sizeof(len_cases) / sizeof(len_cases[0]));
	tcase_add_test(tc, test_exact_max);
	tcase_add_loop_test(tc, test_parts, 0, sizeof(part_cases) / sizeof(part_cases[0]));
	tcase_add_loop_test(tc, test_sidecar, 0, sizeof(sidecar_cases) / sizeof(sidecar_cases[0]));
	tcase_add_loop_test(tc, test_char_len, 0, sizeof(char_cases) / sizeof(char_cases[0]));
	tcase_add_test(tc, test_quote_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ref_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
