#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "fs/fs.h"

/*
 * `databuild mount MOUNTPOINT`: serves the store as a filesystem. Unless
 * -f, the daemon is forked off: the parent waits on a pipe until the mount
 * is up ("O"), or prints the error the child sends and exits 2.
 */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: databuild mount MOUNTPOINT [-f] [-o OPTIONS] [--freshness presence|keys]\n"
		"                       [-j N] [--debug]\n"
		"\n"
		"Serve every partition as a read-only file under MOUNTPOINT. Reading a\n"
		"partition that does not exist yet builds it (and its missing upstreams).\n"
		"\n"
		"  -f, --foreground  stay in the foreground (default: run as a daemon that\n"
		"                    logs to <store>/daemon.log)\n"
		"  -o OPTIONS        FUSE mount options, e.g. allow_other (which also turns\n"
		"                    on default_permissions)\n"
		"  --freshness F     presence (default): a live partition is served as is;\n"
		"                    keys: its build key is checked once per mount\n"
		"  -j, --jobs N      runs in flight per build (default: cores; 32 with\n"
		"                    --executor slurm)\n"
		"  --debug           log every FUSE request (with -f: to stderr)\n"
		"\n"
		"Unmount with `databuild umount MOUNTPOINT`.\n");
}

static int option_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	if (*i + 1 >= argc) {
		cli_error(EXIT_USAGE, "option '%s' needs a value", name);
		return -1;
	}
	*out = argv[++*i];
	return 0;
}

/* "sqlite:relative" would break once the daemon leaves the directory. */
static char *absolute_location(const char *loc)
{
	char *cwd, *abs;

	if (!loc || strncmp(loc, "sqlite:", 7) || loc[7] == '/' || !(cwd = getcwd(NULL, 0)))
		return loc ? xstrdup(loc) : NULL;
	abs = xstrfmt("sqlite:%s/%s", cwd, loc + 7);
	free(cwd);
	return abs;
}

static int wait_ready(int fd, pid_t pid, const char *mountpoint, const char *log)
{
	struct strbuf msg = STRBUF_INIT;
	char first;
	ssize_t n;
	int code = EXIT_USAGE;

	do
		n = read(fd, &first, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && first == 'O') {
		code = EXIT_OK;
		goto out;
	}
	if (n == 1)
		strbuf_addch(&msg, first);
	strbuf_read_fd(&msg, fd, 65536);
	strbuf_rtrim(&msg);
	if (msg.len)
		cli_error(code, "%s", msg.buf);
	else
		cli_error(code, "the daemon for '%s' exited before mounting (see %s)",
			  mountpoint, log);
	waitpid(pid, NULL, WNOHANG);
out:
	strbuf_release(&msg);
	return code;
}

static void daemon_child(struct fs_opts *o, int wfd, const char *log)
{
	struct strbuf err = STRBUF_INIT;
	int fd, code = 0;

	setsid();
	signal(SIGPIPE, SIG_IGN);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	if (chdir("/") < 0)
		(void)0;
	o->ready_fd = wfd;
	if (fs_serve(o, &err) < 0) {
		if (write(wfd, err.buf, err.len) < 0)
			(void)0;
		fprintf(stderr, "databuild: %s\n", err.buf);
		code = 1;
	}
	strbuf_release(&err);
	close(wfd);
	exit(code);
}

int cmd_mount(struct cli *cli, int argc, char **argv)
{
	struct fs_opts o;
	struct strbuf opts = STRBUF_INIT, log = STRBUF_INIT;
	const char *mountpoint = NULL, *value;
	char *real = NULL, *location = NULL;
	int code = EXIT_USAGE, pipefd[2];
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.freshness = FRESH_PRESENCE;
	o.ready_fd = -1;
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			o.foreground = 1;
		} else if (!strcmp(a, "--debug")) {
			o.debug = 1;
		} else if (!strcmp(a, "-o")) {
			if (option_value(argc, argv, &i, a, &value) < 0)
				goto out;
			if (opts.len)
				strbuf_addch(&opts, ',');
			strbuf_addstr(&opts, value);
		} else if (!strncmp(a, "-o", 2)) {
			if (opts.len)
				strbuf_addch(&opts, ',');
			strbuf_addstr(&opts, a + 2);
		} else if (!strcmp(a, "--freshness") || !strncmp(a, "--freshness=", 12)) {
			int f;

			if (a[11] == '=')
				value = a + 12;
			else if (option_value(argc, argv, &i, a, &value) < 0)
				goto out;
			if ((f = freshness_parse(value)) < 0) {
				cli_error(EXIT_USAGE, "option '--freshness': expected 'presence' or "
					  "'keys', got '%s'", value);
				goto out;
			}
			o.freshness = f;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
			long n;

			if (option_value(argc, argv, &i, a, &value) < 0 ||
			    cli_parse_long(a, value, 1, 4096, &n) < 0)
				goto out;
			o.jobs = (int)n;
		} else if (a[0] == '-' && a[1]) {
			cli_error(EXIT_USAGE, "mount: unknown option '%s' (see 'databuild mount --help')", a);
			goto out;
		} else if (mountpoint) {
			cli_error(EXIT_USAGE, "mount: one MOUNTPOINT expected, got '%s' and '%s'",
				  mountpoint, a);
			goto out;
		} else {
			mountpoint = a;
		}
	}
	if (!mountpoint) {
		usage(stderr);
		goto out;
	}
	if (!(real = realpath(mountpoint, NULL))) {
		if (errno == ENOTCONN)
			cli_error(EXIT_USAGE, "mountpoint '%s': %s (a daemon died: run "
				  "'databuild umount %s' first)", mountpoint, strerror(errno),
				  mountpoint);
		else
			cli_error(EXIT_USAGE, "mountpoint '%s': %s", mountpoint, strerror(errno));
		goto out;
	}
	if (fs_is_mounted(real)) {
		cli_error(EXIT_USAGE, "'%s' is already a databuild mount (see 'databuild umount')",
			  mountpoint);
		goto out;
	}
	if (cli_load_graph(cli) < 0 || cli_open_store(cli) < 0 || cli_check_executor(cli) < 0)
		goto out;
	location = absolute_location(cli->catalog_location);
	o.mountpoint = real;
	o.graph = &cli->graph;
	o.store = &cli->store;
	o.catalog_location = location;
	o.executor = cli->executor;
	o.slurm_opts = &cli->slurm_opts;
	o.fuse_options = opts.len ? opts.buf : NULL;
	store_path(&cli->store, "daemon.log", &log);

	if (o.foreground) {
		struct strbuf err = STRBUF_INIT;

		if (fs_serve(&o, &err) < 0) {
			code = cli_fail(EXIT_USAGE, &err);
			strbuf_release(&err);
			goto out;
		}
		code = EXIT_OK;
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error(EXIT_USAGE, "cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		cli_error(EXIT_USAGE, "cannot fork the daemon: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto out;
	}
	if (!pid) {
		close(pipefd[0]);
		daemon_child(&o, pipefd[1], log.buf);
	}
	close(pipefd[1]);
	code = wait_ready(pipefd[0], pid, real, log.buf);
	close(pipefd[0]);
out:
	free(real);
	free(location);
	strbuf_release(&opts);
	strbuf_release(&log);
	return code;
}
