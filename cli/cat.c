#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "executor/executor.h"

static const char usage[] =
	"usage: databuild cat [-j N] REF...\n"
	"\n"
	"Write the bytes of the partitions REF..., in order, to standard output,\n"
	"building whatever is missing first (like reading REF through the mount: a\n"
	"live partition is used as it is). Progress goes to standard error when it\n"
	"is a terminal.\n"
	"\n"
	"options:\n"
	"  -j, --jobs N    run at most N jobs at once (default: number of cores;\n"
	"                  32 with --executor slurm)\n"
	"  -h, --help      this text\n"
	"\n"
	"exit status: 0 ok, 1 a job failed or the output could not be written, 2 usage,\n"
	"graph or planning error, 130 interrupted\n";

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copies the file at path to stdout: sendfile, else read/write. */
static int copy_out(const char *ref, const char *path)
{
	char buf[65536];
	struct stat st;
	off_t left;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return cli_error(-1, "cannot open '%s' (partition '%s'): %s", path, ref,
				 strerror(errno));
	if (fstat(fd, &st) < 0) {
		cli_error(-1, "cannot stat '%s': %s", path, strerror(errno));
		goto out;
	}
	left = st.st_size;
	while (left > 0) {
		ssize_t n = sendfile(STDOUT_FILENO, fd, NULL, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= n;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_error(-1, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
			cli_error(-1, "cannot write to standard output: %s", strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* 1 if every ref is live, 0 if not, -1 on a catalog error (printed; exit 2). */
static int all_live(struct cli *cli, const struct strvec *refs)
{
	int ret = 1;

	for (size_t i = 0; i < refs->nr && ret == 1; i++) {
		struct strbuf err = STRBUF_INIT;
		struct partition p;
		int r;

		partition_init(&p);
		r = catalog_get_partition(&cli->catalog, refs->v[i], &p, &err);
		if (r < 0) {
			cli_fail(EXIT_USAGE, &err);
			ret = -1;
		} else if (!r || p.status != PART_LIVE) {
			ret = 0;
		}
		partition_release(&p);
		strbuf_release(&err);
	}
	return ret;
}

int cmd_cat(struct cli *cli, int argc, char **argv)
{
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct strvec refs = STRVEC_INIT;
	struct strbuf path = STRBUF_INIT;
	const char *events_path = NULL;
	int ret = EXIT_USAGE, live, r;

	if ((r = build_args(argc, argv, usage, 0, &refs, &o, &events_path))) {
		ret = r > 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	live = all_live(cli, &refs);
	if (live < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!live) {
		o.freshness = FRESH_PRESENCE;
		ret = build_refs_run(cli, 0, &refs, &o, isatty(STDERR_FILENO) ? stderr : NULL, 1);
		if (ret != EXIT_OK)
			goto out;
		if (all_live(cli, &refs) != 1) {
			ret = cli_error(EXIT_FAILED, "a partition of the request is not live "
					"after its build");
			goto out;
		}
	}
	ret = EXIT_FAILED;
	for (size_t i = 0; i < refs.nr; i++) {
		strbuf_reset(&path);
		store_data_path(&cli->store, refs.v[i], &path);
		if (copy_out(refs.v[i], path.buf) < 0)
			goto out;
	}
	ret = EXIT_OK;
out:
	strbuf_release(&path);
	strvec_clear(&refs);
	return ret;
}
