#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/service.h"

/*
 * `databuild serve`: the JSON API over HTTP (docs/api.md) until SIGINT
 * or SIGTERM, then a clean stop: running builds are cancelled, nothing
 * partial is published.
 */

static const struct cli_usage usage = {
	.cmd = "serve",
	.head = "usage: databuild serve [--listen ADDR:PORT] [--allow-remote] [-j N]\n"
		"                       [--freshness presence|keys]\n"
		"\n"
		"Serve the store's catalog and builds as a JSON API over HTTP until\n"
		"interrupted. Every /api/ request needs the store's token (STORE/serve.token,\n"
		"created on first use): 'Authorization: Bearer TOKEN', or the cookie that\n"
		"visiting the printed link sets.\n",
	.tail = "exit status: 0 stopped by SIGINT or SIGTERM, 1 the server failed, 2 usage or\n"
		"configuration error (also: a non-loopback address without --allow-remote)\n",
};

struct serve_args {
	struct service_opts o;
};

/* What serve_run changes about signals, restored when it returns. */
struct serve_signals {
	sigset_t wait;          /* SIGINT, SIGTERM: blocked, taken by sigwait */
	sigset_t old_mask;
	struct sigaction old_pipe;
};

/*
 * Blocks SIGINT and SIGTERM (the service's threads inherit the mask; the
 * executor resets it for jobs) and ignores SIGPIPE (a client that goes
 * away is an error on its connection, not the end of the server).
 */
static void signals_take(struct serve_signals *s)
{
	struct sigaction sa;

	sigemptyset(&s->wait);
	sigaddset(&s->wait, SIGINT);
	sigaddset(&s->wait, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s->wait, &s->old_mask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, &s->old_pipe);
}

static void signals_restore(const struct serve_signals *s)
{
	sigaction(SIGPIPE, &s->old_pipe, NULL);
	pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
}

/* Serves until SIGINT or SIGTERM: an exit code. */
static int serve_run(struct cli *cli, int nargs, char **args, struct serve_args *a)
{
	struct strbuf err = STRBUF_INIT;
	struct service *svc = NULL;
	struct cli_scheduler sched = { .s = NULL, .argv = STRVEC_INIT, .envp = STRVEC_INIT };
	struct serve_signals sigs;
	int sig = 0, rc, ret = EXIT_USAGE;

	if (nargs > 0)
		return cli_error(EXIT_USAGE, "serve: unexpected argument '%s' (see 'databuild "
				 "serve --help')", args[0]);
	if (cli_open_catalog(cli) < 0 || cli_load_graph(cli) < 0 || cli_check_executor(cli) < 0)
		return EXIT_USAGE;
	a->o.graph = &cli->graph;
	a->o.store = &cli->store;
	a->o.catalog_location = cli->catalog_location;
	a->o.backend = &cli->backend;
	signals_take(&sigs);
	rc = service_start(&svc, &a->o, &err);
	if (rc < 0) {
		ret = cli_fail(rc == SERVICE_CONFIG ? EXIT_USAGE : EXIT_FAILED, &err);
		goto out;
	}
	if (service_is_remote(svc))
		fprintf(stderr, "databuild: WARNING: serving on %s, reachable from other hosts: "
			"anyone with the token can read the catalog and start builds, and the "
			"token travels unencrypted over plain HTTP\n", a->o.listen);
	if (cli_scheduler_start(cli, cli->catalog_location, &sched, &err) < 0) {
		service_stop(svc);
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	printf("databuild: serving %s/?token=%s\n", service_origin(svc), service_token(svc));
	fflush(stdout);
	while (sigwait(&sigs.wait, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
		;
	fprintf(stderr, "databuild: serve: stopping (signal %d)\n", sig);
	cli_scheduler_stop(&sched);
	service_stop(svc);
	ret = EXIT_OK;
out:
	signals_restore(&sigs);
	strbuf_release(&err);
	return ret;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	struct serve_args a = { .o = SERVICE_OPTS_INIT };
	const struct cli_option options[] = {
		OPT_STRING(0, "listen", &a.o.listen, "ADDR:PORT",
			   "where to listen (default 127.0.0.1:8707; IPv6: [::1]:8707;\n"
			   "port 0: any free port)"),
		OPT_FLAG(0, "allow-remote", &a.o.allow_remote,
			 "allow a non-loopback ADDR (other hosts can then reach the API)"),
		OPT_JOBS(&a.o.jobs, "run at most N jobs at once per build (default: number of cores)"),
		OPT_FRESHNESS(&a.o.freshness,
			      "keys: live and built from the same inputs and job (default);\n"
			      "presence: live is enough"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : serve_run(cli, n, argv, &a);
}
