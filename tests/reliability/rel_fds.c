/*
 * A job that reports the file descriptors it inherited: one line
 * "FD TARGET" per open descriptor (the one it lists them with excluded),
 * written to $DATABUILD_OUTPUT_DIR/REF.
 *   rel_fds KIND REF
 */
#include <dirent.h>
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

int main(int argc, char **argv)
{
	struct strbuf list = STRBUF_INIT, path = STRBUF_INIT, link = STRBUF_INIT;
	const char *outdir = getenv("DATABUILD_OUTPUT_DIR");
	struct dirent *de;
	DIR *d;
	FILE *f;
	int ret = 1;

	if (argc != 3 || !outdir) {
		fprintf(stderr, "usage: rel_fds KIND REF (as a databuild job)\n");
		return 2;
	}
	d = opendir("/proc/self/fd");
	if (!d) {
		perror("/proc/self/fd");
		return 1;
	}
	while ((de = readdir(d))) {
		char target[4096];
		ssize_t n;

		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		strbuf_reset(&link);
		strbuf_addf(&link, "/proc/self/fd/%s", de->d_name);
		n = readlink(link.buf, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		strbuf_addf(&list, "%s %s\n", de->d_name, target);
	}
	closedir(d);
	strbuf_addf(&path, "%s/%s", outdir, argv[2]);
	if (mkdir_parents(path.buf, 0755) < 0) {
		fprintf(stderr, "cannot create the parents of '%s': %s\n", path.buf,
			strerror(errno));
		goto out;
	}
	f = fopen(path.buf, "we");
	if (!f || fputs(list.buf, f) == EOF || fclose(f) == EOF) {
		fprintf(stderr, "cannot write '%s': %s\n", path.buf, strerror(errno));
		goto out;
	}
	fputs(list.buf, stderr);
	ret = 0;
out:
	strbuf_release(&list);
	strbuf_release(&path);
	strbuf_release(&link);
	return ret;
}
