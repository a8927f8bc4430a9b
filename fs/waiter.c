#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/hash.h"
#include "model/graph.h"
#include "model/ref.h"
#include "executor/executor.h"
#include "fs/internal.h"

/*
 * At most max_builds batches (FS_MAX_BUILDS by default) build at once; more
 * groups wait in the queue. Each holds a few catalog connections (its own,
 * the executor's, the callbacks'): with a PostgreSQL catalog the mount must
 * stay well inside the server's connection limit (100 by default) beside
 * other clients.
 */
static size_t max_builds(const struct fs *fs)
{
	int n = fs->opts->max_builds;

	return n <= 0 ? FS_MAX_BUILDS : n > FS_MAX_BUILDS_LIMIT ? FS_MAX_BUILDS_LIMIT : (size_t)n;
}
/* Seconds an idle builder thread waits for more work before it exits. */
#define BUILDER_LINGER_S 10
/* Seconds a cancelled build gets to end before its processes are killed. */
#define STOP_GRACE_S 3

/* One executor_build call: the partitions a builder took from the queue. */
struct batch {
	struct fs *fs;
	struct builder *self;    /* the builder thread running it */
	int unread;              /* cancelled by the cancel_unread watchdog (wait_lock) */
	struct fs_graph *graph;  /* the graph it builds under (a reference, builder_main) */
	unsigned long id;
	struct node **nodes;
	size_t nr, alloc;
	/*
	 * The current executor_build call: its size, whether it got past
	 * planning (on_node is first called once the plan runs), and the
	 * failures heard before that, answered only if planning did not fail.
	 */
	size_t build_nr;
	int planned;
	struct deferred { struct node *n; char *error; } *deferred;
	size_t deferred_nr, deferred_alloc;
	/* published run -> struct witness: the outputs of one run share one */
	struct strmap witnesses;
};

static void on_interrupt(fuse_req_t req, void *data)
{
	struct fs *fs = fuse_req_userdata(req);
	struct node *n = data;
	struct waiter *w = NULL, **pp;

	pthread_mutex_lock(&fs->wait_lock);
	for (pp = &n->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->req == req) {
			w = *pp;
			*pp = w->next;
			n->waiters_nr--;
			break;
		}
	}
	if (w && !n->waiters_nr && n->state != BUILD_NONE) {
		/* nobody waits any more: the cancel_unread watchdog may stop it */
		n->unread_us = now_us();
		pthread_cond_broadcast(&fs->wait_cond);
	}
	pthread_mutex_unlock(&fs->wait_lock);
	if (w) {
		fuse_reply_err(req, EINTR);
		free(w);
	}
}

static void builder_spawn(struct fs *fs);
static void queue_locked(struct fs *fs, struct node *n);
static void wake_builder(struct fs *fs);

void waiter_add(struct fs *fs, struct node *n, fuse_ino_t ino, fuse_req_t req,
		struct fuse_file_info *fi)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	int saverr;

	w->req = req;
	w->ino = ino;
	w->fi = *fi;
	fuse_req_interrupt_func(req, on_interrupt, n);
	pthread_mutex_lock(&fs->wait_lock);
	if (fs->stopping) {
		saverr = EIO;
		goto out_err;
	}
	if (fuse_req_interrupted(req)) {
		saverr = EINTR;
		goto out_err;
	}
	w->next = n->waiters;
	n->waiters = w;
	n->waiters_nr++;
	n->unread_us = 0;
	queue_locked(fs, n);
	pthread_mutex_unlock(&fs->wait_lock);
	return;

out_err:
	pthread_mutex_unlock(&fs->wait_lock);
	free(w);
	fuse_reply_err(req, saverr);
}

void waiter_queue(struct fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->wait_lock);
	if (!fs->stopping) {
		n->wanted = 1;
		queue_locked(fs, n);
	}
	pthread_mutex_unlock(&fs->wait_lock);
}

/* Gets a builder to the queue: an idle one if any, else a new thread; wait_lock held. */
static void wake_builder(struct fs *fs)
{
	if (fs->builders_idle)
		pthread_cond_broadcast(&fs->wait_cond);
	else
		builder_spawn(fs);
}

/* Queues n's build unless it is queued or running already; wait_lock held. */
static void queue_locked(struct fs *fs, struct node *n)
{
	if (n->state == BUILD_NONE) {
		n->state = BUILD_QUEUED;
		n->queued_us = now_us();
		ALLOC_GROW(fs->queue, fs->queue_nr + 1, fs->queue_alloc);
		fs->queue[fs->queue_nr++] = n;
		wake_builder(fs);
	}
}

/* Detaches n's waiters and ends its build; wait_lock held. */
static struct waiter *take_waiters(struct node *n)
{
	struct waiter *w = n->waiters;

	n->waiters = NULL;
	n->waiters_nr = 0;
	n->state = BUILD_NONE;
	n->queued_us = 0;
	n->unread_us = 0;
	n->wanted = 0;
	free(n->run_job);
	free(n->run_id);
	n->run_job = n->run_id = NULL;
	n->run_state = NULL;
	return w;
}

/*
 * Waiters taken with take_waiters are answered outside wait_lock; the
 * taker counts itself in fs->replying meanwhile, and this ends that. The
 * mount is not unmounted while anyone replies (builders_cancel): a reply
 * written after the unmount closed /dev/fuse would reach no reader, who
 * would get ECONNABORTED instead of its answer.
 */
static void done_replying(struct fs *fs)
{
	pthread_mutex_lock(&fs->wait_lock);
	fs->replying--;
	pthread_cond_broadcast(&fs->wait_cond);
	pthread_mutex_unlock(&fs->wait_lock);
}

static void inval_sidecars(struct fs *fs, struct node *n)
{
	struct strbuf name = STRBUF_INIT, dir = STRBUF_INIT;
	struct node *parent;

	strbuf_add(&dir, n->path, ref_dataset_len(n->path));
	parent = node_by_path(fs, dir.buf);
	if (parent) {
		strbuf_addf(&name, "%s%s", n->name, SIDECAR_ERROR);
		fuse_lowlevel_notify_inval_entry(fs->se, parent->ino, name.buf, name.len);
		strbuf_reset(&name);
		strbuf_addf(&name, "%s%s", n->name, SIDECAR_MANIFEST);
		fuse_lowlevel_notify_inval_entry(fs->se, parent->ino, name.buf, name.len);
	}
	strbuf_release(&name);
	strbuf_release(&dir);
}

/*
 * The builder thread's catalog, the one its executor_build uses: the
 * callbacks run on that thread between the executor's catalog calls, never
 * inside one, so they share it instead of opening a second catalog per
 * builder (docs/design/executor.md, "Latency").
 */
static struct catalog *batch_catalog(struct batch *b)
{
	struct strbuf err = STRBUF_INIT;
	struct catalog *c = fs_catalog(b->fs, &err);

	if (!c)
		fs_log(b->fs, "%s", err.buf);
	strbuf_release(&err);
	return c;
}

/*
 * The freshness witness of n, just found live as p (a reference for the
 * caller), or NULL (not live, or something moved: the next open plans).
 * Outputs of one run share theirs.
 */
static struct witness *batch_witness(struct batch *b, struct catalog *c, struct node *n,
				     const struct partition *p)
{
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
	struct witness *w = NULL;

	if (p->status != PART_LIVE || !p->published_run)
		goto out;
	if ((w = strmap_get(&b->witnesses, p->published_run))) {
		witness_get(w);
		goto out;
	}
	if (witness_take(b->graph->graph, c, n->path, &w, &why, &err) < 0)
		fs_log(b->fs, "'%s': %s", n->path, err.buf);
	else if (!w && b->fs->opts->debug)
		fs_log(b->fs, "'%s' is checked again at its next open: %s", n->path, why.buf);
	if (w) {
		witness_get(w);
		strmap_put(&b->witnesses, p->published_run, w);
	}
out:
	strbuf_release(&err);
	strbuf_release(&why);
	return w;
}

static void batch_witnesses_release(struct batch *b)
{
	void *w;

	for (size_t i = 0; strmap_next(&b->witnesses, &i, NULL, &w);)
		witness_put(w);
	strmap_clear(&b->witnesses);
}

/*
 * Makes the kernel's size of n at least the size of the file fd holds, by
 * storing its last byte in n's page cache (which extends i_size like a
 * write). An open answered after this cannot read short: a too-small
 * i_size ends a read without asking the daemon, while reads past the real
 * end (a larger i_size, such as a previous version's) reach the daemon,
 * whose short reply shrinks i_size. A stored page is marked up to date
 * only when it ends the file, so it never serves bytes beyond the data.
 */
static void store_tail(struct fs *fs, struct node *n, int fd)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(1);
	struct stat st;
	char last;
	int rc;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 || pread(fd, &last, 1, st.st_size - 1) != 1)
		return;
	buf.buf[0].mem = &last;
	rc = fuse_lowlevel_notify_store(fs->se, n->ino, st.st_size - 1, &buf, 0);
	if (rc < 0 && rc != -ENOENT)
		fs_log(fs, "'%s': cannot give the kernel its size: %s", n->path, strerror(-rc));
}

/*
 * handle_open_data for a builder thread, never a FUSE handler: a file that
 * only gained or lost a link since its check (EAGAIN: another partition
 * published the same bytes, or gc removed an old name, after the plan
 * looked) is rehashed here and served when its bytes are p's, its identity
 * recorded again (c may be NULL). NULL with errno otherwise.
 */
static struct handle *open_served(struct fs *fs, struct catalog *c, struct partition *p,
				  struct strbuf *why)
{
	struct strbuf err = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE], was[STORE_IDENT_MAX], now[STORE_IDENT_MAX];
	struct handle *h = handle_open_data(fs, p, why);
	struct stat st;
	long long size = -1;
	int fd = -1;

	if (h || errno != EAGAIN)
		goto out;
	fd = store_open_data(fs->opts->store, p->ref, O_RDONLY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto eio;
	store_ident_format(&st, was);
	if (sha256_fd(fd, p->ref, hex, &size, &err) < 0 || fstat(fd, &st) < 0)
		goto eio;
	store_ident_format(&st, now);
	if (strcmp(was, now) || size != p->size || strcmp(hex, p->sha256))
		goto eio;
	if (c && p->published_run &&
	    catalog_set_ident(c, p->ref, p->published_run, now, &err) < 0)
		fs_log(fs, "'%s': %s", p->ref, err.buf);
	free(p->ident);
	p->ident = xstrdup(now);  /* the next waiter serves without a rehash */
	h = handle_new(HANDLE_DATA);
	h->fd = fd;
	fd = -1;
	/* never blocks: gc only tries LOCK_EX | LOCK_NB (handle_open_data) */
	if (flock(h->fd, LOCK_SH | LOCK_NB) < 0)
		fs_log(fs, "'%s': cannot hold a shared lock on its data: %s", p->ref,
		       strerror(errno));
	goto out;
eio:
	fs_log(fs, "'%s': its data changed while it was being checked%s%s", p->ref,
	       err.len ? ": " : "", err.buf);
	errno = EIO;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&err);
	return h;
}

static void finish_ok(struct batch *b, struct node *n)
{
	struct fs *fs = b->fs;
	struct catalog *c = batch_catalog(b);
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	struct waiter *w;
	struct witness *wit = NULL, *old_wit, *old_fail;
	int inval = 1, sized = 0, replying;

	partition_init(&p);
	if (c && catalog_get_partition(c, n->path, &p, &err) < 0)
		fs_log(fs, "'%s': %s", n->path, err.buf);
	if (c && fs->opts->freshness == FRESH_KEYS)
		wit = batch_witness(b, c, n, &p);
	pthread_mutex_lock(&fs->wait_lock);
	/*
	 * Once per run: a second invalidation would make the kernel drop the
	 * fresh attributes that a reader answered after the first one is
	 * fetching, and that reader would see the placeholder's size.
	 */
	if (p.published_run && n->inval_run && !strcmp(n->inval_run, p.published_run))
		inval = 0;
	free(n->inval_run);
	n->inval_run = p.published_run ? xstrdup(p.published_run) : NULL;
	free(n->error);
	n->error = NULL;
	free(n->damage);
	n->damage = NULL;
	n->error_gen++;
	old_wit = n->witness;
	n->witness = wit;
	old_fail = n->fail_witness;
	n->fail_witness = NULL;
	free(n->served_run);
	n->served_run = p.published_run ? xstrdup(p.published_run) : NULL;
	pthread_mutex_unlock(&fs->wait_lock);
	witness_put(old_wit);
	witness_put(old_fail);

	/*
	 * The kernel must drop the placeholder's attributes before any reply,
	 * and before the build ends: until then an open waits (serve_directly)
	 * instead of reading with a size the invalidation may leave stale.
	 */
	if (inval) {
		fuse_lowlevel_notify_inval_inode(fs->se, n->ino, 0, 0);
		inval_sidecars(fs, n);
	}
	pthread_mutex_lock(&fs->wait_lock);
	w = take_waiters(n);
	replying = w != NULL;
	fs->replying += replying;
	pthread_mutex_unlock(&fs->wait_lock);
	while (w) {
		struct waiter *next = w->next;
		struct handle *h = open_served(fs, c, &p, &err);

		strbuf_reset(&err);
		if (!h) {
			fuse_reply_err(w->req, EIO);
		} else {
			/*
			 * Served like a live partition (page cache, shared mmap),
			 * but without what the cache held of the placeholder; the
			 * kernel knows the real size before the first reply.
			 */
			if (!sized++)
				store_tail(fs, n, h->fd);
			w->fi.keep_cache = 0;
			reply_open_data(w->req, fs, n, w->ino, &w->fi, h);
		}
		free(w);
		w = next;
	}
	if (replying)
		done_replying(fs);
	partition_release(&p);
	strbuf_release(&err);
}

/*
 * The last good version of n for readers whose rebuild failed: its row
 * (1) when it has published bytes and the mount is not strict, else 0.
 */
static int last_good(struct batch *b, struct node *n, struct partition *p)
{
	struct catalog *c;
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (b->fs->opts->strict || !(c = batch_catalog(b)))
		goto out;
	if (catalog_get_partition(c, n->path, p, &err) < 0) {
		fs_log(b->fs, "'%s': %s", n->path, err.buf);
		goto out;
	}
	ret = p->published_run != NULL && p->status != PART_DAMAGED;
out:
	strbuf_release(&err);
	return ret;
}

static void finish_failed(struct batch *b, struct node *n, const char *error)
{
	struct fs *fs = b->fs;
	struct strbuf err = STRBUF_INIT;
	struct witness *fw = NULL, *old_wit, *old_fail;
	struct partition p;
	struct waiter *w;
	int stopping, good = 0, replying;

	partition_init(&p);
	if (b->graph)
		fw = witness_take_job(b->graph->graph, n->path);
	pthread_mutex_lock(&fs->wait_lock);
	w = take_waiters(n);
	replying = w != NULL;
	fs->replying += replying;
	stopping = fs->stopping;
	old_wit = n->witness;
	n->witness = NULL;
	old_fail = n->fail_witness;
	n->fail_witness = fw;
	if (!stopping) {
		free(n->error);
		n->error = n->damage ?
			xstrfmt("its data was damaged (%s), and rebuilding it failed: %s", n->damage,
				error && *error ? error : "the build failed") :
			xstrdup(error && *error ? error : "the build failed");
		n->error_gen++;
	}
	free(n->inval_run);
	n->inval_run = NULL;
	pthread_mutex_unlock(&fs->wait_lock);
	witness_put(old_wit);
	witness_put(old_fail);
	if (!stopping)
		fs_log(fs, "'%s' failed: %s", n->path, error ? error : "");
	fuse_lowlevel_notify_inval_inode(fs->se, n->ino, -1, 0);
	inval_sidecars(fs, n);
	if (w && !stopping)
		good = last_good(b, n, &p);
	while (w) {
		struct waiter *next = w->next;
		struct handle *h = good ? open_served(fs, batch_catalog(b), &p, &err) : NULL;

		/* A failed rebuild keeps serving the last good bytes (not -o strict). */
		strbuf_reset(&err);
		if (h)
			reply_open_data(w->req, fs, n, w->ino, &w->fi, h);
		else
			fuse_reply_err(w->req, EIO);
		free(w);
		w = next;
	}
	if (replying)
		done_replying(fs);
	partition_release(&p);
	strbuf_release(&err);
}

static int still_running(struct batch *b, struct node *n);

static void on_partition(const char *ref, int ok, const char *error, void *arg)
{
	struct batch *b = arg;
	struct node *n = node_by_path(b->fs, ref);

	if (!n || n->kind != INODE_PART)
		return;
	if (ok) {
		finish_ok(b, n);
	} else if (b->build_nr > 1 && !b->planned) {
		/* Maybe a planning failure of the whole batch: decided at its end. */
		ALLOC_GROW(b->deferred, b->deferred_nr + 1, b->deferred_alloc);
		b->deferred[b->deferred_nr].n = n;
		b->deferred[b->deferred_nr].error = xstrdup(error ? error : "");
		b->deferred_nr++;
	} else {
		finish_failed(b, n, error);
	}
}

static void on_node(const struct node_report *r, void *arg)
{
	struct batch *b = arg;

	b->planned = 1;
	control_note_run(b->fs, b->id, r);
}

/* Answers (or, after a failed plan of several refs, drops) the deferred failures. */
static void flush_deferred(struct batch *b, int answer)
{
	for (size_t i = 0; i < b->deferred_nr; i++) {
		struct deferred *d = &b->deferred[i];

		if (answer && still_running(b, d->n))
			finish_failed(b, d->n, d->error);
		free(d->error);
	}
	b->deferred_nr = 0;
}

static int still_running(struct batch *b, struct node *n)
{
	int ret;

	pthread_mutex_lock(&b->fs->wait_lock);
	ret = n->state == BUILD_RUNNING && n->batch == b->id;
	pthread_mutex_unlock(&b->fs->wait_lock);
	return ret;
}

/* Empties the non-blocking pipe end fd. */
static void drain(int fd)
{
	char buf[64];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

static int build_refs(struct batch *b, struct catalog *c, const struct strvec *refs,
		      struct strbuf *why)
{
	struct fs *fs = b->fs;
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct build_summary sum;
	struct strbuf err = STRBUF_INIT;
	int ret, unread;

	o.jobs = fs->opts->jobs;
	o.backend = fs->opts->backend;
	o.keep_going = 1;
	o.freshness = fs->opts->freshness;
	o.no_cache = fs->opts->no_cache;
	o.requester = "fs";
	o.record_if_work = 1;  /* a check that finds the partition fresh leaves no record */
	o.cancel_fd = b->self->cancel[0];
	o.on_partition = on_partition;
	o.on_node = on_node;
	o.arg = b;
	b->build_nr = refs->nr;
	b->planned = 0;
	build_summary_init(&sum);
	ret = executor_build(b->graph->graph, c, fs->opts->store, refs, &o, &sum, &err);
	flush_deferred(b, !(ret == 2 || ret < 0));
	strbuf_reset(why);
	pthread_mutex_lock(&fs->wait_lock);
	unread = b->unread;
	b->unread = 0;
	if (!fs->stopping)
		drain(b->self->cancel[0]);  /* a cancellation is for one build */
	pthread_mutex_unlock(&fs->wait_lock);
	if (ret == 130 && unread)
		strbuf_addstr(why, "the build was cancelled: nobody waited for it any more "
			      "(-o cancel_unread)");
	else if (ret == 130)
		strbuf_addstr(why, "the build was cancelled");
	else if (err.len)
		strbuf_addbuf(why, &err);
	else if (sum.errors.len)
		strbuf_addbuf(why, &sum.errors);
	strbuf_rtrim(why);
	build_summary_release(&sum);
	strbuf_release(&err);
	return ret;
}

/* Resolves what the callbacks left open, from the catalog. */
static void settle(struct batch *b, struct node *n, const char *why)
{
	struct catalog *c = batch_catalog(b);
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	int live = 0;

	partition_init(&p);
	if (c && catalog_get_partition(c, n->path, &p, &err) > 0)
		live = p.status == PART_LIVE;
	if (live)
		finish_ok(b, n);
	else
		finish_failed(b, n, *why ? why : err.len ? err.buf :
			      "the build ended without producing the partition");
	partition_release(&p);
	strbuf_release(&err);
}

static void run_batch(struct batch *b, struct catalog *c)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf why = STRBUF_INIT;
	int ret;

	for (size_t i = 0; i < b->nr; i++)
		strvec_push(&refs, b->nodes[i]->path);
	ret = build_refs(b, c, &refs, &why);
	if ((ret == 2 || ret < 0) && b->nr > 1) {
		/* One bad ref must not fail the others: plan them one by one. */
		for (size_t i = 0; i < b->nr; i++) {
			struct strvec one = STRVEC_INIT;

			if (!still_running(b, b->nodes[i]))
				continue;
			strvec_push(&one, b->nodes[i]->path);
			build_refs(b, c, &one, &why);
			if (still_running(b, b->nodes[i]))
				settle(b, b->nodes[i], why.buf);
			strvec_clear(&one);
		}
	}
	for (size_t i = 0; i < b->nr; i++)
		if (still_running(b, b->nodes[i]))
			settle(b, b->nodes[i], why.buf);
	strvec_clear(&refs);
	strbuf_release(&why);
}

/*
 * Moves the next group of queued partitions into b: readers drive builds,
 * so the queued partition with the most waiting readers goes first (the
 * earliest queued among equals), with every other queued one of the same
 * job (a ref no job pattern claims goes alone). wait_lock held. Returns
 * the group's size (0: queue empty).
 */
static size_t take_group(struct fs *fs, struct batch *b)
{
	const struct graph *g = b->graph->graph;
	const struct job *job = NULL;
	struct strbuf err = STRBUF_INIT;
	struct node *first = NULL;
	size_t keep = 0, i;

	b->nr = 0;
	for (i = 0; i < fs->queue_nr; i++) {
		struct node *n = fs->queue[i];

		if (n->state == BUILD_QUEUED && (!first || n->waiters_nr > first->waiters_nr))
			first = n;
	}
	if (first) {
		b->id = ++fs->next_batch;
		job = graph_lookup(g, first->path, &err);
	}
	for (i = 0; first && i < fs->queue_nr; i++) {
		struct node *n = fs->queue[i];

		if (n->state != BUILD_QUEUED)
			continue;
		if (n != first && (!job || graph_lookup(g, n->path, &err) != job)) {
			fs->queue[keep++] = n;
			continue;
		}
		n->state = BUILD_RUNNING;
		n->batch = b->id;
		ALLOC_GROW(b->nodes, b->nr + 1, b->alloc);
		b->nodes[b->nr++] = n;
	}
	/* first leads the group: the executor starts with what readers want most */
	for (i = 1; i < b->nr; i++) {
		if (b->nodes[i] == first) {
			b->nodes[i] = b->nodes[0];
			b->nodes[0] = first;
		}
	}
	fs->queue_nr = keep;
	strbuf_release(&err);
	return b->nr;
}

/*
 * An idle builder waits up to BUILDER_LINGER_S for more work, keeping its
 * thread and its catalog handle (fs_catalog), so that a read that needs a
 * build right after another does not pay for either. wait_lock held;
 * *until: 0, or when this idle spell ends. 1 if the caller should look
 * for work again, 0 if the builder should exit.
 */
static int linger(struct fs *fs, int64_t *until)
{
	int64_t now = now_us();
	struct timespec ts;

	if (!*until)
		*until = now + BUILDER_LINGER_S * 1000000LL;
	if (now >= *until)
		return 0;
	ts.tv_sec = (time_t)(*until / 1000000);
	ts.tv_nsec = (long)(*until % 1000000) * 1000;
	fs->builders_idle++;
	pthread_cond_timedwait(&fs->wait_cond, &fs->wait_lock, &ts);
	fs->builders_idle--;
	return !fs->stopping;
}

/* Runs one group after another until the queue stays empty or the mount stops. */
static void *builder_main(void *arg)
{
	struct builder *self = arg;
	struct fs *fs = self->fs;
	struct batch b;
	struct strbuf err = STRBUF_INIT;
	struct catalog *c;
	int64_t idle_until = 0;

	memset(&b, 0, sizeof(b));
	b.fs = fs;
	b.self = self;
	for (;;) {
		fs_graph_put(b.graph);
		b.graph = fs_graph_get(fs);  /* a batch is planned and built under one graph */
		pthread_mutex_lock(&fs->wait_lock);
		self->batch = NULL;
		if (!fs->stopping && !take_group(fs, &b) && linger(fs, &idle_until)) {
			pthread_mutex_unlock(&fs->wait_lock);
			continue;  /* woken for work (or not yet timed out): look again */
		}
		if (fs->stopping || !b.nr) {
			self->done = 1;
			fs->builders_running--;
			pthread_cond_broadcast(&fs->wait_cond);
			pthread_mutex_unlock(&fs->wait_lock);
			break;
		}
		idle_until = 0;
		self->batch = &b;
		if (fs->queue_nr)  /* more groups wait: another builder for them */
			wake_builder(fs);
		pthread_mutex_unlock(&fs->wait_lock);
		c = fs_catalog(fs, &err);
		if (!c) {
			for (size_t i = 0; i < b.nr; i++)
				finish_failed(&b, b.nodes[i], err.buf);
			strbuf_reset(&err);
			continue;
		}
		run_batch(&b, c);
		batch_witnesses_release(&b);
	}
	fs_graph_put(b.graph);
	free(b.nodes);
	free(b.deferred);
	strbuf_release(&err);
	return NULL;
}

/*
 * Starts a builder thread if fewer than max_builds run (beyond that the
 * group waits for a running one to finish its batch). Reuses the slot of a
 * thread that has exited, joining it first. wait_lock held.
 */
static void builder_spawn(struct fs *fs)
{
	struct builder *slot = NULL;
	sigset_t all, old;
	int rc;

	if (fs->builders_running >= fs->builders_nr)
		return;
	for (size_t i = 0; i < fs->builders_nr && !slot; i++) {
		struct builder *bd = &fs->builders[i];

		if (!bd->used) {
			slot = bd;
		} else if (bd->done) {
			pthread_join(bd->thread, NULL);
			bd->used = 0;
			slot = bd;
		}
	}
	if (!slot)
		return;
	if (slot->cancel[0] < 0 && pipe2(slot->cancel, O_CLOEXEC | O_NONBLOCK) < 0) {
		slot->cancel[0] = slot->cancel[1] = -1;
		fs_log(fs, "cannot start a builder thread: pipe: %s", strerror(errno));
		return;
	}
	slot->fs = fs;
	slot->done = 0;
	slot->batch = NULL;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&slot->thread, NULL, builder_main, slot);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		fs_log(fs, "cannot start a builder thread: %s", strerror(rc));
		return;
	}
	slot->used = 1;
	fs->builders_running++;
}

/* The earliest time the build of b became unread (0: someone wants it); wait_lock. */
static int64_t batch_unread_since(const struct batch *b)
{
	int64_t since = 0;
	size_t running = 0;

	for (size_t i = 0; i < b->nr; i++) {
		const struct node *n = b->nodes[i];

		if (n->state != BUILD_RUNNING || n->batch != b->id)
			continue;
		running++;
		if (n->waiters_nr || n->wanted || !n->unread_us)
			return 0;
		if (n->unread_us > since)
			since = n->unread_us;
	}
	return running ? since : 0;
}

/*
 * -o cancel_unread: cancels a running build once nobody has waited for
 * any of its partitions for the grace period, and drops such a build from
 * the queue before it starts. Sleeps on wait_cond until the next deadline.
 */
static void *unread_main(void *arg)
{
	struct fs *fs = arg;
	int64_t grace = (int64_t)fs->opts->cancel_unread_s * 1000000;

	pthread_mutex_lock(&fs->wait_lock);
	while (!fs->stopping) {
		int64_t now = now_us(), next = now + 1000000, since;
		struct timespec until;

		for (size_t i = 0; i < fs->builders_nr; i++) {
			struct builder *bd = &fs->builders[i];

			if (!bd->used || bd->done || !bd->batch || bd->batch->unread ||
			    !(since = batch_unread_since(bd->batch)))
				continue;
			if (now < since + grace) {
				if (since + grace < next)
					next = since + grace;
				continue;
			}
			fs_log(fs, "cancelling the build of '%s'%s: nobody has waited for it for %d s",
			       bd->batch->nodes[0]->path, bd->batch->nr > 1 ? " and others" : "",
			       fs->opts->cancel_unread_s);
			bd->batch->unread = 1;
			if (write(bd->cancel[1], "u", 1) < 0 && errno != EAGAIN)
				fs_log(fs, "cannot cancel a build: %s", strerror(errno));
		}
		for (size_t i = 0; i < fs->queue_nr; i++) {
			struct node *n = fs->queue[i];

			if (n->state != BUILD_QUEUED || n->waiters_nr || n->wanted || !n->unread_us)
				continue;
			if (now >= n->unread_us + grace) {
				fs_log(fs, "dropping the queued build of '%s': nobody waits for it", n->path);
				n->state = BUILD_NONE;  /* take_group skips it */
				n->unread_us = 0;
			} else if (n->unread_us + grace < next) {
				next = n->unread_us + grace;
			}
		}
		until.tv_sec = (time_t)(next / 1000000);
		until.tv_nsec = (long)(next % 1000000) * 1000;
		pthread_cond_timedwait(&fs->wait_cond, &fs->wait_lock, &until);
	}
	pthread_mutex_unlock(&fs->wait_lock);
	return NULL;
}

int builders_start(struct fs *fs, struct strbuf *err)
{
	sigset_t all, old;
	int rc;

	fs->builders_nr = max_builds(fs);
	fs->builders = xcalloc(fs->builders_nr, sizeof(*fs->builders));
	for (size_t i = 0; i < fs->builders_nr; i++)
		fs->builders[i].cancel[0] = fs->builders[i].cancel[1] = -1;
	if (fs->opts->cancel_unread_s < 0)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&fs->unread_thread, NULL, unread_main, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		strbuf_addf(err, "cannot start the cancel_unread thread: %s", strerror(rc));
		return -1;
	}
	fs->unread_started = 1;
	return 0;
}

/* Answers with EIO every waiter of every node. */
static void answer_all(struct fs *fs)
{
	pthread_rwlock_rdlock(&fs->nodes_lock);
	for (size_t i = 1; i < fs->nodes_nr; i++) {
		struct node *n = fs->by_ino[i];
		struct waiter *w;

		if (n->ino != i)
			continue;

		pthread_mutex_lock(&fs->wait_lock);
		w = take_waiters(n);
		pthread_mutex_unlock(&fs->wait_lock);
		while (w) {
			struct waiter *next = w->next;

			fuse_reply_err(w->req, EIO);
			free(w);
			w = next;
		}
	}
	pthread_rwlock_unlock(&fs->nodes_lock);
}

void builders_cancel(struct fs *fs)
{
	pthread_mutex_lock(&fs->wait_lock);
	if (fs->stopping) {
		pthread_mutex_unlock(&fs->wait_lock);
		return;
	}
	fs->stopping = 1;
	for (size_t i = 0; i < fs->builders_nr; i++) {
		int fd = fs->builders[i].cancel[1];

		if (fd >= 0 && write(fd, "x", 1) < 0 && errno != EAGAIN)
			fs_log(fs, "cannot cancel the running builds: %s", strerror(errno));
	}
	pthread_cond_broadcast(&fs->wait_cond);
	pthread_mutex_unlock(&fs->wait_lock);
	/*
	 * Readers first: they must not wait for the jobs to die. A builder
	 * finds its nodes no longer running and leaves them alone; one that
	 * took its waiters already is waited for until it has answered them.
	 */
	answer_all(fs);
	pthread_mutex_lock(&fs->wait_lock);
	while (fs->replying)
		pthread_cond_wait(&fs->wait_cond, &fs->wait_lock);
	pthread_mutex_unlock(&fs->wait_lock);
}

/*
 * Kills what the builders still wait on after the grace period (a
 * configure, a lookup or a job that ignores the cancellation): every child
 * process of the daemon, with its process group when it leads one.
 */
static void kill_children(struct fs *fs)
{
	struct strbuf path = STRBUF_INIT, list = STRBUF_INIT;
	DIR *tasks = opendir("/proc/self/task");
	struct dirent *de;

	while (tasks && (de = readdir(tasks))) {
		char *p, *end;

		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "/proc/self/task/%s/children", de->d_name);
		strbuf_reset(&list);
		if (strbuf_read_file(&list, path.buf, 0) < 0)
			continue;
		for (p = list.buf; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid <= 0)
				continue;
			fs_log(fs, "killing process %ld: its build did not end when cancelled", pid);
			if (getpgid((pid_t)pid) == (pid_t)pid)
				kill(-(pid_t)pid, SIGKILL);
			kill((pid_t)pid, SIGKILL);
		}
	}
	if (tasks)
		closedir(tasks);
	strbuf_release(&path);
	strbuf_release(&list);
}

void builders_stop(struct fs *fs)
{
	struct timespec deadline;
	int killed = 0;

	builders_cancel(fs);
	/* No thread starts once stopping is set: the slots are stable. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_GRACE_S;
	pthread_mutex_lock(&fs->wait_lock);
	while (fs->builders_running) {
		if (!killed && pthread_cond_timedwait(&fs->wait_cond, &fs->wait_lock,
						      &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&fs->wait_lock);
			kill_children(fs);
			killed = 1;
			pthread_mutex_lock(&fs->wait_lock);
		} else if (killed) {
			pthread_cond_wait(&fs->wait_cond, &fs->wait_lock);
		}
	}
	pthread_mutex_unlock(&fs->wait_lock);
	if (fs->unread_started)
		pthread_join(fs->unread_thread, NULL);
	fs->unread_started = 0;
	for (size_t i = 0; i < fs->builders_nr; i++) {
		struct builder *bd = &fs->builders[i];

		if (bd->used)
			pthread_join(bd->thread, NULL);
		bd->used = 0;
		for (int k = 0; k < 2; k++)
			if (bd->cancel[k] >= 0)
				close(bd->cancel[k]);
	}
	fs->builders_nr = 0;
	free(fs->builders);
	fs->builders = NULL;

	/* Waiters added while the first answer ran: none once stopping is set. */
	answer_all(fs);
	fs->queue_nr = 0;
}
