#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "service/internal.h"

/*
 * Responses that follow something as it grows, each produced by a
 * libmicrohttpd content reader in its connection's own thread: the
 * event log as Server-Sent Events, and a running job's log. Memory per
 * client is bounded (a page of events, or MHD's buffer); a reader wakes
 * at least every WAKE_MS to notice the service stopping.
 */

#define WAKE_MS 200
#define EVENTS_PAGE 64
/* A comment line this often keeps proxies and the idle timeout away. */
#define HEARTBEAT_MS 15000

struct event_stream {
	struct service *svc;
	struct catalog *c;        /* the stream's own handle */
	int64_t last;             /* the seq of the last event queued */
	struct strbuf pending;    /* SSE text not yet handed to MHD */
	size_t off;
	long long sent_ms;        /* mono_ms of the last text queued */
};

static int event_sse(const struct event *e, void *arg)
{
	struct event_stream *es = arg;
	size_t start;

	strbuf_addf(&es->pending, "id: %lld\ndata: ", (long long)e->seq);
	start = es->pending.len;
	event_to_jsonl(e, &es->pending);
	while (es->pending.len > start && es->pending.buf[es->pending.len - 1] == '\n')
		strbuf_setlen(&es->pending, es->pending.len - 1);
	strbuf_addstr(&es->pending, "\n\n");
	es->last = e->seq;
	return 0;
}

/* Sleeps until the catalog may have changed, or WAKE_MS. */
static void event_wait(struct event_stream *es)
{
	struct strbuf err = STRBUF_INIT;
	struct pollfd pfd = { .fd = -1, .events = POLLIN, .revents = 0 };
	int woke = catalog_watch(es->c, &pfd.fd, &err);

	strbuf_release(&err);
	if (woke > 0)
		return;
	if (woke < 0)
		pfd.fd = -1;
	poll(&pfd, 1, WAKE_MS);
}

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct event_stream *es = cls;
	struct strbuf err = STRBUF_INIT;
	ssize_t ret;

	for (;;) {
		if (es->off < es->pending.len) {
			size_t n = es->pending.len - es->off;

			if (n > max)
				n = max;
			memcpy(buf, es->pending.buf + es->off, n);
			es->off += n;
			ret = (ssize_t)n;
			break;
		}
		strbuf_reset(&es->pending);
		es->off = 0;
		if (es->svc->stopping) {
			ret = MHD_CONTENT_READER_END_OF_STREAM;
			break;
		}
		if (catalog_read_events(es->c, es->last, EVENTS_PAGE, event_sse, es, &err) < 0) {
			ret = MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		if (es->pending.len) {
			es->sent_ms = mono_ms();
			continue;
		}
		if (mono_ms() - es->sent_ms >= HEARTBEAT_MS) {
			strbuf_addstr(&es->pending, ": keep-alive\n\n");
			es->sent_ms = mono_ms();
			continue;
		}
		event_wait(es);
	}
	strbuf_release(&err);
	return ret;
}

static void events_free(void *cls)
{
	struct event_stream *es = cls;

	service_catalog_close(es->c);
	strbuf_release(&es->pending);
	free(es);
}

struct MHD_Response *stream_events(struct service *svc, int64_t after, struct strbuf *err)
{
	struct event_stream *es = xcalloc(1, sizeof(*es));
	struct MHD_Response *r;

	es->svc = svc;
	es->last = after;
	strbuf_init(&es->pending, 0);
	es->c = service_catalog_open(svc, err);
	if (!es->c) {
		strbuf_release(&es->pending);
		free(es);
		return NULL;
	}
	strbuf_addstr(&es->pending, "retry: 2000\n\n");
	es->sent_ms = mono_ms();
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, events_read, es,
					      events_free);
	reply_headers(r, "text/event-stream");
	return r;
}

struct log_stream {
	struct service *svc;
	char *run_id;
	int fd;
	int64_t offset;
	int ended;                /* the run is over: what is left is the end of the log */
};

/* 1 if run_id has ended (or cannot be read any more), else 0. */
static int run_ended(struct service *svc, const char *run_id)
{
	struct strbuf err = STRBUF_INIT;
	struct run_record r;
	struct catalog *c = service_catalog_open(svc, &err);
	int rc = -1, ended = 1;

	run_record_init(&r);
	if (c)
		rc = catalog_get_run(c, run_id, &r, &err);
	if (rc > 0)
		ended = r.status != RUN_RUNNING;
	service_catalog_close(c);
	run_record_release(&r);
	strbuf_release(&err);
	return ended;
}

static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *ls = cls;

	for (;;) {
		ssize_t n = pread(ls->fd, buf, max, (off_t)ls->offset);

		if (n > 0) {
			ls->offset += n;
			return n;
		}
		if (n < 0 && errno != EINTR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n < 0)
			continue;
		if (ls->ended || ls->svc->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (run_ended(ls->svc, ls->run_id)) {
			ls->ended = 1;  /* read once more: the last lines came before the end */
			continue;
		}
		poll(NULL, 0, WAKE_MS);
	}
}

static void log_free(void *cls)
{
	struct log_stream *ls = cls;

	close(ls->fd);
	free(ls->run_id);
	free(ls);
}

struct MHD_Response *stream_log(struct service *svc, const char *run_id, const char *path,
				int64_t offset, struct strbuf *err)
{
	struct log_stream *ls;
	struct MHD_Response *r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		strbuf_addf(err, "log of run '%s': cannot open it: %s", run_id, strerror(errno));
		return NULL;
	}
	ls = xcalloc(1, sizeof(*ls));
	ls->svc = svc;
	ls->run_id = xstrdup(run_id);
	ls->fd = fd;
	ls->offset = offset;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, log_read, ls,
					      log_free);
	reply_headers(r, "text/plain; charset=utf-8");
	return r;
}
