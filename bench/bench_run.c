/*
 * benchrun: runs one command and prints what it cost, for scripts/bench.
 *
 *   benchrun [-i FILE] [-o FILE] [-e FILE] [-C DIR] -- CMD ARG...
 *
 * The command's stdin, stdout and stderr are FILE (default: inherited).
 * Prints one line on stdout:
 *
 *   <wall ns> <max RSS KiB> <user µs> <system µs> <exit status>
 *
 * Wall time runs from just before the spawn to the return of wait4();
 * max RSS and CPU times are those wait4() reports for the child and
 * whatever it waited for itself. The exit status is the command's, or
 * 128 + the signal that killed it; benchrun itself exits 0 unless it
 * could not run the command at all (127).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int redirect(posix_spawn_file_actions_t *fa, int fd, const char *path, int flags)
{
	int r = posix_spawn_file_actions_addopen(fa, fd, path, flags, 0644);

	if (r) {
		fprintf(stderr, "benchrun: cannot redirect to '%s': %s\n", path, strerror(r));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *errf = NULL, *dir = NULL;
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int64_t t0, t1;
	pid_t pid;
	int i, r, status, code;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "-i"))
			in = argv[++i];
		else if (!strcmp(argv[i], "-o"))
			out = argv[++i];
		else if (!strcmp(argv[i], "-e"))
			errf = argv[++i];
		else if (!strcmp(argv[i], "-C"))
			dir = argv[++i];
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: benchrun [-i FILE] [-o FILE] [-e FILE] [-C DIR] -- CMD ARG...\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	if ((in && redirect(&fa, 0, in, O_RDONLY) < 0) ||
	    (out && redirect(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC) < 0) ||
	    (errf && redirect(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC) < 0))
		return 127;
	if (dir)
		posix_spawn_file_actions_addchdir_np(&fa, dir);
	fflush(stdout);
	t0 = now_ns();
	r = posix_spawnp(&pid, argv[i], &fa, NULL, argv + i, environ);
	if (r) {
		fprintf(stderr, "benchrun: cannot run '%s': %s\n", argv[i], strerror(r));
		return 127;
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("benchrun: wait4");
			return 127;
		}
	}
	t1 = now_ns();
	posix_spawn_file_actions_destroy(&fa);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("%lld %ld %lld %lld %d\n", (long long)(t1 - t0), ru.ru_maxrss,
	       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, code);
	return 0;
}
