/*
 * benchopen: the cost of opening a file, for the freshness benchmark.
 *
 *   benchopen N PATH
 *
 * Opens PATH, reads it to the end and closes it, N times in a row after
 * one untimed warm-up, and prints the mean wall time of one round in
 * nanoseconds. Exits 1 (saying why) if an open or read fails or a round
 * reads a different number of bytes than the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Bytes read from path, or -1 (printed). */
static long long round_trip(const char *path)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "benchopen: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0) {
		fprintf(stderr, "benchopen: cannot read '%s': %s\n", path, strerror(errno));
		total = -1;
	}
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? atol(argv[1]) : 0;
	long long first, t0;

	if (n <= 0) {
		fprintf(stderr, "usage: benchopen N PATH\n");
		return 2;
	}
	if ((first = round_trip(argv[2])) < 0)
		return 1;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		long long got = round_trip(argv[2]);

		if (got != first) {
			if (got >= 0)
				fprintf(stderr, "benchopen: '%s' gave %lld bytes, then %lld\n",
					argv[2], first, got);
			return 1;
		}
	}
	printf("%lld\n", (now_ns() - t0) / n);
	return 0;
}
