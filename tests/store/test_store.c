#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char tmp[64];

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/db-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	ck_assert_int_eq(remove_tree(tmp), 0);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "cannot create '%s'", path);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

struct dir_case {
	const char *name;
	mode_t mode;
};

static const struct dir_case dir_cases[] = {
	{ "", 0700 },
	{ "/data", 0755 },
	{ "/staging", 0700 },
	{ "/logs", 0700 },
	{ "/locks", 0700 },
};

START_TEST(test_open_creates)
{
	struct store s;
	struct strbuf root = STRBUF_INIT, err = STRBUF_INIT, p = STRBUF_INIT;
	mode_t old = umask(022);

	strbuf_addf(&root, "%s/a/b/store", tmp);
	ck_assert_msg(!store_open(&s, root.buf, &err), "%s", err.buf);
	ck_assert_str_eq(s.root, root.buf);
	strbuf_addf(&p, "%s%s", s.root, dir_cases[_i].name);
	ck_assert_uint_eq(mode_of(p.buf), dir_cases[_i].mode);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/data", s.root);
	ck_assert_str_eq(s.data_dir, p.buf);
	store_release(&s);
	/* opening again is fine */
	ck_assert_msg(!store_open(&s, root.buf, &err), "%s", err.buf);
	store_release(&s);
	store_release(&s);
	umask(old);
	strbuf_release(&root);
	strbuf_release(&err);
	strbuf_release(&p);
}
END_TEST

START_TEST(test_open_relative)
{
	struct store s;
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	char cwd[PATH_MAX], *real;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(mkdir("real", 0755), 0);
	ck_assert_int_eq(symlink("real", "link"), 0);
	ck_assert_msg(!store_open(&s, "link/st/", &err), "%s", err.buf);
	real = realpath(tmp, NULL);
	strbuf_addf(&want, "%s/real/st", real);
	ck_assert_str_eq(s.root, want.buf);
	ck_assert_int_eq(chdir(cwd), 0);
	store_release(&s);
	free(real);
	strbuf_release(&err);
	strbuf_release(&want);
}
END_TEST

START_TEST(test_open_errors)
{
	struct store s;
	struct strbuf root = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;

	strbuf_addf(&root, "%s/file", tmp);
	touch(root.buf);
	ck_assert_int_eq(store_open(&s, root.buf, &err), -1);
	strbuf_addf(&want, "store '%s': cannot create directory: Not a directory", root.buf);
	ck_assert_str_eq(err.buf, want.buf);
	ck_assert_ptr_null(s.root);
	store_release(&s);

	strbuf_reset(&err);
	strbuf_reset(&want);
	strbuf_addstr(&root, "/below");
	ck_assert_int_eq(store_open(&s, root.buf, &err), -1);
	strbuf_addf(&want, "store '%s': cannot create directory: Not a directory", root.buf);
	ck_assert_str_eq(err.buf, want.buf);

	strbuf_reset(&err);
	strbuf_reset(&root);
	strbuf_reset(&want);
	strbuf_addf(&root, "%s/st", tmp);
	ck_assert_int_eq(mkdir(root.buf, 0700), 0);
	strbuf_addstr(&root, "/logs");
	touch(root.buf);
	strbuf_setlen(&root, root.len - 5);
	ck_assert_int_eq(store_open(&s, root.buf, &err), -1);
	strbuf_addf(&want, "store '%s': cannot create directory '%s/logs': Not a directory",
		    root.buf, root.buf);
	ck_assert_str_eq(err.buf, want.buf);

	strbuf_reset(&err);
	ck_assert_int_eq(store_open(&s, "", &err), -1);
	ck_assert_str_eq(err.buf, "store '': empty path");
	strbuf_release(&root);
	strbuf_release(&err);
	strbuf_release(&want);
}
END_TEST

struct path_case {
	int kind;
	const char *arg, *suffix;
};

static const struct path_case path_cases[] = {
	{ 0, "reviews/date=1", "/data/reviews/date=1" },
	{ 1, "42", "/staging/42" },
	{ 2, "42", "/logs/42.log" },
	{ 3, "catalog.db", "/catalog.db" },
};

START_TEST(test_paths)
{
	const struct path_case *c = &path_cases[_i];
	struct store s;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT, want = STRBUF_INIT;

	ck_assert_msg(!store_open(&s, tmp, &err), "%s", err.buf);
	strbuf_addstr(&out, "<");
	if (c->kind == 0)
		store_data_path(&s, c->arg, &out);
	else if (c->kind == 1)
		store_staging_path(&s, c->arg, &out);
	else if (c->kind == 2)
		store_log_path(&s, c->arg, &out);
	else
		store_path(&s, c->arg, &out);
	strbuf_addf(&want, "<%s%s", s.root, c->suffix);
	ck_assert_str_eq(out.buf, want.buf);
	store_release(&s);
	strbuf_release(&err);
	strbuf_release(&out);
	strbuf_release(&want);
}
END_TEST

START_TEST(test_mkdir_parents)
{
	struct strbuf p = STRBUF_INIT;
	mode_t old = umask(0);

	strbuf_addf(&p, "%s/x/y/z/file", tmp);
	ck_assert_int_eq(mkdir_parents(p.buf, 0750), 0);
	ck_assert_int_eq(access(p.buf, F_OK), -1);
	touch(p.buf);
	strbuf_setlen(&p, p.len - 5);
	ck_assert_uint_eq(mode_of(p.buf), 0750);
	ck_assert_int_eq(mkdir_parents(p.buf, 0700), 0);   /* parents exist */
	ck_assert_uint_eq(mode_of(p.buf), 0750);
	strbuf_addstr(&p, "/file/sub/f");
	errno = 0;
	ck_assert_int_eq(mkdir_parents(p.buf, 0700), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_int_eq(mkdir_parents("relative-file-only", 0700), 0);
	ck_assert_int_eq(mkdir_parents("/", 0700), 0);
	umask(old);
	strbuf_release(&p);
}
END_TEST

START_TEST(test_remove_tree)
{
	struct strbuf p = STRBUF_INIT, outside = STRBUF_INIT;

	/* a directory outside the tree that a symlink inside points at */
	strbuf_addf(&outside, "%s/outside", tmp);
	ck_assert_int_eq(mkdir(outside.buf, 0755), 0);
	strbuf_addstr(&outside, "/keep");
	touch(outside.buf);

	strbuf_addf(&p, "%s/t/a/b/c/f", tmp);
	ck_assert_int_eq(mkdir_parents(p.buf, 0755), 0);
	touch(p.buf);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/t/a/ro", tmp);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/f");
	touch(p.buf);
	ck_assert_int_eq(chmod(p.buf, 0444), 0);
	strbuf_setlen(&p, p.len - 2);
	ck_assert_int_eq(chmod(p.buf, 0555), 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/t/a/noexec", tmp);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/f");
	touch(p.buf);
	strbuf_setlen(&p, p.len - 2);
	ck_assert_int_eq(chmod(p.buf, 0), 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/t/link", tmp);
	ck_assert_int_eq(symlink("../outside", p.buf), 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/t/dangling", tmp);
	ck_assert_int_eq(symlink("/nonexistent/x", p.buf), 0);

	strbuf_reset(&p);
	strbuf_addf(&p, "%s/t", tmp);
	ck_assert_int_eq(remove_tree(p.buf), 0);
	ck_assert_int_eq(access(p.buf, F_OK), -1);
	ck_assert_int_eq(access(outside.buf, F_OK), 0);
	ck_assert_int_eq(remove_tree(p.buf), 0);   /* missing: not an error */

	/* a symlink given directly is removed, not followed */
	strbuf_addstr(&p, "-link");
	ck_assert_int_eq(symlink("outside", p.buf), 0);
	ck_assert_int_eq(remove_tree(p.buf), 0);
	ck_assert_int_eq(access(outside.buf, F_OK), 0);
	/* a plain file */
	ck_assert_int_eq(remove_tree(outside.buf), 0);
	ck_assert_int_eq(access(outside.buf, F_OK), -1);
	strbuf_release(&p);
	strbuf_release(&outside);
}
END_TEST

START_TEST(test_remove_wide)
{
	struct strbuf p = STRBUF_INIT;

	for (int i = 0; i < 2000; i++) {
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/w/d%d/f", tmp, i % 50);
		if (i < 50)
			ck_assert_int_eq(mkdir_parents(p.buf, 0700), 0);
		strbuf_addf(&p, "%d", i);
		touch(p.buf);
	}
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/w", tmp);
	ck_assert_int_eq(remove_tree(p.buf), 0);
	ck_assert_int_eq(access(p.buf, F_OK), -1);
	strbuf_release(&p);
}
END_TEST

/* A store whose root or data/ others could change is refused, naming the fix. */
struct trust_case {
	const char *dir;     /* "" the root, "/data" */
	mode_t mode;         /* chmod'ed after a first open */
	int link;            /* data/ replaced by a link to a directory */
	uid_t owner;         /* chown'ed to this uid when it is not (uid_t)-1 (root only) */
	const char *want;    /* NULL: opens */
};

static const struct trust_case trust_cases[] = {
	{ "", 0777, 0, (uid_t)-1, "/st' is world-writable (mode 0777, owner " },
	{ "", 0770, 0, (uid_t)-1, "is group-writable (mode 0770, owner " },
	{ "/data", 0757, 0, (uid_t)-1, "is world-writable" },
	{ "", 01777, 0, (uid_t)-1, NULL },
	{ "/data", 01775, 0, (uid_t)-1, NULL },
	{ "", 0755, 0, (uid_t)-1, NULL },
	{ "/data", 0755, 1, (uid_t)-1, "/data' is a symbolic link; databuild follows no link" },
	{ "", 0700, 0, 65534, "is owned by nobody (uid 65534), not by you" },
	{ "/data", 0755, 0, 65534, "/data' is owned by " },
};

START_TEST(test_open_trust)
{
	const struct trust_case *c = &trust_cases[_i];
	struct strbuf root = STRBUF_INIT, dir = STRBUF_INIT, err = STRBUF_INIT;
	struct store s;

	if (c->owner != (uid_t)-1 && geteuid() != 0)
		return; /* chown needs root */
	strbuf_addf(&root, "%s/st", tmp);
	ck_assert_msg(!store_open(&s, root.buf, &err), "%s", err.buf);
	store_release(&s);
	strbuf_addf(&dir, "%s%s", root.buf, c->dir);
	if (c->link) {
		strbuf_addf(&err, "%s/elsewhere", tmp);
		ck_assert_int_eq(mkdir(err.buf, 0755), 0);
		ck_assert_int_eq(remove_tree(dir.buf), 0);
		ck_assert_int_eq(symlink(err.buf, dir.buf), 0);
		strbuf_reset(&err);
	}
	if (c->owner != (uid_t)-1)
		ck_assert_int_eq(chown(dir.buf, c->owner, (gid_t)-1), 0);
	if (!c->link)
		ck_assert_int_eq(chmod(dir.buf, c->mode), 0);
	if (!c->want) {
		ck_assert_msg(!store_open(&s, root.buf, &err), "%s", err.buf);
		ck_assert_int_ge(s.data_fd, 0);
		store_release(&s);
	} else {
		ck_assert_int_eq(store_open(&s, root.buf, &err), -1);
		ck_assert_msg(strstr(err.buf, c->want), "'%s' not in '%s'", c->want, err.buf);
		ck_assert_msg(!strncmp(err.buf, "store '", 7), "%s", err.buf);
		ck_assert_ptr_null(s.root);
		store_release(&s);
	}
	chmod(dir.buf, 0755);
	strbuf_release(&root);
	strbuf_release(&dir);
	strbuf_release(&err);
}
END_TEST

/* Opens beneath data/ never follow a link, wherever it stands. */
struct beneath_case {
	const char *ref;
	int want_errno;      /* 0: opens */
};

static const struct beneath_case beneath_cases[] = {
	{ "ok/d=1", 0 },
	{ "linkfile/d=1", ELOOP },   /* data/linkfile/d=1 -> /etc/passwd */
	{ "linkdir/d=1", ELOOP },    /* data/linkdir -> a directory outside */
	{ "ok/missing", ENOENT },
	{ "absent/d=1", ENOENT },
};

START_TEST(test_open_beneath)
{
	const struct beneath_case *c = &beneath_cases[_i];
	struct strbuf root = STRBUF_INIT, p = STRBUF_INIT, err = STRBUF_INIT;
	const char *base;
	struct store s;
	int fd;

	strbuf_addf(&root, "%s/st", tmp);
	ck_assert_msg(!store_open(&s, root.buf, &err), "%s", err.buf);
	strbuf_addf(&p, "%s/ok", s.data_dir);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/d=1");
	touch(p.buf);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/linkfile", s.data_dir);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/d=1");
	ck_assert_int_eq(symlink("/etc/passwd", p.buf), 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/outside", tmp);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/d=1");
	touch(p.buf);
	strbuf_setlen(&p, p.len - 4);
	strbuf_addf(&err, "%s/linkdir", s.data_dir);
	ck_assert_int_eq(symlink(p.buf, err.buf), 0);

	errno = 0;
	fd = store_open_data(&s, c->ref, O_RDONLY);
	if (!c->want_errno) {
		ck_assert_int_ge(fd, 0);
		close(fd);
	} else {
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(errno, c->want_errno);
	}

	/* the publisher's side: creating the parents of a new ref */
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/new", c->ref);
	fd = store_open_data_parent(&s, p.buf, &base);
	if (c->want_errno == ELOOP) {
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(errno, ELOOP);
	} else if (c->want_errno == 0) {
		ck_assert_int_eq(fd, -1);          /* d=1 is a file, not a directory */
		ck_assert_int_eq(errno, ENOTDIR);
	} else {
		ck_assert_int_ge(fd, 0);
		ck_assert_str_eq(base, "new");
		close(fd);
	}
	store_release(&s);
	strbuf_release(&root);
	strbuf_release(&p);
	strbuf_release(&err);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_open_creates, 0, sizeof(dir_cases) / sizeof(dir_cases[0]));
	tcase_add_test(tc, test_open_relative);
	tcase_add_test(tc, test_open_errors);
	tcase_add_loop_test(tc, test_open_trust, 0, sizeof(trust_cases) / sizeof(trust_cases[0]));
	tcase_add_loop_test(tc, test_open_beneath, 0,
			    sizeof(beneath_cases) / sizeof(beneath_cases[0]));
	tcase_add_loop_test(tc, test_paths, 0, sizeof(path_cases) / sizeof(path_cases[0]));
	tcase_add_test(tc, test_mkdir_parents);
	tcase_add_test(tc, test_remove_tree);
	tcase_add_test(tc, test_remove_wide);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
