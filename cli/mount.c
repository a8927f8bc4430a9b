#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "core/fd.h"
#include "fs/fs.h"
#include "service/service.h"

/*
 * `databuild mount MOUNTPOINT`: serves the store as a filesystem. Unless
 * -f, the daemon is forked off: the parent waits on a pipe until the mount
 * is up ("O"), or prints the error the child sends and exits 2. With
 * --serve the daemon also runs the HTTP service (service/) over the same
 * store, catalog and executor; it writes its link to <store>/serve.url
 * for the parent to print.
 */

static const struct cli_usage usage = {
	.cmd = "mount",
	.head = "usage: databuild mount MOUNTPOINT [-f] [-o OPTIONS] [--freshness presence|keys]\n"
		"                       [-j N] [--debug] [--serve [--listen ADDR:PORT] [--allow-remote]]\n"
		"\n"
		"Serve every partition as a read-only file under MOUNTPOINT. Reading a\n"
		"partition that does not exist yet builds it (and its missing upstreams).\n",
	.tail = "Unmount with `databuild umount MOUNTPOINT`.\n",
};

/* What -o sets: databuild's own options, and the rest for FUSE. */
struct mount_o {
	struct fs_opts *o;
	struct strbuf fuse;
};

/* The integer value of -o item (text after its '='), in [min, max]: 0, or -1 with err. */
static int opt_int(const char *item, const char *text, long min, long max, int *out,
		   struct strbuf *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < min || v > max) {
		strbuf_addf(err, "'%s': expected a whole number from %ld to %ld", item, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/*
 * -o OPTIONS, comma-separated: freshness=presence|keys, stale=wait|serve,
 * strict, nostrict, sidecars=listed|hidden, passthrough=auto|off,
 * max_builds=N, no_cache, cancel_unread[=SECONDS] are databuild's; the
 * others are appended to the
 * FUSE options.
 */
static int opt_fuse(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	struct mount_o *mo = opt->value;
	struct strvec items = STRVEC_INIT;
	int ret = -1, f;

	for (const char *p = arg, *end;; p = end + 1) {
		end = strchrnul(p, ',');
		strvec_pushf(&items, "%.*s", (int)(end - p), p);
		if (!*end)
			break;
	}
	for (size_t i = 0; i < items.nr; i++) {
		const char *it = items.v[i];

		if (!*it)
			continue;
		if (!strncmp(it, "freshness=", 10)) {
			if ((f = freshness_parse(it + 10)) < 0) {
				strbuf_addf(err, "'%s': unknown freshness (expected presence or keys)", it);
				goto out;
			}
			mo->o->freshness = (enum freshness)f;
		} else if (!strcmp(it, "stale=serve") || !strcmp(it, "stale=wait")) {
			mo->o->stale_serve = !strcmp(it, "stale=serve");
		} else if (!strncmp(it, "stale=", 6)) {
			strbuf_addf(err, "'%s': expected stale=wait or stale=serve", it);
			goto out;
		} else if (!strcmp(it, "no_cache")) {
			mo->o->no_cache = 1;
		} else if (!strcmp(it, "strict") || !strcmp(it, "nostrict")) {
			mo->o->strict = !strcmp(it, "strict");
		} else if (!strcmp(it, "sidecars=hidden") || !strcmp(it, "sidecars=listed")) {
			mo->o->sidecars_hidden = !strcmp(it, "sidecars=hidden");
		} else if (!strcmp(it, "passthrough=auto") || !strcmp(it, "passthrough=off")) {
			mo->o->passthrough_off = !strcmp(it, "passthrough=off");
		} else if (!strncmp(it, "passthrough=", 12)) {
			strbuf_addf(err, "'%s': expected passthrough=auto or passthrough=off", it);
			goto out;
		} else if (!strncmp(it, "sidecars=", 9)) {
			strbuf_addf(err, "'%s': expected sidecars=listed or sidecars=hidden", it);
			goto out;
		} else if (!strncmp(it, "max_builds=", 11)) {
			if (opt_int(it, it + 11, 1, FS_MAX_BUILDS_LIMIT, &mo->o->max_builds, err) < 0)
				goto out;
		} else if (!strcmp(it, "cancel_unread")) {
			mo->o->cancel_unread_s = FS_CANCEL_UNREAD_DEFAULT_S;
		} else if (!strncmp(it, "cancel_unread=", 14)) {
			if (opt_int(it, it + 14, 0, 86400, &mo->o->cancel_unread_s, err) < 0)
				goto out;
		} else {
			if (mo->fuse.len)
				strbuf_addch(&mo->fuse, ',');
			strbuf_addstr(&mo->fuse, it);
		}
	}
	ret = 0;
out:
	strvec_clear(&items);
	return ret;
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

/* What `mount --serve` adds: the service's options, and the service once started. */
struct mount_service {
	int on;
	struct service_opts o;
	struct service *svc;
};

/*
 * Starts the service of ms (if asked) for the mount o, with SIGINT, SIGTERM
 * and SIGHUP blocked in its threads so that they reach the FUSE loop. Its
 * link goes to <store>/serve.url (0600) and to stdout. 0, or -1 with err.
 */
static int service_up(struct mount_service *ms, const struct fs_opts *o, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, link = STRBUF_INIT;
	sigset_t block, old;
	int fd, rc, ret = -1;

	if (!ms->on)
		return 0;
	ms->o.graph = o->graph;
	ms->o.store = o->store;
	ms->o.catalog_location = o->catalog_location;
	ms->o.backend = o->backend;
	ms->o.jobs = o->jobs;
	ms->o.freshness = o->freshness;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = service_start(&ms->svc, &ms->o, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto out;
	if (service_is_remote(ms->svc))
		fprintf(stderr, "databuild: warning: serving on %s, not a loopback address: anyone "
			"who reaches it with the token can read the catalog and start builds\n",
			service_origin(ms->svc));
	strbuf_addf(&link, "%s/?token=%s", service_origin(ms->svc), service_token(ms->svc));
	printf("databuild: serving %s\n", link.buf);
	fflush(stdout);
	store_path(o->store, "serve.url", &path);
	strbuf_addch(&link, '\n');
	fd = open(path.buf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, link.buf, link.len) < 0) {
		strbuf_addf(err, "cannot write '%s': %s", path.buf, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
out:
	if (ret < 0 && ms->svc) {
		service_stop(ms->svc);
		ms->svc = NULL;
	}
	strbuf_release(&path);
	strbuf_release(&link);
	return ret;
}

static void service_down(struct mount_service *ms, const struct fs_opts *o)
{
	struct strbuf path = STRBUF_INIT;

	if (!ms->svc)
		return;
	service_stop(ms->svc);
	ms->svc = NULL;
	store_path(o->store, "serve.url", &path);
	unlink(path.buf);
	strbuf_release(&path);
}

/* The mount (fs_serve) with the store's scheduler beside it: 0, or -1 with err. */
static int serve_scheduled(struct cli *cli, struct fs_opts *o, struct strbuf *err)
{
	struct cli_scheduler sched;
	int ret;

	if (cli_scheduler_start(cli, o->catalog_location, &sched, err) < 0)
		return -1;
	ret = fs_serve(o, err);
	cli_scheduler_stop(&sched);
	return ret;
}

static void daemon_child(struct cli *cli, struct fs_opts *o, struct mount_service *ms, int wfd,
			 const char *log)
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
	if (service_up(ms, o, &err) < 0 || serve_scheduled(cli, o, &err) < 0) {
		if (write(wfd, err.buf, err.len) < 0)
			(void)0;
		fprintf(stderr, "databuild: %s\n", err.buf);
		code = 1;
	}
	service_down(ms, o);
	strbuf_release(&err);
	close(wfd);
	exit(code);
}

/* The MOUNTPOINT argument resolved (to free), or NULL (printed; exit 2). */
static char *mount_point(const char *mountpoint)
{
	char *real = realpath(mountpoint, NULL);

	if (!real && errno == ENOTCONN)
		cli_error(-1, "mountpoint '%s': %s (a daemon died: run 'databuild umount %s' "
			  "first)", mountpoint, strerror(errno), mountpoint);
	else if (!real)
		cli_error(-1, "mountpoint '%s': %s", mountpoint, strerror(errno));
	else if (fs_is_mounted(real)) {
		cli_error(-1, "'%s' is already a databuild mount (see 'databuild umount')",
			  mountpoint);
		free(real);
		real = NULL;
	}
	return real;
}

static int serve_foreground(struct cli *cli, struct fs_opts *o, struct mount_service *ms)
{
	struct strbuf err = STRBUF_INIT;
	int code = EXIT_OK;

	if (service_up(ms, o, &err) < 0 || serve_scheduled(cli, o, &err) < 0)
		code = cli_fail(EXIT_USAGE, &err);
	service_down(ms, o);
	strbuf_release(&err);
	return code;
}

/* The daemon's link, for the parent to print once the mount is up. */
static void print_link(const struct store *s)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	int fd;

	store_path(s, "serve.url", &path);
	fd = open(path.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && strbuf_read_fd(&text, fd, 4096) >= 0 && text.len)
		printf("databuild: serving %s", text.buf);
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&text);
}

/* Forks the daemon and waits until it has mounted: an exit code. */
static int serve_daemon(struct cli *cli, struct fs_opts *o, struct mount_service *ms,
			const char *log)
{
	int pipefd[2], code;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cli_error(EXIT_USAGE, "cannot create a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		code = cli_error(EXIT_USAGE, "cannot fork the daemon: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return code;
	}
	if (!pid) {
		close(pipefd[0]);
		daemon_child(cli, o, ms, pipefd[1], log);
	}
	close(pipefd[1]);
	code = wait_ready(pipefd[0], pid, o->mountpoint, log);
	close(pipefd[0]);
	if (code == EXIT_OK && ms->on)
		print_link(o->store);
	return code;
}

/* Opens what the mount serves and serves it at the resolved mountpoint: an exit code. */
static int mount_serve(struct cli *cli, struct fs_opts *o, struct mount_service *ms)
{
	struct strbuf log = STRBUF_INIT;
	char *location;
	int code;

	if (cli_load_graph(cli) < 0 || cli_open_store(cli) < 0 || cli_check_executor(cli) < 0)
		return EXIT_USAGE;
	location = absolute_location(cli->catalog_location);
	o->graph = &cli->graph;
	o->store = &cli->store;
	o->catalog_location = location;
	o->backend = &cli->backend;
	store_path(&cli->store, "daemon.log", &log);
	if (ms->on) {
		struct strbuf url = STRBUF_INIT;

		store_path(&cli->store, "serve.url", &url);
		unlink(url.buf);  /* a link left by an earlier daemon is not this one's */
		strbuf_release(&url);
	}
	code = o->foreground ? serve_foreground(cli, o, ms) : serve_daemon(cli, o, ms, log.buf);
	free(location);
	strbuf_release(&log);
	return code;
}

/* Mounts at the MOUNTPOINT argument with the options o: an exit code. */
static int mount_run(struct cli *cli, int nargs, char **args, struct fs_opts *o,
		     struct mount_service *ms)
{
	char *real;
	int code;

	if (nargs > 1)
		return cli_error(EXIT_USAGE, "mount: one MOUNTPOINT expected, got '%s' and '%s'",
				 args[0], args[1]);
	if (!(real = mount_point(args[0])))
		return EXIT_USAGE;
	o->mountpoint = real;
	code = mount_serve(cli, o, ms);
	free(real);
	return code;
}

int cmd_mount(struct cli *cli, int argc, char **argv)
{
	struct fs_opts o = FS_OPTS_INIT;
	struct mount_service ms = { .on = 0, .o = SERVICE_OPTS_INIT, .svc = NULL };
	struct mount_o mo = { .o = &o, .fuse = STRBUF_INIT };
	const struct cli_option options[] = {
		OPT_FLAG('f', "foreground", &o.foreground,
			 "stay in the foreground (default: run as a daemon that\n"
			 "logs to <store>/daemon.log)"),
		OPT_CALLBACK('o', NULL, &mo, "OPTIONS", opt_fuse,
			     "mount options: freshness=keys|presence, stale=wait|serve,\n"
			     "strict, sidecars=listed|hidden, passthrough=auto|off,\n"
			     "max_builds=N, cancel_unread[=SECONDS], no_cache, and FUSE's,\n"
			     "e.g. allow_other (which also turns on default_permissions)"),
		OPT_FRESHNESS(&o.freshness,
			      "keys (default): a live partition's build key is checked\n"
			      "on every open (by fingerprints; a change replans);\n"
			      "presence: a live partition is served as is"),
		OPT_JOBS(&o.jobs, "runs in flight per build (default: cores;\n"
			 "32 with --executor slurm)"),
		OPT_FLAG(0, "debug", &o.debug, "log every FUSE request (with -f: to stderr)"),
		OPT_FLAG(0, "serve", &ms.on, "also serve the HTTP API (as `databuild serve`) from\n"
			 "the daemon; its link is printed"),
		OPT_STRING(0, "listen", &ms.o.listen, "ADDR:PORT",
			   "with --serve: where to listen (default 127.0.0.1:8707)"),
		OPT_FLAG(0, "allow-remote", &ms.o.allow_remote,
			 "with --serve: allow an address that is not loopback"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0), code = EXIT_USAGE;

	o.fuse_options = mo.fuse.len ? mo.fuse.buf : NULL;
	if (n < 0)
		code = cli_parse_exit(n);
	else if (n == 0)
		cli_usage_print(stderr, &usage, options);
	else if (!ms.on && (ms.o.allow_remote || strcmp(ms.o.listen, "127.0.0.1:8707")))
		code = cli_error(EXIT_USAGE, "mount: --listen and --allow-remote go with --serve");
	else
		code = mount_run(cli, n, argv, &o, &ms);
	strbuf_release(&mo.fuse);
	return code;
}
