/*
 * The file side of gc (store/gc.c) and the flock lease's re-check after
 * gc removed a lock file (catalog/lease.c), table-driven (check).
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/file.h>

#include "catalog/lease.h"
#include "store/gc.h"
#include "store/object.h"
#include "../model/testutil.h"

#define HASH "ab" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
#define OBJECT_NAME "objects/ab/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

static char *dir;
static struct store store;

static void setup(void)
{
	struct strbuf err = STRBUF_INIT;

	dir = tmpdir_make();
	ck_assert_msg(store_open(&store, dir, &err) == 0, "%s", err.buf);
	strbuf_release(&err);
}

static void teardown(void)
{
	store_release(&store);
	tmpdir_remove(dir);
	dir = NULL;
}

static char *object_path(void)
{
	struct strbuf p = STRBUF_INIT;

	store_object_path(&store, HASH, &p);
	return strbuf_detach(&p, NULL);
}

/* How the object is when gc looks at it. */
enum object_state {
	OBJ_ABSENT,
	OBJ_ALONE,    /* one name: collectable */
	OBJ_LINKED,   /* also data/x (a current version's name) */
	OBJ_HELD,     /* a reader holds LOCK_SH on it */
};

static const struct collect_case {
	enum object_state state;
	int dry_run;
	int want;       /* store_object_collect's return */
	int remains;    /* the object is still there after */
	int held;       /* store_object_held's return */
} collect_cases[] = {
	{ OBJ_ABSENT, 0, 0, 0, 0 },
	{ OBJ_ALONE, 0, 1, 0, 0 },
	{ OBJ_ALONE, 1, 1, 1, 0 },
	{ OBJ_LINKED, 0, 0, 1, 0 },
	{ OBJ_HELD, 0, 0, 1, 1 },
	{ OBJ_HELD, 1, 0, 1, 1 },
};

START_TEST(test_collect)
{
	const struct collect_case *c = &collect_cases[_i];
	struct strbuf err = STRBUF_INIT;
	char *path = object_path();
	char *name2 = xstrfmt("%s/data/x", dir);
	int64_t bytes = -1;
	int reader = -1;
	struct stat st;

	if (c->state != OBJ_ABSENT) {
		write_file(dir, OBJECT_NAME, "bytes\n", 0444);
		ck_assert_int_eq(stat(path, &st), 0);
	}
	if (c->state == OBJ_LINKED)
		ck_assert_int_eq(link(path, name2), 0);
	if (c->state == OBJ_HELD) {
		reader = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(reader, 0);
		ck_assert_int_eq(flock(reader, LOCK_SH), 0);
	}
	ck_assert_int_eq(store_object_held(&store, HASH, &err), c->held);
	ck_assert_int_eq(store_object_collect(&store, HASH, c->dry_run, &bytes, &err), c->want);
	ck_assert_msg(!err.len, "%s", err.buf);
	ck_assert_int_eq(access(path, F_OK) == 0, c->remains);
	ck_assert_int_eq(bytes, c->want ? store_disk_bytes(&st) : 0);
	if (reader >= 0)
		close(reader);
	strbuf_release(&err);
	free(path);
	free(name2);
}
END_TEST

static int count_visit(const char *name, const struct stat *st, void *arg, struct strbuf *err)
{
	struct strvec *seen = arg;

	strvec_push(seen, name);
	return 0;
}

START_TEST(test_walks)
{
	struct strbuf err = STRBUF_INIT;
	struct strvec seen = STRVEC_INIT;

	write_file(dir, OBJECT_NAME, "x", 0444);
	write_file(dir, "objects/ab/not-an-object", "x", 0444);
	write_file(dir, "objects/zz/0123", "x", 0444);
	write_file(dir, "logs/run-1.log", "x", 0600);
	write_file(dir, "logs/notes.txt", "x", 0600);
	write_file(dir, "staging/run-2/out/x", "x", 0600);
	write_file(dir, "staging/stray-file", "x", 0600);
	ck_assert_int_eq(store_walk_objects(&store, count_visit, &seen, &err), 0);
	ck_assert_int_eq(seen.nr, 1);
	ck_assert_str_eq(seen.v[0], HASH);
	strvec_clear(&seen);
	ck_assert_int_eq(store_walk_logs(&store, count_visit, &seen, &err), 0);
	ck_assert_int_eq(seen.nr, 1);
	ck_assert_str_eq(seen.v[0], "run-1");
	strvec_clear(&seen);
	ck_assert_int_eq(store_walk_staging(&store, count_visit, &seen, &err), 0);
	ck_assert_int_eq(seen.nr, 1);
	ck_assert_str_eq(seen.v[0], "run-2");
	strvec_clear(&seen);
	strbuf_release(&err);
}
END_TEST

/* A lock file held by another descriptor stays; a free one goes. */
START_TEST(test_lock_remove)
{
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT;
	int64_t bytes;
	int fd;

	store_lock_path(&store, HASH, &path);
	ck_assert_int_eq(mkdir_parents(path.buf, 0700), 0);
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(store_lock_remove(&store, HASH, 0, 0, &bytes, &err), 0);
	ck_assert_int_eq(access(path.buf, F_OK), 0);
	close(fd);
	ck_assert_int_eq(store_lock_remove(&store, HASH, 0, 1, &bytes, &err), 1);
	ck_assert_int_eq(access(path.buf, F_OK), 0);
	ck_assert_int_eq(store_lock_remove(&store, HASH, 0, 0, &bytes, &err), 1);
	ck_assert_int_ne(access(path.buf, F_OK), 0);
	ck_assert_int_eq(store_lock_remove(&store, HASH, 0, 0, &bytes, &err), 0);
	ck_assert_msg(!err.len, "%s", err.buf);
	strbuf_release(&err);
	strbuf_release(&path);
}
END_TEST

struct waiter {
	int rc;
	struct lease *lease;
	struct strbuf err;
};

static void *acquire_waiting(void *arg)
{
	struct waiter *w = arg;

	w->rc = flock_lease_acquire(dir, "a/b", 1, &w->lease, &w->err);
	return NULL;
}

/* How many of this process's descriptors are open on the file at path. */
static int fds_on(const char *path)
{
	struct stat want, st;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(stat(path, &want), 0);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
			n += st.st_dev == want.st_dev && st.st_ino == want.st_ino;
	closedir(d);
	return n;
}

/*
 * A builder waits on the lock file; gc (holding the lease) removes it and
 * lets go. The builder then has the lock of a file no one else will open:
 * it must notice and lock the file at the path instead, or a second
 * builder would get in through a new file.
 */
START_TEST(test_lease_recheck)
{
	struct strbuf path = STRBUF_INIT;
	struct waiter w = { .rc = -2, .lease = NULL, .err = STRBUF_INIT };
	pthread_t t;
	int fd;

	flock_lease_path(dir, "a/b", &path);
	ck_assert_int_eq(mkdir_parents(path.buf, 0700), 0);
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, acquire_waiting, &w), 0);
	while (fds_on(path.buf) < 2)
		usleep(1000);
	ck_assert_int_eq(unlink(path.buf), 0);
	close(fd);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(w.rc == 1, "acquire: %d %s", w.rc, w.err.buf);
	/* the file at the path is the one held */
	fd = open(path.buf, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "no lock file at the path after the acquire");
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	close(fd);
	flock_lease_release(w.lease);
	strbuf_release(&w.err);
	strbuf_release(&path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gc");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_collect, 0, sizeof(collect_cases) / sizeof(collect_cases[0]));
	tcase_add_test(tc, test_walks);
	tcase_add_test(tc, test_lock_remove);
	tcase_add_test(tc, test_lease_recheck);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
