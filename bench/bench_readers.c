/*
 * benchreaders: concurrent readers of files through the mount, for the
 * coalescing and latency benchmarks.
 *
 *   benchreaders [--size N] READERS DIR REF...
 *
 * Starts READERS threads; reader i opens DIR/REF[i mod nrefs], reads it
 * to the end and checks that it holds exactly "REF\n" (what `benchjob
 * exec echo` writes), or with --size that it holds N bytes. All readers are
 * released together once every thread exists. Prints "<wall ns> <failed
 * readers>" on stdout (wall: from the release to the last reader's end;
 * with one reader, open() to end of file) and each failure on stderr;
 * exits 1 if any reader failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct reader {
	pthread_t thread;
	const char *dir;
	const char *ref;
	int failed;
	char *why;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go;
static long expect_size = -1;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *read_one(void *arg)
{
	struct reader *r = arg;
	size_t plen = strlen(r->dir) + strlen(r->ref) + 2, got = 0;
	size_t want = expect_size >= 0 ? (size_t)expect_size : strlen(r->ref) + 1;
	char *path = malloc(plen), *buf = malloc(want + 64);
	int fd;

	pthread_mutex_lock(&lock);
	while (!go)
		pthread_cond_wait(&go_cond, &lock);
	pthread_mutex_unlock(&lock);
	snprintf(path, plen, "%s/%s", r->dir, r->ref);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r->failed = errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, want + 64 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->failed = errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == want + 64)
			break;
	}
	close(fd);
	if (!r->failed && (got != want || (expect_size < 0 && (memcmp(buf, r->ref, want - 1) ||
								    buf[want - 1] != '\n'))))
		r->failed = -1;
out:
	if (r->failed)
		r->why = r->failed > 0 ? strdup(strerror(r->failed)) : strdup("wrong content");
	free(path);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	struct reader *rs;
	pthread_attr_t attr;
	long n;
	int nrefs, failed = 0;
	int64_t t0, t1;

	if (argc > 2 && !strcmp(argv[1], "--size")) {
		expect_size = atol(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 4 || (n = atol(argv[1])) <= 0 || expect_size < -1) {
		fprintf(stderr, "usage: benchreaders [--size N] READERS DIR REF...\n");
		return 2;
	}
	nrefs = argc - 3;
	rs = calloc((size_t)n, sizeof(*rs));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++) {
		rs[i].dir = argv[2];
		rs[i].ref = argv[3 + i % nrefs];
		if (pthread_create(&rs[i].thread, &attr, read_one, &rs[i])) {
			fprintf(stderr, "benchreaders: cannot start reader %ld\n", i);
			return 2;
		}
	}
	pthread_mutex_lock(&lock);
	go = 1;
	t0 = now_ns();
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&lock);
	for (long i = 0; i < n; i++) {
		pthread_join(rs[i].thread, NULL);
		if (rs[i].failed) {
			failed++;
			fprintf(stderr, "benchreaders: %s/%s: %s\n", rs[i].dir, rs[i].ref, rs[i].why);
			free(rs[i].why);
		}
	}
	t1 = now_ns();
	printf("%lld %d\n", (long long)(t1 - t0), failed);
	free(rs);
	pthread_attr_destroy(&attr);
	return failed ? 1 : 0;
}
