#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"

struct vec_case {
	const char *data;
	size_t repeat;
	const char *hex;
};

static const struct vec_case vec_cases[] = {
	{ "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

static void fill(struct strbuf *sb, const struct vec_case *c)
{
	for (size_t i = 0; i < c->repeat; i++)
		strbuf_addstr(sb, c->data);
}

START_TEST(test_vectors)
{
	const struct vec_case *c = &vec_cases[_i];
	struct strbuf sb = STRBUF_INIT;
	char out[SHA256_HEX_SIZE];
	struct sha256 h;

	fill(&sb, c);
	sha256_hex(sb.buf, sb.len, out);
	ck_assert_str_eq(out, c->hex);
	/* the same through the streaming interface, in uneven pieces */
	sha256_init(&h);
	for (size_t off = 0, step = 1; off < sb.len; off += step, step = step * 3 + 1)
		sha256_update(&h, sb.buf + off, step < sb.len - off ? step : sb.len - off);
	sha256_final(&h, out);
	ck_assert_str_eq(out, c->hex);
	ck_assert_ptr_null(h.ctx);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_fields)
{
	char a[SHA256_HEX_SIZE], b[SHA256_HEX_SIZE], c[SHA256_HEX_SIZE];
	struct sha256 h;

	sha256_init(&h);
	sha256_update_str(&h, "ab");
	sha256_update_str(&h, "c");
	sha256_final(&h, a);
	sha256_init(&h);
	sha256_update_str(&h, "a");
	sha256_update_str(&h, "bc");
	sha256_final(&h, b);
	ck_assert_str_ne(a, b);
	/* framing is an 8-byte big-endian length */
	sha256_init(&h);
	sha256_update(&h, "\0\0\0\0\0\0\0\2ab\0\0\0\0\0\0\0\1c", 19);
	sha256_final(&h, c);
	ck_assert_str_eq(a, c);
	sha256_init(&h);
	sha256_update_field(&h, "x\0y", 3);
	sha256_final(&h, c);
	sha256_init(&h);
	sha256_update_str(&h, "x");
	sha256_final(&h, b);
	ck_assert_str_ne(b, c);
}
END_TEST

struct file_case {
	size_t size;
};

/* around the padding, the built-in digest's 64 KiB and the 128 KiB read buffer */
static const struct file_case file_cases[] = {
	{ 0 }, { 1 }, { 55 }, { 56 }, { 64 }, { 65535 }, { 65536 }, { 65537 }, { 131071 },
	{ 131072 }, { 131073 }, { 3 * 131072 + 17 }, { 10000000 },
};

START_TEST(test_file)
{
	char dir[] = "/tmp/db-hash-XXXXXX";
	struct strbuf path = STRBUF_INIT, data = STRBUF_INIT, err = STRBUF_INIT;
	char want[SHA256_HEX_SIZE], got[SHA256_HEX_SIZE];
	long long size = -1;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	strbuf_addf(&path, "%s/f", dir);
	for (size_t i = 0; i < file_cases[_i].size; i++)
		strbuf_addch(&data, (char)(i * 7 + i / 251));
	fd = open(path.buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data.buf, data.len), (ssize_t)data.len);
	close(fd);
	sha256_hex(data.buf, data.len, want);
	ck_assert_int_eq(sha256_file(path.buf, got, &size, &err), 0);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(size, (long long)data.len);
	ck_assert_int_eq(sha256_file(path.buf, got, NULL, &err), 0);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(sha256_fd(fd, "f", got, &size, &err), 0);
	close(fd);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(err.len, 0);
	unlink(path.buf);
	rmdir(dir);
	strbuf_release(&path);
	strbuf_release(&data);
	strbuf_release(&err);
}
END_TEST

struct bad_case {
	const char *path;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "/nonexistent/databuild/x", "cannot read '/nonexistent/databuild/x': No such file or directory" },
	{ "/", "cannot read '/': Is a directory" },
};

START_TEST(test_file_errors)
{
	struct strbuf err = STRBUF_INIT;
	char out[SHA256_HEX_SIZE];

	ck_assert_int_eq(sha256_file(bad_cases[_i].path, out, NULL, &err), -1);
	ck_assert_str_eq(err.buf, bad_cases[_i].err);
	strbuf_release(&err);
}
END_TEST

static Suite *hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("hash");

	tcase_add_loop_test(tc, test_vectors, 0, sizeof(vec_cases) / sizeof(vec_cases[0]));
	tcase_add_test(tc, test_fields);
	tcase_add_loop_test(tc, test_file, 0, sizeof(file_cases) / sizeof(file_cases[0]));
	tcase_add_loop_test(tc, test_file_errors, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hash_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
