/*
 * Readers for the load tests. Every read must return exactly "ok REF\n"
 * (what the fixture's `ok` job writes).
 *   rel_reader parallel N ROOT REF...  N threads at once, thread i reads
 *                                      ROOT/REF[i % nrefs] (open, read, close)
 *   rel_reader loop N ROOT REF...      N reads one after the other, round-robin
 * Exits 0 when every read returned the expected bytes, else 1 (each failure
 * is printed on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/strbuf.h"

struct reader {
	pthread_t tid;
	const char *root;
	const char *ref;
	int failed;
};

static int read_one(const char *root, const char *ref)
{
	struct strbuf path = STRBUF_INIT, want = STRBUF_INIT;
	char buf[4096];
	size_t len = 0;
	ssize_t n = 0;
	struct timespec t0, t1;
	int fd, ret = -1;

	strbuf_addf(&path, "%s/%s", root, ref);
	strbuf_addf(&want, "ok %s\n", ref);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (fd < 0) {
		fprintf(stderr, "open '%s': %s\n", path.buf, strerror(errno));
		goto out;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		fprintf(stderr, "read '%s': %s\n", path.buf, strerror(errno));
		goto out;
	}
	if (len != want.len || memcmp(buf, want.buf, len)) {
		struct stat st;
		long long size = fstat(fd, &st) < 0 ? -1 : (long long)st.st_size;
		ssize_t again = pread(fd, buf, sizeof(buf), 0);

		fprintf(stderr, "read '%s': got %zu bytes '%.*s', want '%s' (open took %lld us, "
			"then fstat size %lld, read again: %zd bytes; thread %d)\n", path.buf, len,
			(int)(len > 64 ? 64 : len), buf, want.buf,
			(long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000,
			size, again, (int)gettid());
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) < 0) {
		fprintf(stderr, "close '%s': %s\n", path.buf, strerror(errno));
		ret = -1;
	}
	strbuf_release(&path);
	strbuf_release(&want);
	return ret;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->failed = read_one(r->root, r->ref) < 0;
	return NULL;
}

static int run_parallel(long n, const char *root, char **refs, int nrefs)
{
	struct reader *rs = xcalloc((size_t)n, sizeof(*rs));
	pthread_attr_t attr;
	long started = 0, failed = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (long i = 0; i < n; i++) {
		rs[i].root = root;
		rs[i].ref = refs[i % nrefs];
		if (pthread_create(&rs[i].tid, &attr, reader_main, &rs[i])) {
			fprintf(stderr, "pthread_create: %s\n", strerror(errno));
			break;
		}
		started++;
	}
	for (long i = 0; i < started; i++) {
		pthread_join(rs[i].tid, NULL);
		failed += rs[i].failed;
	}
	pthread_attr_destroy(&attr);
	free(rs);
	printf("%ld readers, %ld failed\n", started, failed + (n - started));
	return failed || started != n;
}

static int run_loop(long n, const char *root, char **refs, int nrefs)
{
	long failed = 0;

	for (long i = 0; i < n; i++)
		if (read_one(root, refs[i % nrefs]) < 0 && ++failed > 10)
			break;
	printf("%ld reads, %ld failed\n", n, failed);
	return failed != 0;
}

int main(int argc, char **argv)
{
	long n;

	if (argc < 5 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: rel_reader parallel|loop N ROOT REF...\n");
		return 2;
	}
	if (!strcmp(argv[1], "parallel"))
		return run_parallel(n, argv[3], argv + 4, argc - 4);
	if (!strcmp(argv[1], "loop"))
		return run_loop(n, argv[3], argv + 4, argc - 4);
	fprintf(stderr, "rel_reader: unknown mode '%s'\n", argv[1]);
	return 2;
}
