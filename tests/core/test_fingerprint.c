#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fingerprint.h"

static char dir[] = "/tmp/databuild-fp.XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Sets path's mtime to secs seconds ago (keeps it out of the racy window). */
static void age(const char *path, int secs)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= secs;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}

static char *in_dir(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* What moves a fingerprint, and what does not. */
struct move_case {
	const char *name;
	void (*change)(const char *path);
	int moves;
};

static void nothing(const char *path) { (void)path; }
static void rewrite_same(const char *path) { write_file(path, "hello\n"); age(path, 60); }
static void append(const char *path) { write_file(path, "hello\nworld\n"); age(path, 60); }
static void replace(const char *path)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	write_file(tmp, "hello\n");
	age(tmp, 60);
	ck_assert_int_eq(rename(tmp, path), 0);
}
static void remove_it(const char *path) { ck_assert_int_eq(unlink(path), 0); }
static void chmod_it(const char *path) { ck_assert_int_eq(chmod(path, 0755), 0); }

static const struct move_case move_cases[] = {
	{ "nothing", nothing, 0 },
	{ "same bytes written again", rewrite_same, 1 },  /* ctime moves */
	{ "appended", append, 1 },
	{ "replaced by rename", replace, 1 },
	{ "removed", remove_it, 1 },
	{ "chmod", chmod_it, 1 },
};

START_TEST(test_moves)
{
	const struct move_case *c = &move_cases[_i];
	struct fingerprint before, after;
	char *path = in_dir("f");

	write_file(path, "hello\n");
	age(path, 60);
	fingerprint_of(path, &before);
	ck_assert_int_eq(before.exists, 1);
	/* a second apart: ctime of the change differs even on a coarse clock */
	c->change(path);
	fingerprint_of(path, &after);
	ck_assert_msg(fingerprint_equal(&before, &after) == !c->moves, "%s", c->name);
	unlink(path);
}
END_TEST

START_TEST(test_absent_and_dirs)
{
	struct fingerprint a, b;

	fingerprint_of(in_dir("none"), &a);
	fingerprint_of(in_dir("none"), &b);
	ck_assert_int_eq(a.exists, 0);
	ck_assert(fingerprint_equal(&a, &b));
	fingerprint_of(dir, &b);          /* a directory is not a file */
	ck_assert_int_eq(b.exists, 0);
}
END_TEST

START_TEST(test_hash_cached_until_moved)
{
	char *path = in_dir("h"), hex1[SHA256_HEX_SIZE], hex2[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	unsigned long h0, k0, h1, k1;

	write_file(path, "abc");
	age(path, 60);
	fingerprint_stats(&h0, &k0);
	ck_assert_int_eq(fingerprint_hash(path, hex1, &err), 0);
	ck_assert_str_eq(hex1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), 0);
	ck_assert_str_eq(hex1, hex2);
	fingerprint_stats(&h1, &k1);
	ck_assert_uint_eq(h1 - h0, 1);   /* hashed once */
	ck_assert_uint_eq(k1 - k0, 1);   /* then from the cache */

	write_file(path, "abd");         /* same size, new bytes */
	age(path, 60);
	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), 0);
	ck_assert_str_ne(hex1, hex2);
	unlink(path);

	ck_assert_int_eq(fingerprint_hash(path, hex2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.buf, path));
	strbuf_release(&err);
}
END_TEST

START_TEST(test_racy_not_cached)
{
	char *path = in_dir("r"), hex[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	struct fingerprint fp;
	unsigned long h0, k0, h1, k1;

	write_file(path, "fresh");       /* written just now: racy */
	fingerprint_of(path, &fp);
	ck_assert(fingerprint_racy(&fp, now_us() * 1000LL));
	fingerprint_stats(&h0, &k0);
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	ck_assert_int_eq(fingerprint_hash(path, hex, &err), 0);
	fingerprint_stats(&h1, &k1);
	ck_assert_uint_eq(h1 - h0, 2);   /* a racy file is hashed every time */
	age(path, 60);
	fingerprint_of(path, &fp);
	ck_assert(!fingerprint_racy(&fp, now_us() * 1000LL));
	unlink(path);
	strbuf_release(&err);
}
END_TEST

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	rmdir(dir);
	strcpy(dir, "/tmp/databuild-fp.XXXXXX");
}

int main(void)
{
	Suite *s = suite_create("fingerprint");
	TCase *tc = tcase_create("fingerprint");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_moves, 0, sizeof(move_cases) / sizeof(move_cases[0]));
	tcase_add_test(tc, test_absent_and_dirs);
	tcase_add_test(tc, test_hash_cached_until_moved);
	tcase_add_test(tc, test_racy_not_cached);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
