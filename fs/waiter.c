#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "model/graph.h"
#include "model/ref.h"
#include "executor/executor.h"
#include "fs/internal.h"

/*
 * At most this many batches build at once; more groups wait in the queue.
 * Each holds a few catalog connections (its own, the executor's, the
 * callbacks'): with a PostgreSQL catalog the mount must stay well inside
 * the server's connection limit (100 by default) beside other clients.
 */
#define BUILDERS_MAX 16
/* Seconds a cancelled build gets to end before its processes are killed. */
#define STOP_GRACE_S 3

/* One executor_build call: the partitions a builder took from the queue. */
struct batch {
	struct fs *fs;
	unsigned long id;
	struct node **nodes;
	size_t nr, alloc;
	struct catalog aux;   /* for the callbacks: the executor owns the other one */
	int aux_open;
	/*
	 * The current executor_build call: its size, whether it got past
	 * planning (on_node is first called once the plan runs), and the
	 * failures heard before that, answered only if planning did not fail.
	 */
	size_t build_nr;
	int planned;
	struct deferred { struct node *n; char *error; } *deferred;
	size_t deferred_nr, deferred_alloc;
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
	pthread_mutex_unlock(&fs->wait_lock);
	if (w) {
		fuse_reply_err(req, EINTR);
		free(w);
	}
}

static void builder_spawn(struct fs *fs);

void waiter_add(struct fs *fs, struct node *n, fuse_req_t req, struct fuse_file_info *fi)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	int saverr;

	w->req = req;
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
	if (n->state == BUILD_NONE) {
		n->state = BUILD_QUEUED;
		ALLOC_GROW(fs->queue, fs->queue_nr + 1, fs->queue_alloc);
		fs->queue[fs->queue_nr++] = n;
		builder_spawn(fs);
	}
	pthread_mutex_unlock(&fs->wait_lock);
	return;

out_err:
	pthread_mutex_unlock(&fs->wait_lock);
	free(w);
	fuse_reply_err(req, saverr);
}

/* Detaches n's waiters and ends its build; wait_lock held. */
static struct waiter *take_waiters(struct node *n)
{
	struct waiter *w = n->waiters;

	n->waiters = NULL;
	n->waiters_nr = 0;
	n->state = BUILD_NONE;
	return w;
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

static struct catalog *batch_catalog(struct batch *b)
{
	struct strbuf err = STRBUF_INIT;

	if (!b->aux_open) {
		if (catalog_open(&b->aux, b->fs->opts->store, b->fs->opts->catalog_location,
				 &err) < 0) {
			fs_log(b->fs, "%s", err.buf);
			strbuf_release(&err);
			return NULL;
		}
		b->aux_open = 1;
	}
	return &b->aux;
}

static void finish_ok(struct batch *b, struct node *n)
{
	struct fs *fs = b->fs;
	struct catalog *c = batch_catalog(b);
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	struct waiter *w;
	int inval = 1;

	partition_init(&p);
	if (c && catalog_get_partition(c, n->path, &p, &err) < 0)
		fs_log(fs, "'%s': %s", n->path, err.buf);
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
	free(n->verified_run);
	n->verified_run = p.published_run ? xstrdup(p.published_run) : NULL;
	free(n->served_run);
	n->served_run = p.published_run ? xstrdup(p.published_run) : NULL;
	pthread_mutex_unlock(&fs->wait_lock);

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
	pthread_mutex_unlock(&fs->wait_lock);
	while (w) {
		struct waiter *next = w->next;
		struct handle *h = handle_open_data(fs, &p, &err);

		strbuf_reset(&err);
		if (!h) {
			fuse_reply_err(w->req, EIO);
		} else {
			/*
			 * A reader that waited on the build may still hold the
			 * placeholder's size while another refreshes it; with
			 * direct_io its reads go to the daemon, which knows the
			 * real end of file. Later opens use the page cache.
			 */
			w->fi.direct_io = 1;
			reply_open_handle(w->req, fs, &w->fi, h);
		}
		free(w);
		w = next;
	}
	partition_release(&p);
	strbuf_release(&err);
}

static void finish_failed(struct batch *b, struct node *n, const char *error)
{
	struct fs *fs = b->fs;
	struct waiter *w;
	int stopping;

	pthread_mutex_lock(&fs->wait_lock);
	w = take_waiters(n);
	stopping = fs->stopping;
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
	if (!stopping)
		fs_log(fs, "'%s' failed: %s", n->path, error ? error : "");
	fuse_lowlevel_notify_inval_inode(fs->se, n->ino, -1, 0);
	inval_sidecars(fs, n);
	while (w) {
		struct waiter *next = w->next;

		fuse_reply_err(w->req, EIO);
		free(w);
		w = next;
	}
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

	(void)r;
	b->planned = 1;
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

static int build_refs(struct batch *b, struct catalog *c, const struct strvec *refs,
		      struct strbuf *why)
{
	struct fs *fs = b->fs;
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct build_summary sum;
	struct strbuf err = STRBUF_INIT;
	int ret;

	o.jobs = fs->opts->jobs;
	o.backend = fs->opts->backend;
	o.keep_going = 1;
	o.freshness = fs->opts->freshness;
	o.requester = "fs";
	o.cancel_fd = fs->cancel_pipe[0];
	o.on_partition = on_partition;
	o.on_node = on_node;
	o.arg = b;
	b->build_nr = refs->nr;
	b->planned = 0;
	build_summary_init(&sum);
	ret = executor_build(fs->opts->graph, c, fs->opts->store, refs, &o, &sum, &err);
	flush_deferred(b, !(ret == 2 || ret < 0));
	strbuf_reset(why);
	if (ret == 130)
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
 * Moves the next group of queued partitions into b: the first queued one
 * and every other queued one of the same job (a ref no job pattern claims
 * goes alone). wait_lock held. Returns the group's size (0: queue empty).
 */
static size_t take_group(struct fs *fs, struct batch *b)
{
	const struct graph *g = fs->opts->graph;
	const struct job *job = NULL;
	struct strbuf err = STRBUF_INIT;
	size_t keep = 0, i;

	b->nr = 0;
	for (i = 0; i < fs->queue_nr && fs->queue[i]->state != BUILD_QUEUED; i++)
		;
	if (i < fs->queue_nr) {
		b->id = ++fs->next_batch;
		job = graph_lookup(g, fs->queue[i]->path, &err);
	}
	for (; i < fs->queue_nr; i++) {
		struct node *n = fs->queue[i];

		if (n->state != BUILD_QUEUED)
			continue;
		if (b->nr && (!job || graph_lookup(g, n->path, &err) != job)) {
			fs->queue[keep++] = n;
			continue;
		}
		n->state = BUILD_RUNNING;
		n->batch = b->id;
		ALLOC_GROW(b->nodes, b->nr + 1, b->alloc);
		b->nodes[b->nr++] = n;
	}
	fs->queue_nr = keep;
	strbuf_release(&err);
	return b->nr;
}

/* Runs one group after another until the queue is empty or the mount stops. */
static void *builder_main(void *arg)
{
	struct builder *self = arg;
	struct fs *fs = self->fs;
	struct batch b;
	struct strbuf err = STRBUF_INIT;
	struct catalog *c;

	memset(&b, 0, sizeof(b));
	b.fs = fs;
	for (;;) {
		pthread_mutex_lock(&fs->wait_lock);
		if (fs->stopping || !take_group(fs, &b)) {
			self->done = 1;
			fs->builders_running--;
			pthread_cond_broadcast(&fs->wait_cond);
			pthread_mutex_unlock(&fs->wait_lock);
			break;
		}
		pthread_mutex_unlock(&fs->wait_lock);
		c = fs_catalog(fs, &err);
		if (!c) {
			for (size_t i = 0; i < b.nr; i++)
				finish_failed(&b, b.nodes[i], err.buf);
			strbuf_reset(&err);
			continue;
		}
		run_batch(&b, c);
	}
	if (b.aux_open)
		catalog_close(&b.aux);
	free(b.nodes);
	free(b.deferred);
	strbuf_release(&err);
	return NULL;
}

/*
 * Starts a builder thread if fewer than BUILDERS_MAX run (beyond that the
 * group waits for a running one to finish its batch). Reuses the slot of a
 * thread that has exited, joining it first. wait_lock held.
 */
static void builder_spawn(struct fs *fs)
{
	struct builder *slot = NULL;
	sigset_t all, old;
	int rc;

	if (fs->builders_running >= BUILDERS_MAX)
		return;
	for (size_t i = 0; i < BUILDERS_MAX && !slot; i++) {
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
	slot->fs = fs;
	slot->done = 0;
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

int builders_start(struct fs *fs, struct strbuf *err)
{
	(void)err;
	fs->builders = xcalloc(BUILDERS_MAX, sizeof(*fs->builders));
	fs->builders_nr = BUILDERS_MAX;
	return 0;
}

/* Answers with EIO every waiter of every node. */
static void answer_all(struct fs *fs)
{
	pthread_rwlock_rdlock(&fs->nodes_lock);
	for (size_t i = 1; i < fs->nodes_nr; i++) {
		struct node *n = fs->by_ino[i];
		struct waiter *w;

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
	pthread_mutex_unlock(&fs->wait_lock);
	if (fs->cancel_pipe[1] >= 0 && write(fs->cancel_pipe[1], "x", 1) < 0)
		fs_log(fs, "cannot cancel the running builds: %s", strerror(errno));
	/*
	 * Readers first: they must not wait for the jobs to die. A builder
	 * finds its nodes no longer running and leaves them alone.
	 */
	answer_all(fs);
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
	for (size_t i = 0; i < fs->builders_nr; i++) {
		if (fs->builders[i].used)
			pthread_join(fs->builders[i].thread, NULL);
		fs->builders[i].used = 0;
	}
	fs->builders_nr = 0;
	free(fs->builders);
	fs->builders = NULL;

	/* Waiters added while the first answer ran: none once stopping is set. */
	answer_all(fs);
	fs->queue_nr = 0;
}
