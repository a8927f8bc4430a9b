#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fd.h"
#include "model/ref.h"

/* How often --follow looks at a running log (and at its run's status). */
#define LOG_FOLLOW_MS 100

static const struct cli_usage usage = {
	.cmd = "log",
	.head = "usage: databuild log [-f] REF|RUN\n"
		"\n"
		"Print the log (stdout and stderr) of a run: RUN is a run id; for a\n"
		"partition REF, the run building it or that failed on it, else the run\n"
		"that published it. With -f, keep printing while the run goes on, until it\n"
		"ends.\n",
	.tail = "exit status: 0 printed, 1 no such run or log, 2 usage error\n",
};

static volatile sig_atomic_t log_stop;

static void on_stop(int sig)
{
	(void)sig;
	log_stop = 1;
}

/* The run that ARG names (a run id, or a partition's): EXIT_OK with *run_id set, or an exit code (printed). */
static int run_of(struct cli *cli, const char *arg, char **run_id)
{
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	int found, ret = EXIT_USAGE;

	partition_init(&p);
	*run_id = NULL;
	if (arg[0] && strspn(arg, "0123456789") == strlen(arg)) {
		*run_id = xstrdup(arg);
		ret = EXIT_OK;
		goto out;
	}
	if (ref_validate(arg, &err) < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if ((found = catalog_get_partition(&cli->catalog, arg, &p, &err)) < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (!found || (!p.run_id && !p.published_run)) {
		ret = cli_error(EXIT_FAILED, "log: no run has built '%s'", arg);
		goto out;
	}
	*run_id = xstrdup(p.status == PART_BUILDING || p.status == PART_FAILED || !p.published_run ?
			  p.run_id : p.published_run);
	ret = EXIT_OK;
out:
	partition_release(&p);
	strbuf_release(&err);
	return ret;
}

/* Copies what fd has from *off on to stdout: 0, or -1 (errno). */
static int copy_more(int fd, off_t *off)
{
	char buf[65536];

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), *off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return -1;
		*off += n;
	}
}

/* 1 if run_id is still running, 0 if not, -1 (printed). */
static int still_running(struct cli *cli, const char *run_id)
{
	struct strbuf err = STRBUF_INIT;
	struct run_record r;
	int found = catalog_get_run(&cli->catalog, run_id, &r, &err), ret;

	if (found < 0)
		cli_fail(EXIT_USAGE, &err);
	ret = found < 0 ? -1 : found && r.status == RUN_RUNNING;
	run_record_release(&r);
	strbuf_release(&err);
	return ret;
}

static int log_print(struct cli *cli, const char *arg, int follow)
{
	struct strbuf err = STRBUF_INIT;
	struct run_record r;
	char *run_id = NULL;
	off_t off = 0;
	int fd = -1, found, ret = EXIT_USAGE;

	run_record_init(&r);
	if (cli_open_catalog(cli) < 0)
		goto out;
	if ((ret = run_of(cli, arg, &run_id)) != EXIT_OK)
		goto out;
	ret = EXIT_USAGE;
	if ((found = catalog_get_run(&cli->catalog, run_id, &r, &err)) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (!found || !r.log_path) {
		ret = cli_error(EXIT_FAILED, "log: %s '%s'", found ? "no log for run" : "no run",
				run_id);
		goto out;
	}
	fd = open(r.log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = cli_error(EXIT_FAILED, "log: cannot open '%s' (run %s): %s", r.log_path,
				run_id, strerror(errno));
		goto out;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int running;

		if (copy_more(fd, &off) < 0) {
			ret = errno == EPIPE ? EXIT_OK : cli_error(EXIT_FAILED, "log: %s",
								   strerror(errno));
			goto out;
		}
		if (!follow || log_stop || (running = still_running(cli, run_id)) <= 0)
			break;
		poll(NULL, 0, LOG_FOLLOW_MS);
	}
	/* what the run wrote between the last read and its end */
	ret = copy_more(fd, &off) < 0 && errno != EPIPE ? cli_error(EXIT_FAILED, "log: %s",
								    strerror(errno)) : EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	free(run_id);
	run_record_release(&r);
	strbuf_release(&err);
	return ret;
}

int cmd_log(struct cli *cli, int argc, char **argv)
{
	int follow = 0;
	const struct cli_option options[] = {
		OPT_FLAG('f', "follow", &follow, "keep printing while the run goes on, until it ends"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	if (n < 0)
		return cli_parse_exit(n);
	if (n != 1)
		return cli_error(EXIT_USAGE, "log: one REF or RUN expected (usage: databuild log "
				 "[-f] REF|RUN)");
	return log_print(cli, argv[0], follow);
}
