#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/object.h"
#include "store/staging.h"
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
	{ "/objects", 0755 },
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

/* --- The object store (store/object.h) --- */

#define HASH_A "2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806"

/* Writes text as path (mode 0444), replacing it. */
static void put_file(const char *path, const char *text)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	ck_assert_msg(fd >= 0, "cannot create '%s'", path);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static struct stat stat_of(const char *path)
{
	struct stat st;

	ck_assert_msg(!lstat(path, &st), "cannot stat '%s'", path);
	return st;
}

static void open_store_at(struct store *s, const char *name)
{
	struct strbuf root = STRBUF_INIT, err = STRBUF_INIT;

	strbuf_addf(&root, "%s/%s", tmp, name);
	ck_assert_msg(!store_open(s, root.buf, &err), "%s", err.buf);
	strbuf_release(&root);
	strbuf_release(&err);
}

enum existing { NO_OBJECT, SAME_SIZE, OTHER_SIZE, OTHER_BYTES, A_DIRECTORY };

struct put_case {
	const char *what;
	const char *sha256;
	enum existing existing;
	int want;            /* store_object_put's result */
	const char *err;     /* -1: what err says */
};

static const struct put_case put_cases[] = {
	{ "new bytes", HASH_A, NO_OBJECT, 1, NULL },
	{ "bytes stored already", HASH_A, SAME_SIZE, 0, NULL },
	/* changed in place: the staged file replaces it */
	{ "an object of another size", HASH_A, OTHER_SIZE, 1, NULL },
	{ "an object of other bytes", HASH_A, OTHER_BYTES, 1, NULL },
	{ "a directory as object", HASH_A, A_DIRECTORY, -1, "not a regular file" },
	{ "not a hash", "2c8b", NO_OBJECT, -1, "is not a sha256" },
	{ "upper case", "2C8B08DA5CE60398E1F19AF0E5DCCC744DF274B826ABE585EABA68C525434806",
	  NO_OBJECT, -1, "is not a sha256" },
};

/* Entries of directory path, "." and ".." aside. */
static int count_names(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dir);
	return n;
}

START_TEST(test_object_put)
{
	const struct put_case *c = &put_cases[_i];
	struct strbuf p = STRBUF_INIT, obj = STRBUF_INIT, err = STRBUF_INIT;
	struct stat staged, o, before;
	struct store s;
	int dfd, r;

	open_store_at(&s, "st");
	strbuf_addf(&p, "%s/staged", tmp);
	ck_assert_int_eq(mkdir(p.buf, 0700), 0);
	strbuf_addstr(&p, "/out");
	put_file(p.buf, "one\n");
	staged = stat_of(p.buf);
	store_object_path(&s, HASH_A, &obj);
	strbuf_addf(&err, "%s/objects/2c", s.root);
	if (c->existing != NO_OBJECT)
		ck_assert_int_eq(mkdir(err.buf, 0755), 0);
	if (c->existing == SAME_SIZE || c->existing == OTHER_SIZE || c->existing == OTHER_BYTES)
		put_file(obj.buf, c->existing == SAME_SIZE ? "one\n" :
			 c->existing == OTHER_BYTES ? "ONE\n" : "longer\n");
	if (c->existing == A_DIRECTORY)
		ck_assert_int_eq(mkdir(obj.buf, 0755), 0);
	before = c->existing != NO_OBJECT ? stat_of(obj.buf) : staged;
	strbuf_reset(&err);

	strbuf_setlen(&p, p.len - 4);
	dfd = open(p.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	r = store_object_put(&s, dfd, "out", c->sha256, 4, &err);
	close(dfd);
	ck_assert_msg(r == c->want, "%s: got %d (%s)", c->what, r, err.buf);
	if (c->err)
		ck_assert_msg(strstr(err.buf, c->err), "%s: err '%s'", c->what, err.buf);
	if (r == 1) {
		o = stat_of(obj.buf);
		ck_assert_int_eq(o.st_ino, staged.st_ino);   /* the staged file is the object */
		ck_assert_int_eq(o.st_nlink, 2);
		ck_assert_int_eq(o.st_mode & 07777, 0444);
		/* no temporary name is left beside it */
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/objects/2c", s.root);
		ck_assert_int_eq(count_names(p.buf), 1);
		strbuf_reset(&p);
		strbuf_addf(&p, "%s/objects/2c", s.root);
		ck_assert_int_eq(mode_of(p.buf), 0755);
	} else if (r == 0) {
		o = stat_of(obj.buf);
		ck_assert_int_eq(o.st_ino, before.st_ino);   /* the object is left as it was */
		ck_assert_int_eq(o.st_nlink, 1);
	}
	store_release(&s);
	strbuf_release(&p);
	strbuf_release(&obj);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_object_install)
{
	struct strbuf p = STRBUF_INIT, obj = STRBUF_INIT, err = STRBUF_INIT;
	char ident[STORE_IDENT_MAX], want[STORE_IDENT_MAX];
	struct stat o, d;
	struct store s;
	int fd;

	open_store_at(&s, "st");
	store_object_path(&s, HASH_A, &obj);
	strbuf_addf(&p, "%s/objects/2c", s.root);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	put_file(obj.buf, "one\n");

	/* a new ref (its directories made), an existing name, the same object again */
	for (int round = 0; round < 3; round++) {
		if (round == 1) {
			strbuf_reset(&p);
			store_data_path(&s, "ds/k=1", &p);
			ck_assert_int_eq(unlink(p.buf), 0);
			put_file(p.buf, "old bytes\n");
		}
		ck_assert_msg(!store_object_install(&s, HASH_A, "ds/k=1", ident, &err), "%s",
			      err.buf);
		strbuf_reset(&p);
		store_data_path(&s, "ds/k=1", &p);
		o = stat_of(obj.buf);
		d = stat_of(p.buf);
		ck_assert_int_eq(d.st_ino, o.st_ino);
		ck_assert_int_eq(o.st_nlink, 2);
		store_ident_format(&d, want);
		ck_assert_str_eq(ident, want);
	}
	/* no temporary name is left beside it */
	strbuf_reset(&p);
	store_data_path(&s, "ds", &p);
	ck_assert_int_eq(count_names(p.buf), 1);
	/* a missing object, a bad hash */
	strbuf_reset(&err);
	ck_assert_int_eq(store_object_install(&s, "27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c"
					      "01184a07300a5a", "ds/k=2", ident, &err), -1);
	ck_assert_msg(strstr(err.buf, "ds/k=2"), "%s", err.buf);
	strbuf_reset(&err);
	ck_assert_int_eq(store_object_install(&s, "zz", "ds/k=2", ident, &err), -1);
	fd = store_open_object(&s, HASH_A, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	close(fd);
	errno = 0;
	ck_assert_int_eq(store_open_object(&s, "nothex", O_RDONLY), -1);
	ck_assert_int_eq(errno, EINVAL);
	store_release(&s);
	strbuf_release(&p);
	strbuf_release(&obj);
	strbuf_release(&err);
}
END_TEST

struct remove_case {
	const char *ref;
	const char *make;    /* a file made first (a ref), or NULL */
	int want;
};

static const struct remove_case remove_cases[] = {
	{ "ds/k=1", "ds/k=1", 0 },
	{ "ds/k=2", "ds/k=1", 0 },    /* absent */
	{ "nodir/k=1", NULL, 0 },     /* no directory either */
	{ "top", "top", 0 },
	{ "ds", "ds/k=1", -1 },       /* a directory, not data */
};

START_TEST(test_remove_data)
{
	const struct remove_case *c = &remove_cases[_i];
	struct strbuf p = STRBUF_INIT, err = STRBUF_INIT;
	struct store s;
	const char *base;
	int fd;

	open_store_at(&s, "st");
	if (c->make) {
		fd = store_open_data_parent(&s, c->make, &base);
		ck_assert_int_ge(fd, 0);
		close(fd);
		store_data_path(&s, c->make, &p);
		put_file(p.buf, "x");
	}
	ck_assert_int_eq(store_remove_data(&s, c->ref, &err), c->want);
	if (c->want < 0)
		ck_assert_msg(strstr(err.buf, c->ref), "%s", err.buf);
	strbuf_reset(&p);
	store_data_path(&s, c->ref, &p);
	if (!c->want)
		ck_assert_int_eq(access(p.buf, F_OK), -1);
	store_release(&s);
	strbuf_release(&p);
	strbuf_release(&err);
}
END_TEST

/* What is done to a published file after its identity was recorded. */
enum change { NOTHING, LINK_ADDED, LINK_REMOVED, MTIME, APPEND, REPLACED, MTIME_BACK };

struct relink_case {
	const char *what;
	enum change change;
	int want;
};

static const struct relink_case relink_cases[] = {
	{ "untouched", NOTHING, STORE_INTACT },
	{ "a second name", LINK_ADDED, STORE_RELINKED },
	{ "a name removed", LINK_REMOVED, STORE_RELINKED },
	/* ctime alone: the caller rehashes, and the bytes tell */
	{ "written, mtime put back", MTIME_BACK, STORE_RELINKED },
	{ "touched", MTIME, STORE_CHANGED },
	{ "appended to", APPEND, STORE_CHANGED },
	{ "replaced", REPLACED, STORE_CHANGED },
};

START_TEST(test_check_relinked)
{
	const struct relink_case *c = &relink_cases[_i];
	struct strbuf p = STRBUF_INIT, other = STRBUF_INIT, why = STRBUF_INIT;
	char ident[STORE_IDENT_MAX];
	struct timespec ts[2];
	struct store s;
	struct stat st;
	int fd, kind;

	open_store_at(&s, "st");
	store_data_path(&s, "f", &p);
	put_file(p.buf, "one\n");
	strbuf_addf(&other, "%s/other", tmp);
	if (c->change == LINK_REMOVED)
		ck_assert_int_eq(link(p.buf, other.buf), 0);
	st = stat_of(p.buf);
	store_ident_format(&st, ident);
	usleep(20000);  /* a ctime that differs on coarse clocks too */
	switch (c->change) {
	case NOTHING:
		break;
	case LINK_ADDED:
		ck_assert_int_eq(link(p.buf, other.buf), 0);
		break;
	case LINK_REMOVED:
		ck_assert_int_eq(unlink(other.buf), 0);
		break;
	case MTIME_BACK:
		ck_assert_int_eq(chmod(p.buf, 0644), 0);
		fd = open(p.buf, O_WRONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "two\n", 4), 4);
		close(fd);
		ck_assert_int_eq(chmod(p.buf, 0444), 0);
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		ck_assert_int_eq(utimensat(AT_FDCWD, p.buf, ts, 0), 0);
		break;
	case MTIME:
		ck_assert_int_eq(utimensat(AT_FDCWD, p.buf, NULL, 0), 0);
		break;
	case APPEND:
		ck_assert_int_eq(chmod(p.buf, 0644), 0);
		fd = open(p.buf, O_WRONLY | O_APPEND | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "x", 1), 1);
		close(fd);
		break;
	case REPLACED:
		put_file(other.buf, "one\n");
		ck_assert_int_eq(rename(other.buf, p.buf), 0);
		break;
	}
	kind = store_check_data(&s, "f", ident, c->change == APPEND ? -1 : 4, &fd, &why);
	ck_assert_msg(kind == c->want, "%s: got %d (%s)", c->what, kind, why.buf);
	if (kind == STORE_INTACT) {
		ck_assert_int_ge(fd, 0);
		close(fd);
	} else {
		ck_assert_int_eq(fd, -1);   /* nothing handed over unless intact */
	}
	if (kind == STORE_RELINKED)
		ck_assert_msg(strstr(why.buf, "link"), "%s", why.buf);
	store_release(&s);
	strbuf_release(&p);
	strbuf_release(&other);
	strbuf_release(&why);
}
END_TEST

/* store.format: a new store keeps objects; one with data from before does not say so. */
START_TEST(test_format)
{
	struct strbuf p = STRBUF_INIT, err = STRBUF_INIT;
	struct store s;

	open_store_at(&s, "new");
	ck_assert_int_eq(store_format_has(&s, STORE_FORMAT_OBJECTS, &err), 1);
	ck_assert_int_eq(store_format_has(&s, "other", &err), 0);
	store_release(&s);

	strbuf_addf(&p, "%s/old/data", tmp);
	ck_assert_int_eq(mkdir_parents(p.buf, 0700), 0);
	ck_assert_int_eq(mkdir(p.buf, 0755), 0);
	strbuf_addstr(&p, "/ref");
	put_file(p.buf, "x");
	open_store_at(&s, "old");
	ck_assert_int_eq(store_format_has(&s, STORE_FORMAT_OBJECTS, &err), 0);
	ck_assert_msg(!store_format_set(&s, "objects\n", &err), "%s", err.buf);
	ck_assert_int_eq(store_format_has(&s, STORE_FORMAT_OBJECTS, &err), 1);
	store_release(&s);
	strbuf_release(&p);
	strbuf_release(&err);
}
END_TEST

/*
 * Staging trees: what a run's out/ holds when its job starts, and whether
 * the tree of the run before (given back with store_staging_retire) was
 * taken over. before: what the earlier run left in its out/ ("d/" a
 * directory, else a file; NULL: no earlier run); spares_full: every spare
 * name taken already.
 */
struct staging_case {
	const char *name;
	const char *before[4];
	int spares_full;
	const char *outputs[4];
	const char *expect;  /* out/'s entries, sorted, one per line */
	int reused;
};

static const struct staging_case staging_cases[] = {
	{ "first run: out/ and the outputs' parents", { NULL }, 0,
	  { "a/b/c", "a/d", "top" }, "a\na/b\n", 0 },
	{ "no directory for a top-level output", { NULL }, 0, { "top" }, "", 0 },
	{ "an empty tree is taken over, its stray directories pruned", { "a/", "a/b/", "z/" }, 0,
	  { "a/x", "q/r/s" }, "a\nq\nq/r\n", 1 },
	{ "a tree holding a file is removed, not kept", { "a/", "a/left" }, 0, { "a/x" },
	  "a\n", 0 },
	{ "every spare name taken: removed", { "a/" }, 1, { "a/x" }, "a\n", 0 },
};

/* Appends the entries under dir (relative to it, sorted by find order) to out. */
static void list_tree(const char *dir, const char *rel, struct strvec *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char *path, *sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		path = xstrfmt("%s/%s", dir, e->d_name);
		sub = *rel ? xstrfmt("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		strvec_push(out, sub);
		if (e->d_type == DT_DIR)
			list_tree(path, sub, out);
		free(path);
		free(sub);
	}
	closedir(d);
}

/* How many spare trees the store's staging/ holds. */
static int spares(const struct store *s)
{
	int n = 0;

	for (unsigned k = 0; k < STAGING_SPARES; k++) {
		char *spare = xstrfmt("%s/staging/.spare-%u", s->root, k);
		n += access(spare, F_OK) == 0;
		free(spare);
	}
	return n;
}

START_TEST(test_staging)
{
	const struct staging_case *c = &staging_cases[_i];
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT, got = STRBUF_INIT;
	struct strvec outputs = STRVEC_INIT, entries = STRVEC_INIT;
	struct store s;
	char *out;
	int kept = 0;

	open_store_at(&s, "st");
	if (c->spares_full)
		for (unsigned k = 0; k < STAGING_SPARES; k++) {
			char *spare = xstrfmt("%s/staging/.spare-%u", s.root, k);
			ck_assert_int_eq(mkdir(spare, 0700), 0);
			free(spare);
		}
	if (c->before[0]) {
		struct strvec none = STRVEC_INIT;

		ck_assert_msg(!store_staging_make(&s, "1", &none, &path, &err), "%s", err.buf);
		for (size_t i = 0; i < 4 && c->before[i]; i++) {
			size_t n = strlen(c->before[i]);
			char *p = xstrfmt("%s/out/%.*s", path.buf, (int)n - (c->before[i][n - 1] == '/'),
					  c->before[i]);
			if (c->before[i][n - 1] == '/')
				ck_assert_int_eq(mkdir(p, 0755), 0);
			else
				touch(p);
			free(p);
		}
		ck_assert_int_eq(store_staging_retire(path.buf), 0);
		ck_assert_int_eq(access(path.buf, F_OK), -1);
		kept = spares(&s) - (c->spares_full ? STAGING_SPARES : 0);
		strbuf_reset(&path);
	}
	for (size_t i = 0; i < 4 && c->outputs[i]; i++)
		strvec_push(&outputs, c->outputs[i]);
	ck_assert_msg(!store_staging_make(&s, "2", &outputs, &path, &err), "%s", err.buf);
	out = xstrfmt("%s/out", path.buf);
	list_tree(out, "", &entries);
	strvec_sort(&entries, 0);
	for (size_t i = 0; i < entries.nr; i++)
		strbuf_addf(&got, "%s\n", entries.v[i]);
	ck_assert_msg(!strcmp(got.buf, c->expect), "%s: out/ holds\n%s\nexpected\n%s", c->name,
		      got.buf, c->expect);
	ck_assert_msg(kept == c->reused, "%s: the earlier tree was%s kept", c->name,
		      c->reused ? " not" : "");
	ck_assert_int_eq(spares(&s), c->spares_full ? STAGING_SPARES - 1 : 0);  /* taken */
	/* given back, then taken again by the next run */
	ck_assert_int_eq(store_staging_retire(path.buf), 0);
	free(out);
	store_release(&s);
	strvec_clear(&outputs);
	strvec_clear(&entries);
	strbuf_release(&path);
	strbuf_release(&err);
	strbuf_release(&got);
}
END_TEST

/*
 * A staging tree that cannot be made: the error names the directory that
 * could not be created and why, and nothing of the tree is left, not
 * even a spare it took over. run_id "x/y": its parent staging/x does not
 * exist; a dataset directory above NAME_MAX bytes cannot exist.
 */
struct staging_error_case {
	const char *name;
	const char *run_id;
	int long_parent;  /* the output's dataset directory is 300 bytes */
	int spare;        /* an earlier run gave a tree back */
	const char *why;  /* after the directory's name in the error */
};

static const struct staging_error_case staging_error_cases[] = {
	{ "the run's directory", "x/y", 0, 0, "No such file or directory" },
	{ "an output's parent, fresh tree", "3", 1, 0, "File name too long" },
	{ "an output's parent, spare taken over", "3", 1, 1, "File name too long" },
};

START_TEST(test_staging_errors)
{
	const struct staging_error_case *c = &staging_error_cases[_i];
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	struct strbuf name = STRBUF_INIT;
	struct strvec outputs = STRVEC_INIT;
	struct store s;

	open_store_at(&s, "st");
	if (c->spare) {
		struct strvec none = STRVEC_INIT;

		ck_assert_msg(!store_staging_make(&s, "1", &none, &path, &err), "%s", err.buf);
		ck_assert_int_eq(store_staging_retire(path.buf), 0);
		ck_assert_int_eq(spares(&s), 1);
		strbuf_reset(&path);
	}
	for (int i = 0; i < 300; i++)
		strbuf_addch(&name, 'd');
	if (c->long_parent)
		strvec_pushf(&outputs, "%s/p=1", name.buf);
	else
		strvec_push(&outputs, "a/p=1");
	ck_assert_int_eq(store_staging_make(&s, c->run_id, &outputs, &path, &err), -1);
	strbuf_addf(&want, "cannot create '%s/staging/%s/out%s%s': %s", s.root, c->run_id,
		    c->long_parent ? "/" : "", c->long_parent ? name.buf : "", c->why);
	ck_assert_msg(!strcmp(err.buf, want.buf), "%s: error\n%s\nexpected\n%s", c->name,
		      err.buf, want.buf);
	ck_assert_msg(access(path.buf, F_OK) == -1 && errno == ENOENT, "%s: '%s' was left",
		      c->name, path.buf);
	ck_assert_int_eq(spares(&s), 0);
	store_release(&s);
	strvec_clear(&outputs);
	strbuf_release(&path);
	strbuf_release(&err);
	strbuf_release(&want);
	strbuf_release(&name);
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
	tcase_add_loop_test(tc, test_object_put, 0, sizeof(put_cases) / sizeof(put_cases[0]));
	tcase_add_test(tc, test_object_install);
	tcase_add_loop_test(tc, test_remove_data, 0,
			    sizeof(remove_cases) / sizeof(remove_cases[0]));
	tcase_add_loop_test(tc, test_check_relinked, 0,
			    sizeof(relink_cases) / sizeof(relink_cases[0]));
	tcase_add_test(tc, test_format);
	tcase_add_loop_test(tc, test_staging, 0, sizeof(staging_cases) / sizeof(staging_cases[0]));
	tcase_add_loop_test(tc, test_staging_errors, 0,
			    sizeof(staging_error_cases) / sizeof(staging_error_cases[0]));
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
