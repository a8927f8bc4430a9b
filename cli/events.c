#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define FOLLOW_POLL_MS 50
/* a catalog that notifies (catalog_watch) wakes --follow; this is a fallback */
#define FOLLOW_WATCHED_MS 1000

static volatile sig_atomic_t events_stop;

static void on_stop(int sig)
{
	(void)sig;
	events_stop = 1;
}

static void events_usage(FILE *f)
{
	fprintf(f,
		"usage: databuild events [--since SEQ] [--limit N] [--follow] [--json]\n"
		"\n"
		"Print the catalog's event log as JSON lines, in sequence order:\n"
		"{\"seq\", \"time_us\", \"time\", \"build_id\", \"type\", \"ref\", \"run_id\", \"payload\"}.\n"
		"\n"
		"  --since SEQ   only events after sequence number SEQ\n"
		"  --limit N     at most N events\n"
		"  --follow      keep printing new events as they happen (until interrupted)\n"
		"  --json        accepted for symmetry: the output is always JSON lines\n");
}

struct printer {
	struct strbuf line;
	int64_t last;
	size_t printed;
	int write_error;
};

static int print_event(const struct event *e, void *arg)
{
	struct printer *p = arg;

	strbuf_reset(&p->line);
	event_to_jsonl(e, &p->line);
	if (fwrite(p->line.buf, 1, p->line.len, stdout) != p->line.len) {
		p->write_error = errno ? errno : EIO;
		return 1;
	}
	p->last = e->seq;
	p->printed++;
	return events_stop;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	struct printer pr = { STRBUF_INIT, 0, 0, 0 };
	const char *since_text = NULL, *limit_text = NULL;
	struct sigaction sa, old_int, old_term, old_pipe;
	struct pollfd pfd[2];
	long since = 0, limit = 0;
	int follow = 0, ret = EXIT_USAGE, handlers = 0, woke;

	if (cli_wants_help(argc, argv)) {
		events_usage(stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int r;

		if ((r = cli_opt_value("events", argc, argv, &i, "--since", &since_text)) ||
		    (r = cli_opt_value("events", argc, argv, &i, "--limit", &limit_text))) {
			if (r < 0)
				goto out;
		} else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			follow = 1;
		} else if (!strcmp(argv[i], "--json")) {
			/* events are always JSON lines; accepted like every command's --json */
		} else if (argv[i][0] == '-') {
			cli_error(EXIT_USAGE, "events: unknown option '%s' (see 'databuild events "
				  "--help')", argv[i]);
			goto out;
		} else {
			cli_error(EXIT_USAGE, "events: unexpected argument '%s' (see 'databuild events "
				  "--help')", argv[i]);
			goto out;
		}
	}
	if ((since_text && cli_parse_long("--since", since_text, 0, LONG_MAX, &since) < 0) ||
	    (limit_text && cli_parse_long("--limit", limit_text, 0, LONG_MAX, &limit) < 0))
		goto out;
	if (cli_open_catalog(cli) < 0)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	handlers = 1;

	pr.last = since;
	for (;;) {
		size_t want = limit ? (size_t)limit - pr.printed : 0;

		if (catalog_read_events(&cli->catalog, pr.last, want, print_event, &pr, &err) < 0) {
			ret = cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		if (!pr.write_error && fflush(stdout))
			pr.write_error = errno ? errno : EIO;
		if (pr.write_error) {
			/* the reader went away (EPIPE): a normal end for a stream */
			ret = pr.write_error == EPIPE ? EXIT_OK : cli_error(EXIT_FAILED,
				"events: cannot write: %s", strerror(pr.write_error));
			goto out;
		}
		if (!follow || events_stop || (limit && pr.printed >= (size_t)limit))
			break;
		/*
		 * sleeps until the catalog notifies (or FOLLOW_POLL_MS without
		 * notifications), and notices a reader that went away (tail -f style)
		 */
		pfd[0].fd = STDOUT_FILENO;
		pfd[0].events = 0;
		pfd[1].fd = -1;
		pfd[1].events = POLLIN;
		strbuf_reset(&err);
		woke = catalog_watch(&cli->catalog, &pfd[1].fd, &err);
		if (woke > 0)
			continue;  /* something changed since the read */
		if (woke < 0)
			pfd[1].fd = -1;
		if (poll(pfd, 2, pfd[1].fd >= 0 ? FOLLOW_WATCHED_MS : FOLLOW_POLL_MS) > 0 &&
		    (pfd[0].revents & (POLLERR | POLLHUP)))
			break;
		if (events_stop)
			break;
	}
	ret = EXIT_OK;
out:
	if (handlers) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGPIPE, &old_pipe, NULL);
	}
	strbuf_release(&pr.line);
	strbuf_release(&err);
	return ret;
}
