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

static const struct cli_usage usage = {
	.cmd = "events",
	.head = "usage: databuild events [--since SEQ | --last N] [--limit N] [--follow] [--json]\n"
		"\n"
		"Print the catalog's event log as JSON lines, in sequence order:\n"
		"{\"seq\", \"time_us\", \"time\", \"build_id\", \"type\", \"ref\", \"run_id\", \"payload\"}.\n"
		"Without --since or --last, the whole log; with --follow, only what\n"
		"happens from now on.\n",
};

struct events_args {
	long since;   /* --since: only events after this sequence number (-1: not given) */
	long last;    /* --last: the newest N events first (-1: not given) */
	long limit;   /* --limit: at most this many (0: all) */
	int follow;   /* --follow: keep printing new ones until stopped */
	int json;     /* --json: accepted; the output is always JSON lines */
};

/* The handlers while events prints: SIGINT, SIGTERM stop it; SIGPIPE ignored. */
struct stop_signals {
	struct sigaction old_int, old_term, old_pipe;
};

static void stop_signals_install(struct stop_signals *s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &s->old_int);
	sigaction(SIGTERM, &sa, &s->old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &s->old_pipe);
}

static void stop_signals_restore(const struct stop_signals *s)
{
	sigaction(SIGINT, &s->old_int, NULL);
	sigaction(SIGTERM, &s->old_term, NULL);
	sigaction(SIGPIPE, &s->old_pipe, NULL);
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

/*
 * --follow between two reads: sleeps until the catalog notifies (or
 * FOLLOW_POLL_MS without notifications), and notices a reader that went
 * away (tail -f style). 1 to read again, 0 to stop.
 */
static int follow_wait(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	struct pollfd pfd[2] = {
		{ .fd = STDOUT_FILENO, .events = 0 },
		{ .fd = -1, .events = POLLIN },
	};
	int woke = catalog_watch(&cli->catalog, &pfd[1].fd, &err);

	strbuf_release(&err);
	if (woke > 0)
		return 1;  /* something changed since the read */
	if (woke < 0)
		pfd[1].fd = -1;
	if (poll(pfd, 2, pfd[1].fd >= 0 ? FOLLOW_WATCHED_MS : FOLLOW_POLL_MS) > 0 &&
	    (pfd[0].revents & (POLLERR | POLLHUP)))
		return 0;
	return !events_stop;
}

/* Prints the events after a->since, a page per read: an exit code. */
static int events_print(struct cli *cli, const struct events_args *a)
{
	struct strbuf err = STRBUF_INIT;
	struct printer pr = { .line = STRBUF_INIT, .last = a->since, .printed = 0,
			      .write_error = 0 };
	int ret = EXIT_OK;

	for (;;) {
		size_t want = a->limit ? (size_t)a->limit - pr.printed : 0;

		if (catalog_read_events(&cli->catalog, pr.last, want, print_event, &pr, &err) < 0) {
			ret = cli_fail(EXIT_USAGE, &err);
			break;
		}
		if (!pr.write_error && fflush(stdout))
			pr.write_error = errno ? errno : EIO;
		if (pr.write_error) {
			/* the reader went away (EPIPE): a normal end for a stream */
			ret = pr.write_error == EPIPE ? EXIT_OK : cli_error(EXIT_FAILED,
				"events: cannot write: %s", strerror(pr.write_error));
			break;
		}
		if (!a->follow || events_stop || (a->limit && pr.printed >= (size_t)a->limit) ||
		    !follow_wait(cli))
			break;
	}
	strbuf_release(&pr.line);
	strbuf_release(&err);
	return ret;
}

/* The events of the catalog, after the options a: an exit code. */
/*
 * Where printing starts: --since; --last N, the newest N sequence numbers
 * (fewer events where numbers were skipped); else the start of the log, or
 * its end with --follow. 0, or -1 (printed).
 */
static int start_seq(struct cli *cli, const struct events_args *a, long *from)
{
	struct strbuf err = STRBUF_INIT;
	int64_t newest = 0;

	*from = a->since >= 0 ? a->since : 0;
	if (a->since < 0 && (a->last >= 0 || a->follow)) {
		if (catalog_last_event_seq(&cli->catalog, &newest, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			strbuf_release(&err);
			return -1;
		}
		*from = a->last >= 0 ? (newest > a->last ? (long)(newest - a->last) : 0) :
			(long)newest;
	}
	strbuf_release(&err);
	return 0;
}

static int events_run(struct cli *cli, int nargs, char **args, const struct events_args *a)
{
	struct events_args from_args;
	struct stop_signals saved;
	long from;
	int ret;

	if (nargs > 0)
		return cli_error(EXIT_USAGE, "events: unexpected argument '%s' (see 'databuild "
				 "events --help')", args[0]);
	if (a->since >= 0 && a->last >= 0)
		return cli_error(EXIT_USAGE, "events: --since and --last exclude each other");
	if (cli_open_catalog(cli) < 0)
		return EXIT_USAGE;
	if (start_seq(cli, a, &from) < 0)
		return EXIT_USAGE;
	from_args = *a;
	from_args.since = from;
	stop_signals_install(&saved);
	ret = events_print(cli, &from_args);
	stop_signals_restore(&saved);
	return ret;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	struct events_args a = { .since = -1, .last = -1, .limit = 0, .follow = 0, .json = 0 };
	const struct cli_option options[] = {
		OPT_LONG(0, "since", &a.since, "SEQ", 0, LONG_MAX,
			 "only events after sequence number SEQ (--since 0: from the\n"
			 "start, also with --follow)"),
		OPT_LONG(0, "last", &a.last, "N", 0, LONG_MAX,
			 "start with the newest N events (then, with --follow, what\n"
			 "follows)"),
		OPT_LONG(0, "limit", &a.limit, "N", 0, LONG_MAX, "at most N events"),
		OPT_FLAG('f', "follow", &a.follow,
			 "keep printing new events as they happen (until interrupted);\n"
			 "alone, it starts at the end of the log"),
		OPT_FLAG(0, "json", &a.json,
			 "accepted for symmetry: the output is always JSON lines"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : events_run(cli, n, argv, &a);
}
