#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fd.h"
#include "cli/cli.h"
#include "executor/executor.h"

static const struct cli_usage usage = {
	.cmd = "cat",
	.head = "usage: databuild cat [-j N] [--freshness keys|presence] REF...\n"
		"\n"
		"Write the bytes of the partitions REF..., in order, to standard output,\n"
		"building whatever is missing or stale first (like reading REF through the\n"
		"mount: with keys, the default, a live partition whose build key changed is\n"
		"rebuilt; with presence it is used as it is). Progress goes to standard\n"
		"error when it is a terminal.\n",
	.tail = "exit status: 0 ok, 1 a job failed or the output could not be written, 2 usage,\n"
		"graph or planning error, 130 interrupted\n",
};

/* flock(fd, LOCK_SH) through EINTR: 0, or -1 with errno. */
static int flock_shared(int fd)
{
	int rc;

	do
		rc = flock(fd, LOCK_SH);
	while (rc < 0 && errno == EINTR);
	return rc;
}

/*
 * Copies the data file of p (live: opened beneath data/ without following
 * a link, and checked against the identity its publish recorded) to
 * stdout: sendfile, else read/write, holding a shared flock on it all the
 * while. Damaged data is never copied.
 */
static int copy_out(const struct store *s, const struct partition *p, const char *path)
{
	struct strbuf why = STRBUF_INIT;
	char buf[65536];
	struct stat st;
	off_t left;
	int fd, ret = -1, kind;

	kind = store_check_data(s, p->ref, p->ident, p->size, &fd, &why);
	if (kind != STORE_INTACT) {
		cli_error(-1, "partition '%s' (%s): %s%s", p->ref, path, why.buf,
			  kind > 0 ? "; not served" : "");
		strbuf_release(&why);
		return -1;
	}
	strbuf_release(&why);
	/* a reader of a version: gc skips an object held so (docs/design/history.md) */
	if (flock_shared(fd) < 0) {
		cli_error(-1, "cannot lock '%s' for reading: %s", path, strerror(errno));
		goto out;
	}
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

/*
 * 1 if every ref is live with intact data, 0 if not (damage found is
 * recorded, and the build rebuilds it), -1 on a catalog error (printed;
 * exit 2).
 */
static int all_live(struct cli *cli, const struct strvec *refs)
{
	int ret = 1;

	for (size_t i = 0; i < refs->nr && ret == 1; i++) {
		struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
		struct partition p;
		int r;

		partition_init(&p);
		r = catalog_get_partition(&cli->catalog, refs->v[i], &p, &err);
		if (r > 0 && p.status == PART_LIVE)
			r = catalog_check_data(&cli->catalog, &p, &why, &err) < 0 ? -1 : r;
		if (r < 0) {
			cli_fail(EXIT_USAGE, &err);
			ret = -1;
		} else if (!r || p.status != PART_LIVE) {
			ret = 0;
		}
		partition_release(&p);
		strbuf_release(&err);
		strbuf_release(&why);
	}
	return ret;
}

/*
 * On a terminal, before the status line: one line per ref that is not
 * live, saying what cat waits for ("building raw/date=1 (job raw)", or
 * "waiting for raw/date=1 (job raw, run 12: being built elsewhere)" when
 * the catalog says another builder, a mount say, has it).
 */
static void progress_intro(struct cli *cli, const struct strvec *refs)
{
	for (size_t i = 0; i < refs->nr; i++) {
		struct strbuf err = STRBUF_INIT;
		struct partition p;
		const struct job *j = NULL;
		int found;

		partition_init(&p);
		found = catalog_get_partition(&cli->catalog, refs->v[i], &p, &err);
		if (found <= 0 || p.status != PART_LIVE)
			j = graph_lookup(&cli->graph, refs->v[i], &err);
		if (found > 0 && p.status == PART_BUILDING && p.run_id)
			fprintf(stderr, "waiting for %s (job %s, run %s: being built elsewhere)\n",
				refs->v[i], p.job ? p.job : j ? j->label : "?", p.run_id);
		else if (found >= 0 && (!found || p.status != PART_LIVE))
			fprintf(stderr, "building %s (job %s)\n", refs->v[i], j ? j->label : "?");
		partition_release(&p);
		strbuf_release(&err);
	}
}

/* Builds the refs of r unless all are live: an exit code. */
static int cat_build(struct cli *cli, struct build_request *r)
{
	int live = all_live(cli, &r->refs), ret;

	if (live < 0)
		return EXIT_USAGE;
	if (live && r->o.freshness == FRESH_PRESENCE)
		return EXIT_OK;
	if (isatty(STDERR_FILENO))
		progress_intro(cli, &r->refs);
	/* a read that live partitions answer leaves no build record */
	r->o.record_if_work = 1;
	ret = build_refs_run(cli, 0, &r->refs, &r->o, isatty(STDERR_FILENO) ? stderr : NULL, 1);
	if (ret == EXIT_OK && all_live(cli, &r->refs) != 1)
		ret = cli_error(EXIT_FAILED, "a partition of the request is not live after its "
				"build");
	return ret;
}

/* Writes the data of the refs of r, building what is not live first: an exit code. */
static int cat_request(struct cli *cli, struct build_request *r)
{
	struct strbuf path = STRBUF_INIT;
	struct cli_refs in_space = CLI_REFS_INIT;
	int ret;

	/* a ref outside its job's domain is refused, even if something is live there */
	if (cli_refs_expand(cli, &in_space, (int)r->refs.nr, (char **)r->refs.v, 0) < 0)
		ret = EXIT_USAGE;
	else
		ret = cli_open_catalog(cli) < 0 ? EXIT_USAGE : cat_build(cli, r);
	cli_refs_release(&in_space);

	for (size_t i = 0; i < r->refs.nr && ret == EXIT_OK; i++) {
		struct strbuf err = STRBUF_INIT;
		struct partition p;

		partition_init(&p);
		strbuf_reset(&path);
		store_data_path(&cli->store, r->refs.v[i], &path);
		if (catalog_get_partition(&cli->catalog, r->refs.v[i], &p, &err) < 0)
			ret = cli_fail(EXIT_USAGE, &err);
		else if (copy_out(&cli->store, &p, path.buf) < 0)
			ret = EXIT_FAILED;
		partition_release(&p);
		strbuf_release(&err);
	}
	strbuf_release(&path);
	build_request_release(r);
	return ret;
}

int cmd_cat(struct cli *cli, int argc, char **argv)
{
	struct build_request r = BUILD_REQUEST_INIT;
	const struct cli_option options[] = {
		OPT_JOBS(&r.o.jobs, build_jobs_help),
		OPT_FRESHNESS(&r.o.freshness,
			      "keys (default): rebuild a live partition whose build key\n"
			      "changed; presence: use any live partition as it is"),
		OPT_END(),
	};
	int n = build_request_parse(&r, argc, argv, &usage, options);

	return n < 0 ? cli_parse_exit(n) : cat_request(cli, &r);
}
