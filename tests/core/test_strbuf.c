#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/strbuf.h"

START_TEST(test_basics)
{
	struct strbuf sb = STRBUF_INIT;
	char *s;
	size_t len;

	ck_assert_ptr_nonnull(sb.buf);
	ck_assert_str_eq(sb.buf, "");
	strbuf_addstr(&sb, "abc");
	strbuf_addch(&sb, 'd');
	strbuf_add(&sb, "e\0f", 3);
	ck_assert_uint_eq(sb.len, 7);
	ck_assert_int_eq(memcmp(sb.buf, "abcde\0f", 8), 0);
	strbuf_setlen(&sb, 2);
	ck_assert_str_eq(sb.buf, "ab");
	strbuf_addf(&sb, "-%d-%s", 42, "x");
	ck_assert_str_eq(sb.buf, "ab-42-x");
	for (int i = 0; i < 10000; i++)
		strbuf_addf(&sb, "%05d", i);
	ck_assert_uint_eq(sb.len, 7 + 50000);
	ck_assert_int_eq(sb.buf[sb.len], '\0');
	ck_assert_uint_lt(sb.len, sb.alloc);
	strbuf_reset(&sb);
	ck_assert_str_eq(sb.buf, "");
	strbuf_addstr(&sb, "xyz");
	s = strbuf_detach(&sb, &len);
	ck_assert_str_eq(s, "xyz");
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_str_eq(sb.buf, "");
	free(s);
	s = strbuf_detach(&sb, NULL);   /* never NULL, even when empty */
	ck_assert_str_eq(s, "");
	free(s);
	strbuf_release(&sb);
	strbuf_release(&sb);
	strbuf_reset(&sb);
	strbuf_init(&sb, 100);
	ck_assert_uint_ge(sb.alloc, 101);
	strbuf_addbuf(&sb, &sb);
	ck_assert_uint_eq(sb.len, 0);
	strbuf_release(&sb);
}
END_TEST

struct quote_case {
	const char *in, *out;
};

static const struct quote_case quote_cases[] = {
	{ "plain", "plain" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "back\\slash", "back\\\\slash" },
	{ "a\nb\tc\rd", "a\\nb\\tc\\rd" },
	{ "\x01\x1f\x7f", "\\u0001\\u001f\\u007f" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "", "" },
};

START_TEST(test_quoted)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addquoted(&sb, quote_cases[_i].in);
	ck_assert_str_eq(sb.buf, quote_cases[_i].out);
	strbuf_release(&sb);
}
END_TEST

struct rtrim_case {
	const char *in, *out;
};

static const struct rtrim_case rtrim_cases[] = {
	{ "abc \n\t\r ", "abc" },
	{ "  abc", "  abc" },
	{ "\n\n", "" },
	{ "", "" },
};

START_TEST(test_rtrim)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, rtrim_cases[_i].in);
	strbuf_rtrim(&sb);
	ck_assert_str_eq(sb.buf, rtrim_cases[_i].out);
	ck_assert_uint_eq(sb.len, strlen(rtrim_cases[_i].out));
	strbuf_release(&sb);
}
END_TEST

struct tail_case {
	const char *data;
	size_t lines, max_bytes;
	const char *indent, *out;
};

static const struct tail_case tail_cases[] = {
	{ "a\nb\nc\nd\n", 2, 100, "  ", "  c\n  d" },
	{ "a\nb\nc\nd\n\n\n", 2, 100, "> ", "> c\n> d" },
	{ "a\nb", 5, 100, NULL, "a\nb" },
	{ "one line", 3, 100, "| ", "| one line" },
	{ "", 3, 100, "  ", "" },
	{ "\n\n", 3, 100, "  ", "" },
	{ "a\r\nb\r\n", 2, 100, "", "a\nb" },
	{ "first\n0123456789", 2, 4, "", "6789" },
	{ "x\ncaf\xc3\xa9", 1, 1, "", "" },
	{ "x\ncaf\xc3\xa9", 1, 2, "", "\xc3\xa9" },
	{ "a\nb\nc", 0, 100, "", "" },
};

START_TEST(test_tail)
{
	const struct tail_case *c = &tail_cases[_i];
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_tail(&sb, c->data, strlen(c->data), c->lines, c->max_bytes, c->indent);
	ck_assert_str_eq(sb.buf, c->out);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_read_file)
{
	char dir[] = "/tmp/db-strbuf-XXXXXX";
	struct strbuf path = STRBUF_INIT, sb = STRBUF_INIT;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	strbuf_addf(&path, "%s/f", dir);
	fd = open(path.buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	strbuf_addstr(&sb, "pre");
	ck_assert_int_eq(strbuf_read_file(&sb, path.buf, 0), 0);
	ck_assert_uint_eq(sb.len, 1000003);
	ck_assert_int_eq(memcmp(sb.buf + 999993, "0123456789", 10), 0);
	strbuf_reset(&sb);
	ck_assert_int_eq(strbuf_read_file(&sb, path.buf, 1000000), 0);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "keep");
	errno = 0;
	ck_assert_int_eq(strbuf_read_file(&sb, path.buf, 999999), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_str_eq(sb.buf, "keep");
	errno = 0;
	ck_assert_int_eq(strbuf_read_file(&sb, "/nonexistent/databuild", 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	unlink(path.buf);
	rmdir(dir);
	strbuf_release(&path);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_strvec)
{
	struct strvec a = STRVEC_INIT, b = STRVEC_INIT;
	static const char *const list[] = { "c", "a", "b", "a", NULL };
	char *s;

	ck_assert_ptr_nonnull(a.v);
	ck_assert_ptr_null(a.v[0]);
	strvec_pushv(&a, list);
	strvec_pushf(&a, "n=%d", 7);
	s = xstrdup("owned");
	strvec_push_nodup(&a, s);
	ck_assert_uint_eq(a.nr, 6);
	ck_assert_ptr_null(a.v[6]);
	ck_assert_int_eq(strvec_find(&a, "n=7"), 4);
	ck_assert_int_eq(strvec_find(&a, "zz"), -1);
	strvec_copy(&b, &a);
	ck_assert(strvec_equal(&a, &b));
	ck_assert_ptr_ne(a.v[0], b.v[0]);
	strvec_sort(&b, 0);
	ck_assert(!strvec_equal(&a, &b));
	ck_assert_str_eq(b.v[0], "a");
	ck_assert_str_eq(b.v[1], "a");
	strvec_sort(&b, 1);
	ck_assert_uint_eq(b.nr, 5);
	ck_assert_str_eq(b.v[0], "a");
	ck_assert_str_eq(b.v[1], "b");
	ck_assert_str_eq(b.v[2], "c");
	ck_assert_str_eq(b.v[3], "n=7");
	ck_assert_str_eq(b.v[4], "owned");
	ck_assert_ptr_null(b.v[5]);
	strvec_clear(&a);
	ck_assert_uint_eq(a.nr, 0);
	ck_assert_ptr_null(a.v[0]);
	strvec_clear(&a);
	strvec_clear(&b);
	for (int i = 0; i < 100000; i++)
		strvec_pushf(&a, "%d", i);
	ck_assert_str_eq(a.v[99999], "99999");
	strvec_clear(&a);
}
END_TEST

START_TEST(test_alloc)
{
	char *s = xstrfmt("%s-%03d", "x", 5);
	char *n = xstrndup("abcdef", 3);
	int *v = NULL;
	size_t nr = 0, alloc = 0;

	ck_assert_str_eq(s, "x-005");
	ck_assert_str_eq(n, "abc");
	for (int i = 0; i < 1000; i++) {
		ALLOC_GROW(v, nr + 1, alloc);
		v[nr++] = i;
	}
	ck_assert_uint_ge(alloc, 1000);
	ck_assert_int_eq(v[999], 999);
	free(v);
	free(s);
	free(n);
	free(xcalloc(0, 0));
	free(xmalloc(0));
}
END_TEST

static const struct dup_case {
	const char *strs[12];  /* NULL-terminated */
	int want;
} dup_cases[] = {
	{ { NULL }, 0 },
	{ { "a", NULL }, 0 },
	{ { "a", "a", NULL }, 1 },
	{ { "a", "b", "", NULL }, 0 },
	{ { "", "b", "", NULL }, 1 },
	{ { "a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8", NULL }, 0 },
	{ { "a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/1", NULL }, 1 },
	/* more than 8: sorted, then neighbours compared */
	{ { "k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a", NULL }, 0 },
	{ { "k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "k", NULL }, 1 },
	{ { "x", "a", "b", "c", "d", "e", "f", "g", "h", "x", NULL }, 1 },
	{ { "ab", "a", "abc", "b", "ba", "bab", "c", "ca", "cab", "cb", "abd", NULL }, 0 },
};

START_TEST(test_duplicates)
{
	const struct dup_case *c = &dup_cases[_i];
	const char *before[12];
	size_t n = 0;

	while (c->strs[n])
		n++;
	memcpy(before, c->strs, sizeof(before));
	ck_assert_int_eq(strs_have_duplicates(c->strs, n), c->want);
	ck_assert(!memcmp(before, c->strs, sizeof(before)));  /* v is not reordered */
}
END_TEST

static Suite *strbuf_suite(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("strbuf");

	tcase_add_test(tc, test_basics);
	tcase_add_loop_test(tc, test_quoted, 0, sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_loop_test(tc, test_rtrim, 0, sizeof(rtrim_cases) / sizeof(rtrim_cases[0]));
	tcase_add_loop_test(tc, test_tail, 0, sizeof(tail_cases) / sizeof(tail_cases[0]));
	tcase_add_test(tc, test_read_file);
	tcase_add_test(tc, test_strvec);
	tcase_add_loop_test(tc, test_duplicates, 0, sizeof(dup_cases) / sizeof(dup_cases[0]));
	tcase_add_test(tc, test_alloc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(strbuf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
