/* Small helpers shared by the model unit tests (header-only, static). */
#ifndef DATABUILD_TESTS_MODEL_TESTUTIL_H
#define DATABUILD_TESTS_MODEL_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "store/store.h"
#include "core/strbuf.h"

#define ck_assert_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
		      "expected to find\n  %s\nin\n  %s", (needle), (hay))

/* A fresh private directory; remove it with tmpdir_remove. */
static inline char *tmpdir_make(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xstrfmt("%s/databuild-model.XXXXXX", base && *base ? base : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static inline void tmpdir_remove(char *dir)
{
	if (dir)
		remove_tree(dir);
	free(dir);
}

/* Writes dir/name (creating parents) with content and mode. */
static inline void write_file(const char *dir, const char *name, const char *content,
			      mode_t mode)
{
	char *path = xstrfmt("%s/%s", dir, name);
	size_t len = strlen(content);
	int fd;

	ck_assert_int_eq(mkdir_parents(path, 0755), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	free(path);
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
