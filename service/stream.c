#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "service/internal.h"

/*
 * Responses that follow something as it grows, each produced by a
 * libmicrohttpd content reader in its connection's own thread: the
 * event log as Server-Sent Events, and a running job's log.
 *
 * Events: one reader per service (hub_main, on a catalog handle of its
 * own) formats each new event once as SSE text into a ring of the most
 * recent ones; every stream copies from the ring under hub->lock and
 * sleeps on hub->grew. A stream that starts, or has fallen, behind what
 * the ring holds reads that backlog from the catalog a page at a time
 * through a few shared handles (the pool), then joins the ring. Memory
 * per stream: its pending text (about PENDING_MAX, or one backlog page)
 * and MHD's buffer, whatever the number of events or streams.
 */

#define WAKE_MS 200
/* The event reader re-reads this often when the catalog cannot notify (SQLite). */
#define HUB_POLL_MS 50
#define EVENTS_PAGE 64
/* A comment line this often keeps proxies and the idle timeout away. */
#define HEARTBEAT_MS 15000
/* The ring holds at most this many events and (but for one) bytes of text. */
#define RING_EVENTS 4096
#define RING_BYTES (4 << 20)
/* A stream copies from the ring until this much text waits for MHD. */
#define PENDING_MAX (16 * 1024)
/* Catalog handles for backlogs, shared by every stream. */
#define POOL_MAX 4
/* MHD's buffer per stream. */
#define STREAM_BLOCK (8 * 1024)

struct ring_entry {
	int64_t seq;
	char *text;               /* "id: SEQ\ndata: JSON\n\n", owned */
	size_t len;
};

struct event_hub {
	struct service *svc;      /* borrowed: it owns the hub */
	pthread_t thread;         /* hub_main */
	int started;              /* thread runs (set by event_hub_start) */
	atomic_int stopping;      /* set by event_hub_stop */

	pthread_mutex_t lock;
	pthread_cond_t grew;      /* broadcast when entries are added, and at stop */
	/* guarded by lock */
	struct ring_entry *ring;  /* [RING_EVENTS]; position p is ring[p % RING_EVENTS] */
	uint64_t head;            /* the next position written */
	uint64_t tail;            /* the oldest position held (tail == head: empty) */
	int64_t floor;            /* every event after it is held, or not read yet */
	int64_t newest;           /* seq of position head - 1, or floor when empty */
	size_t bytes;             /* text held */

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_freed;  /* a handle came back or may be opened, or stop */
	/* guarded by pool_lock */
	struct catalog *idle[POOL_MAX];
	size_t nidle;
	size_t nopen;             /* idle ones and those lent out */
};

/* Appends e to out as one SSE message. */
static void event_format(const struct event *e, struct strbuf *out)
{
	size_t start;

	strbuf_addf(out, "id: %lld\ndata: ", (long long)e->seq);
	start = out->len;
	event_to_jsonl(e, out);
	while (out->len > start && out->buf[out->len - 1] == '\n')
		strbuf_setlen(out, out->len - 1);
	strbuf_addstr(out, "\n\n");
}

/* --- the ring, and the thread that fills it */

/* The events of one page read by hub_main, formatted before they go in. */
struct hub_page {
	struct ring_entry e[EVENTS_PAGE];
	size_t nr;
};

static int page_add(const struct event *e, void *arg)
{
	struct hub_page *pg = arg;
	struct strbuf sb = STRBUF_INIT;

	event_format(e, &sb);
	pg->e[pg->nr].seq = e->seq;
	pg->e[pg->nr].text = strbuf_detach(&sb, &pg->e[pg->nr].len);
	pg->nr++;
	return 0;
}

/* Drops the oldest entry. Called with lock held. */
static void ring_evict(struct event_hub *h)
{
	struct ring_entry *o = &h->ring[h->tail % RING_EVENTS];

	h->floor = o->seq;
	h->bytes -= o->len;
	free(o->text);
	o->text = NULL;
	h->tail++;
}

/* Moves pg's entries into the ring and wakes the streams. */
static void ring_add(struct event_hub *h, struct hub_page *pg)
{
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < pg->nr; i++) {
		while (h->tail < h->head && (h->head - h->tail >= RING_EVENTS ||
					     h->bytes + pg->e[i].len > RING_BYTES))
			ring_evict(h);
		h->ring[h->head % RING_EVENTS] = pg->e[i];
		h->bytes += pg->e[i].len;
		h->newest = pg->e[i].seq;
		h->head++;
	}
	pthread_cond_broadcast(&h->grew);
	pthread_mutex_unlock(&h->lock);
	pg->nr = 0;
}

/* Sleeps until c's catalog may have changed, or HUB_POLL_MS (c NULL: WAKE_MS). */
static void hub_wait(struct catalog *c)
{
	struct strbuf err = STRBUF_INIT;
	struct pollfd pfd = { .fd = -1, .events = POLLIN, .revents = 0 };
	int woke = c ? catalog_watch(c, &pfd.fd, &err) : -1;

	strbuf_release(&err);
	if (woke > 0)
		return;
	if (woke < 0)
		pfd.fd = -1;
	poll(&pfd, 1, c ? HUB_POLL_MS : WAKE_MS);
}

/*
 * The one reader of the catalog's events: a page at a time after the
 * newest held, into the ring. A failing handle is closed and another
 * opened WAKE_MS later; the streams wait meanwhile (and send heartbeats).
 */
static void *hub_main(void *arg)
{
	struct event_hub *h = arg;
	struct strbuf err = STRBUF_INIT;
	struct hub_page *pg = xcalloc(1, sizeof(*pg));
	struct catalog *c = NULL;
	int64_t after = h->newest;  /* only this thread changes newest */

	while (!h->stopping) {
		int rc;

		strbuf_reset(&err);
		if (!c && !(c = service_catalog_open(h->svc, &err))) {
			hub_wait(NULL);
			continue;
		}
		rc = catalog_read_events(c, after, EVENTS_PAGE, page_add, pg, &err);
		if (pg->nr)
			after = pg->e[pg->nr - 1].seq;
		if (pg->nr == EVENTS_PAGE && rc == 0) {
			ring_add(h, pg);
			continue;
		}
		if (pg->nr)
			ring_add(h, pg);
		if (rc < 0) {
			service_catalog_close(c);
			c = NULL;
		}
		hub_wait(c);
	}
	service_catalog_close(c);
	free(pg);
	strbuf_release(&err);
	return NULL;
}

int event_hub_start(struct service *svc, struct strbuf *err)
{
	struct event_hub *h = xcalloc(1, sizeof(*h));
	pthread_condattr_t ca;
	struct catalog *c;
	int64_t last = 0;
	int rc, ret = -1;

	h->svc = svc;
	h->ring = xcalloc(RING_EVENTS, sizeof(*h->ring));
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->grew, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&h->pool_freed, NULL);
	/* The ring starts with the last RING_EVENTS seqs: recent resumes need no backlog. */
	if (!(c = service_catalog_open(svc, err)))
		goto out;
	rc = catalog_last_event_seq(c, &last, err);
	service_catalog_close(c);
	if (rc < 0)
		goto out;
	h->floor = h->newest = last > RING_EVENTS ? last - RING_EVENTS : 0;
	if ((rc = pthread_create(&h->thread, NULL, hub_main, h))) {
		strbuf_addf(err, "event stream: cannot start its reader thread: %s", strerror(rc));
		goto out;
	}
	h->started = 1;
	svc->events = h;
	h = NULL;
	ret = 0;
out:
	event_hub_free(h);
	return ret;
}

void event_hub_stop(struct event_hub *h)
{
	if (!h)
		return;
	h->stopping = 1;
	pthread_mutex_lock(&h->lock);
	pthread_cond_broadcast(&h->grew);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&h->pool_lock);
	pthread_cond_broadcast(&h->pool_freed);
	pthread_mutex_unlock(&h->pool_lock);
	if (h->started)
		pthread_join(h->thread, NULL);
	h->started = 0;
}

void event_hub_free(struct event_hub *h)
{
	if (!h)
		return;
	event_hub_stop(h);
	for (uint64_t p = h->tail; p < h->head; p++)
		free(h->ring[p % RING_EVENTS].text);
	free(h->ring);
	while (h->nidle)
		service_catalog_close(h->idle[--h->nidle]);
	pthread_cond_destroy(&h->grew);
	pthread_cond_destroy(&h->pool_freed);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->pool_lock);
	free(h);
}

/* --- the pool of handles for backlogs */

/* A handle to read a backlog with (waits while POOL_MAX are lent), or NULL (err). */
static struct catalog *pool_get(struct event_hub *h, struct strbuf *err)
{
	struct catalog *c = NULL;
	int open = 0;

	pthread_mutex_lock(&h->pool_lock);
	while (!h->stopping && !h->nidle && h->nopen >= POOL_MAX)
		pthread_cond_wait(&h->pool_freed, &h->pool_lock);
	if (h->stopping) {
		strbuf_addstr(err, "event stream: the service is stopping");
	} else if (h->nidle) {
		c = h->idle[--h->nidle];
	} else {
		h->nopen++;
		open = 1;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (open && !(c = service_catalog_open(h->svc, err))) {
		pthread_mutex_lock(&h->pool_lock);
		h->nopen--;
		pthread_cond_signal(&h->pool_freed);
		pthread_mutex_unlock(&h->pool_lock);
	}
	return c;
}

/* Gives c back; a handle that failed (broken) is closed instead. */
static void pool_put(struct event_hub *h, struct catalog *c, int broken)
{
	pthread_mutex_lock(&h->pool_lock);
	if (broken)
		h->nopen--;
	else
		h->idle[h->nidle++] = c;
	pthread_cond_signal(&h->pool_freed);
	pthread_mutex_unlock(&h->pool_lock);
	if (broken)
		service_catalog_close(c);
}

/* --- one stream */

struct event_stream {
	struct event_hub *hub;
	int64_t last;             /* the seq of the last event queued */
	uint64_t pos;             /* with joined: the next ring position to copy */
	int joined;
	int64_t floor;            /* hub->floor when the stream found itself behind it */
	struct strbuf pending;    /* SSE text not yet handed to MHD */
	size_t off;
	long long sent_ms;        /* mono_ms of the last text queued */
};

static int backlog_add(const struct event *e, void *arg)
{
	struct event_stream *es = arg;

	event_format(e, &es->pending);
	es->last = e->seq;
	return 0;
}

/*
 * One page of the events after es->last from the catalog, into pending:
 * 0 (pending may stay empty: the catalog has none), or -1.
 */
static int backlog_read(struct event_stream *es)
{
	struct strbuf err = STRBUF_INIT;
	struct catalog *c = pool_get(es->hub, &err);
	int rc = -1;

	if (c) {
		rc = catalog_read_events(c, es->last, EVENTS_PAGE, backlog_add, es, &err);
		pool_put(es->hub, c, rc < 0);
	}
	strbuf_release(&err);
	return rc;
}

/* The first position after es->last, which is at least floor. Called with lock held. */
static uint64_t ring_find(const struct event_hub *h, int64_t last)
{
	uint64_t lo = h->tail, hi = h->head;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (h->ring[mid % RING_EVENTS].seq <= last)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Waits on h->grew for at most ms. Called with lock held. */
static void hub_timedwait(struct event_hub *h, long long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&h->grew, &h->lock, &ts);
}

/* What ring_fill found: text in pending, or why there is none. */
enum fill {
	FILL_TEXT,
	FILL_BACKLOG,  /* behind the ring: read the catalog */
	FILL_END,      /* the service stops */
};

/*
 * Copies what the ring holds after es->last into pending (about
 * PENDING_MAX at most), waiting while there is nothing yet; a heartbeat
 * when one is due.
 */
static enum fill ring_fill(struct event_stream *es)
{
	struct event_hub *h = es->hub;
	enum fill ret = FILL_TEXT;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		long long due = es->sent_ms + HEARTBEAT_MS, now;

		if (h->stopping) {
			ret = FILL_END;
			break;
		}
		if (!es->joined || es->pos < h->tail) {
			es->joined = es->last >= h->floor;
			if (!es->joined) {
				es->floor = h->floor;
				ret = FILL_BACKLOG;
				break;
			}
			es->pos = ring_find(h, es->last);
		}
		while (es->pos < h->head && es->pending.len < PENDING_MAX) {
			const struct ring_entry *e = &h->ring[es->pos++ % RING_EVENTS];

			if (e->seq <= es->last)  /* a resume from a seq the catalog had not reached */
				continue;
			strbuf_add(&es->pending, e->text, e->len);
			es->last = e->seq;
		}
		if (es->pending.len)
			break;
		if ((now = mono_ms()) >= due) {
			strbuf_addstr(&es->pending, ": keep-alive\n\n");
			break;
		}
		hub_timedwait(h, due - now);
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct event_stream *es = cls;

	for (;;) {
		if (es->off < es->pending.len) {
			size_t n = es->pending.len - es->off;

			if (n > max)
				n = max;
			memcpy(buf, es->pending.buf + es->off, n);
			es->off += n;
			return (ssize_t)n;
		}
		strbuf_reset(&es->pending);
		es->off = 0;
		switch (ring_fill(es)) {
		case FILL_TEXT:
			break;
		case FILL_END:
			return MHD_CONTENT_READER_END_OF_STREAM;
		case FILL_BACKLOG:
			if (backlog_read(es) < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			if (!es->pending.len)  /* the catalog lost what the ring dropped: skip it */
				es->last = es->floor;
			break;
		}
		es->sent_ms = mono_ms();
	}
}

static void events_free(void *cls)
{
	struct event_stream *es = cls;

	strbuf_release(&es->pending);
	free(es);
}

struct MHD_Response *stream_events(struct service *svc, int64_t after, struct strbuf *err)
{
	struct event_stream *es = xcalloc(1, sizeof(*es));
	struct MHD_Response *r;

	es->hub = svc->events;
	es->last = after;
	strbuf_init(&es->pending, 0);
	strbuf_addstr(&es->pending, "retry: 2000\n\n");
	es->sent_ms = mono_ms();
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, events_read, es,
					      events_free);
	if (!r) {
		strbuf_addstr(err, "event stream: cannot create the response");
		events_free(es);
		return NULL;
	}
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
