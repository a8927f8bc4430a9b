/* Leases (threads, processes, holders killed, descriptors) and change notification. */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/lease.h"
#include "core/hash.h"
#include "fixture.h"

/* ---- leases ---------------------------------------------------------- */

/* The pid a lock file names (its whole text, one line), or -1. */
static long lock_file_pid(const char *path)
{
	char text[64], *end;
	ssize_t n;
	long pid;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n != LEASE_PID_WIDTH + 1 || text[n - 1] != '\n')
		return -1;
	text[n] = '\0';
	pid = strtol(text, &end, 10);
	return *end == '\n' ? pid : -1;
}

START_TEST(test_lease_in_process)
{
	struct lease *a = NULL, *b = NULL, *c2 = NULL;
	struct strbuf path = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];

	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &a, &err), 1);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &b, &err), 0);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=2", 0, &c2, &err), 1);
	if (!location) {
		sha256_hex("x/y=1", 5, hex);
		flock_lease_path(store.root, "x/y=1", &path);
		ck_assert_ptr_nonnull(strstr(path.buf, "/locks/"));
		ck_assert_ptr_nonnull(strstr(path.buf, hex));
		ck_assert_int_eq(access(path.buf, F_OK), 0);
		/* the holder's pid, written over the last holder's without a truncate */
		ck_assert_int_eq(lock_file_pid(path.buf), (long)getpid());
	}
	catalog_lease_release(&cat, a);
	if (!location) {  /* a holder before: another pid, as older releases wrote it */
		FILE *f = fopen(path.buf, "w");

		ck_assert_ptr_nonnull(f);
		fputs("4194303\n", f);
		fclose(f);
	}
	ck_assert_int_eq(catalog_lease_acquire(&cat, "x/y=1", 0, &b, &err), 1);
	if (!location)
		ck_assert_int_eq(lock_file_pid(path.buf), (long)getpid());
	catalog_lease_release(&cat, b);
	catalog_lease_release(&cat, c2);
	strbuf_release(&path);
}
END_TEST

struct waiter {
	struct catalog *c;
	int got;
	struct lease *l;
};

static void *wait_lease(void *arg)
{
	struct waiter *w = arg;
	struct strbuf e = STRBUF_INIT;

	w->got = catalog_lease_acquire(w->c, "t/x=1", 1, &w->l, &e);
	strbuf_release(&e);
	return NULL;
}

START_TEST(test_lease_thread_waits)
{
	struct lease *held = NULL;
	struct waiter w = { &cat, -2, NULL };
	pthread_t th;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "t/x=1", 0, &held, &err), 1);
	ck_assert_int_eq(pthread_create(&th, NULL, wait_lease, &w), 0);
	catalog_lease_release(&cat, held);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(w.got, 1);
	ck_assert_ptr_nonnull(w.l);
	catalog_lease_release(&cat, w.l);
}
END_TEST

/* A child that takes the lease of ref, reports on `ready`, then waits for `go` (or forever). */
static pid_t lease_holder(const char *ref, int *ready_fd, int *go_fd)
{
	int ready[2], go[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		struct catalog mine;
		struct lease *l;
		struct strbuf e = STRBUF_INIT;
		char ch = 'x';

		/* its own handle: a process never shares the parent's connection */
		if (catalog_open(&mine, &store, location, &e) < 0)
			_exit(2);
		if (catalog_lease_acquire(&mine, ref, 0, &l, &e) != 1)
			_exit(3);
		if (write(ready[1], &ch, 1) != 1)
			_exit(4);
		if (read(go[0], &ch, 1) < 0)
			_exit(5);
		_exit(0);  /* exiting releases the lease */
	}
	close(ready[1]);
	close(go[0]);
	*ready_fd = ready[0];
	*go_fd = go[1];
	return pid;
}

START_TEST(test_lease_two_processes)
{
	int ready, go, st;
	struct lease *l = NULL;
	char ch;
	pid_t pid = lease_holder("two/p=1", &ready, &go);

	ck_assert_int_eq(read(ready, &ch, 1), 1);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=1", 0, &l, &err), 0);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=2", 0, &l, &err), 1);
	catalog_lease_release(&cat, l);
	ck_assert_int_eq(write(go, "g", 1), 1);
	alarm(30);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "two/p=1", 1, &l, &err), 1);
	alarm(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	catalog_lease_release(&cat, l);
	close(ready);
	close(go);
}
END_TEST

START_TEST(test_lease_holder_killed)
{
	int ready, go, st;
	struct lease *l = NULL;
	char ch;
	pid_t pid = lease_holder("kill/p=1", &ready, &go);

	ck_assert_int_eq(read(ready, &ch, 1), 1);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "kill/p=1", 0, &l, &err), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	alarm(30);
	ck_assert_int_eq(catalog_lease_acquire(&cat, "kill/p=1", 1, &l, &err), 1);
	alarm(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	catalog_lease_release(&cat, l);
	close(ready);
	close(go);
}
END_TEST

START_TEST(test_lease_not_inherited)
{
	struct lease *l = NULL;
	struct strbuf path = STRBUF_INIT;
	int fd, flags;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "cloexec", 0, &l, &err), 1);
	flock_lease_path(store.root, "cloexec", &path);
	/* every descriptor on the lock file is close-on-exec */
	for (fd = 3; fd < 1024; fd++) {
		char link[64], target[4096];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path.buf))
			continue;
		flags = fcntl(fd, F_GETFD);
		ck_assert(flags & FD_CLOEXEC);
		break;
	}
	ck_assert_int_lt(fd, 1024);
	catalog_lease_release(&cat, l);
	strbuf_release(&path);
}
END_TEST

/* ---- change notification ------------------------------------------- */

START_TEST(test_watch)
{
	struct catalog other;
	int fd = -2, n;

	n = catalog_watch(&cat, &fd, &err);
	OK(n);
	ck_assert_int_eq(n, 0);
	if (!location) {
		/* SQLite cannot notify: callers re-check on a timer */
		ck_assert_int_eq(fd, -1);
		return;
	}
	ck_assert_int_ge(fd, 0);
	OK(catalog_open(&other, &store, location, &err));
	OK(catalog_set_status(&other, "w/p=1", PART_STALE, NULL, &err));
	catalog_close(&other);
	for (int i = 0; i < 100; i++) {  /* up to 10 s */
		struct pollfd pfd = { fd, POLLIN, 0 };

		OK(n = catalog_watch(&cat, &fd, &err));
		if (n)
			break;
		pfd.fd = fd;
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
	}
	ck_assert_int_gt(n, 0);
	/* consumed: nothing is pending any more */
	ck_assert_int_eq(catalog_watch(&cat, &fd, &err), 0);
}
END_TEST

/* Waits up to 10 s for notifications on cat; their count, released refs pushed to out. */
static int watch_until(struct strvec *out)
{
	int fd = -1, n = 0;

	for (int i = 0; i < 100 && !n; i++) {
		struct pollfd pfd = { -1, POLLIN, 0 };

		OK(n = catalog_watch_leases(&cat, &fd, out, &err));
		pfd.fd = fd;
		if (!n)
			ck_assert_int_ge(poll(&pfd, 1, 100), 0);
	}
	return n;
}

/*
 * Lease waiters learn which lease was released, and only that: another
 * handle's commit does not wake them (every notification wakes every
 * listener), its release names the ref (so a builder re-tries only the
 * waiters on that ref). Notifications arrive in the order they were sent,
 * so a commit heard would come before the release.
 */
START_TEST(test_watch_leases)
{
	struct strvec released = STRVEC_INIT;
	struct catalog other;
	struct lease *l = NULL;
	int fd = -2, heard = 0;

	OK(catalog_watch_leases(&cat, &fd, &released, &err));
	if (!location) {
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(released.nr, 0);
		return;
	}
	OK(catalog_open(&other, &store, location, &err));
	OK(catalog_set_status(&other, "wl/p=1", PART_STALE, NULL, &err));
	ck_assert_int_eq(catalog_lease_acquire(&other, "wl/p=2", 0, &l, &err), 1);
	catalog_lease_release(&other, l);
	for (int i = 0; i < 3 && strvec_find(&released, "wl/p=2") < 0; i++)
		heard += watch_until(&released);
	ck_assert_msg(strvec_find(&released, "wl/p=2") >= 0, "the release of 'wl/p=2' was not named");
	ck_assert_msg(heard == 1 && released.nr == 1,
		      "a lease watcher heard %d notifications (%zu named, the first '%s'), "
		      "want only the release", heard, released.nr, released.v[0]);
	catalog_close(&other);
	strvec_clear(&released);
}
END_TEST

/* The catalog's sockets (PostgreSQL connections) are close-on-exec. */
START_TEST(test_sockets_not_inherited)
{
	struct lease *l = NULL;
	int fd, sockets = 0;

	ck_assert_int_eq(catalog_lease_acquire(&cat, "cloexec", 0, &l, &err), 1);
	OK(catalog_watch(&cat, &fd, &err));
	for (fd = 3; fd < 1024; fd++) {
		char link[64], target[256];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:", 7))
			continue;
		sockets++;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "descriptor %d (%s) is inherited",
			      fd, target);
	}
	if (location)
		ck_assert_int_ge(sockets, 2);  /* the handle's and its lease connection */
	catalog_lease_release(&cat, l);
}
END_TEST
/* pg: PostgreSQL's leases have no lock file for test_lease_not_inherited to look at. */
void catalog_leases_cases(TCase *tc, int pg)
{
	ADD(test_lease_in_process);
	ADD(test_lease_thread_waits);
	ADD(test_lease_two_processes);
	ADD(test_lease_holder_killed);
	if (!pg)
		ADD(test_lease_not_inherited);
	ADD(test_sockets_not_inherited);
	ADD(test_watch);
	ADD(test_watch_leases);
}
