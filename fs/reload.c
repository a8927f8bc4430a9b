#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/json.h"
#include "fs/internal.h"

/*
 * The graph in force and its reload (docs/design/fs.md, "Graph reload").
 * One watcher thread owns the inotify descriptor and does every reload,
 * so reloads never race each other; FUSE handlers only queue a request
 * (the open of .databuild/reload) and wake it.
 */

/* A change is acted on after this long without another one... */
#define DEBOUNCE_QUIET_MS 100
/* ... and at most this long after the first one. */
#define DEBOUNCE_MAX_MS 500
/* Not IN_MODIFY: a file is acted on once its writer closes it, not half-written. */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
		    IN_MOVED_TO | IN_ONLYDIR)

struct reload_req {
	struct reload_req *next;
	fuse_req_t req;
	struct fuse_file_info fi;
};

struct watch_dir {
	int wd;
	char *path;
};

struct watch {
	struct fs *fs;
	pthread_t thread;
	int ifd;                     /* inotify, or -1 (forced reloads still work) */
	int wake[2];                 /* a byte on wake[1] wakes the thread (non-blocking) */

	/* the watcher thread's own (and watch_start's, before it runs) */
	struct watch_dir *dirs;      /* every directory watched so far */
	size_t dirs_nr, dirs_alloc;
	struct strmap exes;          /* job executable path -> its job's label (owned) */
	struct strmap exes_changed;  /* executables changed since the last flush -> label (owned) */
	char *graph_path;            /* the graph file, absolute */

	pthread_mutex_t lock;        /* guards reqs and stop */
	struct reload_req *reqs;     /* reload opens to answer */
	int stop;
};

static void fs_graph_free(struct fs_graph *g)
{
	space_release(g);
	if (g->owned) {
		graph_release(g->owned);
		free(g->owned);
	}
	free(g);
}

struct fs_graph *fs_graph_new(const struct graph *graph, struct graph *owned,
			      unsigned long gen, struct strbuf *err)
{
	struct fs_graph *g = xcalloc(1, sizeof(*g));

	g->graph = graph;
	g->owned = owned;
	g->gen = gen;
	g->loaded_us = now_us();
	atomic_init(&g->refs, 1);
	if (space_init(g, err) < 0) {
		fs_graph_free(g);
		return NULL;
	}
	return g;
}

struct fs_graph *fs_graph_get(struct fs *fs)
{
	struct fs_graph *g;

	pthread_mutex_lock(&fs->graph_lock);
	g = fs->graph;
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&fs->graph_lock);
	return g;
}

void fs_graph_put(struct fs_graph *g)
{
	if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
		fs_graph_free(g);
}

/* --- what changed between two graphs --- */

/*
 * What a job shows of the partition space: its output patterns and the
 * domains of its variables. A command domain never compares equal (its
 * command ran again).
 */
static void job_shape(const struct job *j, struct strbuf *out)
{
	strbuf_addf(out, "%s\n", j->label);
	for (size_t k = 0; k < j->outputs_nr; k++)
		strbuf_addf(out, "%s\n", j->outputs[k].text);
	for (size_t k = 0; k < j->vars_nr; k++) {
		strbuf_addf(out, "%s=", j->vars[k].name);
		if (j->vars[k].domain->kind == DOMAIN_COMMAND)
			strbuf_addf(out, "command %p", (void *)j->vars[k].domain);
		else
			domain_describe(j->vars[k].domain, out);
		strbuf_addch(out, '\n');
	}
	if (j->source)
		strbuf_addf(out, "source %s\n", j->source);
}

/* The output patterns of the jobs of a whose shape is not in b, appended to out. */
static void shapes_gone(const struct graph *a, const struct graph *b,
			const struct pattern ***out, size_t *nr, size_t *alloc,
			struct strvec *labels)
{
	struct strmap shapes = STRMAP_INIT;
	struct strbuf s = STRBUF_INIT;

	for (size_t i = 0; i < b->jobs_nr; i++) {
		strbuf_reset(&s);
		job_shape(&b->jobs[i], &s);
		strmap_put(&shapes, s.buf, (void *)1);
	}
	for (size_t i = 0; i < a->jobs_nr; i++) {
		strbuf_reset(&s);
		job_shape(&a->jobs[i], &s);
		if (strmap_contains(&shapes, s.buf))
			continue;
		strvec_push(labels, a->jobs[i].label);
		for (size_t k = 0; k < a->jobs[i].outputs_nr; k++) {
			ALLOC_GROW(*out, *nr + 1, *alloc);
			(*out)[(*nr)++] = &a->jobs[i].outputs[k];
		}
	}
	strbuf_release(&s);
	strmap_clear(&shapes);
}

/* One kernel cache entry to drop: the name in parent, and the inode if ino. */
struct inval {
	fuse_ino_t parent;
	char *name;
	fuse_ino_t ino;
};

struct inval_list {
	struct inval *v;
	size_t nr, alloc;
};

static void inval_push(struct inval_list *l, fuse_ino_t parent, const char *name,
		       fuse_ino_t ino)
{
	ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	l->v[l->nr].parent = parent;
	l->v[l->nr].name = xstrdup(name);
	l->v[l->nr].ino = ino;
	l->nr++;
}

/*
 * The names that patterns pats place and the kernel may have cached: the
 * literal leading segments of each pattern (new datasets, also where a
 * lookup found nothing before) and every node whose path one of them
 * matches. nodes_lock held for reading.
 */
static void inval_collect(struct fs *fs, const struct pattern **pats, size_t pats_nr,
			  struct inval_list *l)
{
	struct strbuf seg = STRBUF_INIT, parent = STRBUF_INIT;

	for (size_t i = 0; i < pats_nr; i++) {
		for (size_t d = 0; d < pats[i]->depth; d++) {
			struct node *dir;
			char *pre = d ? pattern_segments(pats[i]->text, 0, d) : xstrdup("");

			strbuf_reset(&seg);
			dir = pattern_literal_segment(pats[i], d, &seg) ?
				strmap_get(&fs->by_path, pre) : NULL;
			free(pre);
			if (!dir)
				break;
			inval_push(l, dir->ino, seg.buf, 0);
		}
	}
	for (size_t i = 1; i < fs->nodes_nr; i++) {
		struct node *n = fs->by_ino[i], *dir;
		const char *path = n->part ? n->part->path : n->path;
		int placed = 0;

		if (n->ino != i || (n->kind != INODE_DIR && n->kind != INODE_PART &&
				    n->kind != INODE_MANIFEST && n->kind != INODE_ERROR))
			continue;
		for (size_t k = 0; k < pats_nr && !placed; k++)
			placed = n->kind == INODE_DIR ? pattern_match_dir(pats[k], path) != 0 :
				pattern_match(pats[k], path, NULL);
		if (!placed)
			continue;
		strbuf_reset(&parent);
		strbuf_add(&parent, n->path, n->name > n->path ? (size_t)(n->name - n->path - 1) : 0);
		dir = strmap_get(&fs->by_path, parent.buf);
		if (dir)
			inval_push(l, dir->ino, n->name, n->kind == INODE_DIR ? n->ino : 0);
	}
	strbuf_release(&seg);
	strbuf_release(&parent);
}

/*
 * Drops what the kernel caches of the names whose meaning changed from
 * graph a to graph b: entries (also negative ones) and directory
 * attributes. From the watcher thread, with no lock held while the
 * kernel is told (it may wait on a lookup that a FUSE worker answers).
 * Appends "; jobs new or changed: x; jobs removed or changed: y" to what.
 * A lookup executable that comes or goes changes every job's names.
 */
static void invalidate(struct fs *fs, const struct graph *a, const struct graph *b,
		       struct strbuf *what)
{
	const struct pattern **pats = NULL;
	size_t nr = 0, alloc = 0;
	struct strvec gone = STRVEC_INIT, added = STRVEC_INIT;
	struct inval_list l = { NULL, 0, 0 };

	shapes_gone(a, b, &pats, &nr, &alloc, &gone);
	shapes_gone(b, a, &pats, &nr, &alloc, &added);
	if (!a->lookup.nr != !b->lookup.nr) {
		nr = 0;
		for (int side = 0; side < 2; side++) {
			const struct graph *g = side ? b : a;

			for (size_t i = 0; i < g->jobs_nr; i++)
				for (size_t k = 0; k < g->jobs[i].outputs_nr; k++) {
					ALLOC_GROW(pats, nr + 1, alloc);
					pats[nr++] = &g->jobs[i].outputs[k];
				}
		}
	}
	for (size_t i = 0; i < added.nr; i++)
		strbuf_addf(what, "%s%s", i ? ", " : "; jobs new or changed: ", added.v[i]);
	for (size_t i = 0; i < gone.nr; i++)
		strbuf_addf(what, "%s%s", i ? ", " : "; jobs removed or changed: ", gone.v[i]);
	if (nr) {
		pthread_rwlock_rdlock(&fs->nodes_lock);
		inval_collect(fs, pats, nr, &l);
		pthread_rwlock_unlock(&fs->nodes_lock);
	}
	for (size_t i = 0; i < l.nr; i++) {
		fuse_lowlevel_notify_inval_entry(fs->se, l.v[i].parent, l.v[i].name,
						 strlen(l.v[i].name));
		if (l.v[i].ino)
			fuse_lowlevel_notify_inval_inode(fs->se, l.v[i].ino, 0, 0);
		free(l.v[i].name);
	}
	if (nr)
		fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID, 0, 0);
	free(l.v);
	free(pats);
	strvec_clear(&gone);
	strvec_clear(&added);
}

/* --- the watch --- */

static void watch_dir_add(struct watch *w, const char *dir)
{
	int wd;

	if (w->ifd < 0)
		return;
	for (size_t i = 0; i < w->dirs_nr; i++)
		if (!strcmp(w->dirs[i].path, dir))
			return;
	wd = inotify_add_watch(w->ifd, dir, WATCH_MASK);
	if (wd < 0) {
		fs_log(w->fs, "cannot watch '%s' for changes: %s", dir, strerror(errno));
		return;
	}
	ALLOC_GROW(w->dirs, w->dirs_nr + 1, w->dirs_alloc);
	w->dirs[w->dirs_nr].wd = wd;
	w->dirs[w->dirs_nr].path = xstrdup(dir);
	w->dirs_nr++;
}

/* A directory whose watch ended (removed, unmounted): watched again if needed later. */
static void watch_dir_forget(struct watch *w, int wd)
{
	for (size_t i = 0; i < w->dirs_nr; i++) {
		if (w->dirs[i].wd != wd)
			continue;
		free(w->dirs[i].path);
		w->dirs[i] = w->dirs[--w->dirs_nr];
		return;
	}
}

/* Watches the directory of the absolute path; as an executable of label if label. */
static void watch_file(struct watch *w, const char *path, const char *label)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash || *path != '/')
		return;
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	watch_dir_add(w, dir);
	free(dir);
	if (label && !strmap_contains(&w->exes, path))
		strmap_put(&w->exes, path, xstrdup(label));
}

static void exes_clear(struct strmap *m)
{
	void *v;

	for (size_t i = 0; strmap_next(m, &i, NULL, &v); )
		free(v);
	strmap_clear(m);
}

/*
 * Watches g's file and its executables: configure and exec of every job,
 * the lookup executable, command domains. Directories watched for an
 * earlier graph stay watched (events there are ignored unless they name
 * a file of g).
 */
static void watch_graph(struct watch *w, const struct graph *g)
{
	free(w->graph_path);
	w->graph_path = xstrdup(g->path);
	watch_file(w, g->path, NULL);
	exes_clear(&w->exes);
	for (size_t i = 0; i < g->jobs_nr; i++) {
		const struct job *j = &g->jobs[i];

		if (j->configure.nr)
			watch_file(w, j->configure.v[0], j->label);
		if (j->exec.nr && !job_is_source(j))
			watch_file(w, j->exec.v[0], j->label);
		for (size_t k = 0; k < j->vars_nr; k++)
			if (j->vars[k].domain->kind == DOMAIN_COMMAND && j->vars[k].domain->argv.nr)
				watch_file(w, j->vars[k].domain->argv.v[0], j->label);
	}
	if (g->lookup.nr)
		watch_file(w, g->lookup.v[0], "(lookup)");
}

/*
 * Reads the pending inotify events: 1 if the graph file changed (or
 * events were lost), else 0. Changed executables go to exes_changed.
 */
static int watch_read(struct watch *w)
{
	_Alignas(struct inotify_event) char buf[8192];
	struct strbuf path = STRBUF_INIT;
	int graph = 0;
	ssize_t len;

	while ((len = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len; ) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			const char *label;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				graph = 1;
				continue;
			}
			if (ev->mask & IN_IGNORED) {
				watch_dir_forget(w, ev->wd);
				continue;
			}
			if (!ev->len)
				continue;
			strbuf_reset(&path);
			for (size_t i = 0; i < w->dirs_nr; i++)
				if (w->dirs[i].wd == ev->wd)
					strbuf_addf(&path, "%s%s%s", w->dirs[i].path,
						    strcmp(w->dirs[i].path, "/") ? "/" : "", ev->name);
			if (!path.len)
				continue;
			if (!strcmp(path.buf, w->graph_path))
				graph = 1;
			else if ((label = strmap_get(&w->exes, path.buf)) &&
				 !strmap_contains(&w->exes_changed, path.buf))
				strmap_put(&w->exes_changed, path.buf, xstrdup(label));
		}
	}
	strbuf_release(&path);
	return graph;
}

/* Logs the executables that changed (no reload: opens check their partitions' freshness). */
static void exes_flush(struct watch *w)
{
	const char *path;
	void *label;

	for (size_t i = 0; strmap_next(&w->exes_changed, &i, &path, &label); )
		fs_log(w->fs, "job executable '%s' (job '%s') changed; the graph is unchanged",
		       path, (const char *)label);
	exes_clear(&w->exes_changed);
}

/* --- reloading --- */

/*
 * Runs the command domains of g now, on the watcher thread, so that no
 * handler waits on them later. Failures are appended to warn: the graph
 * is still valid (lookups below such a domain answer EIO and retry).
 */
static void domains_ready(struct graph *g, struct strbuf *warn)
{
	struct strbuf err = STRBUF_INIT;

	for (size_t i = 0; i < g->domains_nr; i++)
		if (g->domains[i].kind == DOMAIN_COMMAND && domain_ready(&g->domains[i], &err) < 0)
			strbuf_addstr(&err, "; ");
	for (size_t i = 0; i < g->jobs_nr; i++)
		for (size_t k = 0; k < g->jobs[i].vars_nr; k++) {
			struct job_var *v = &g->jobs[i].vars[k];

			if (v->owned && v->domain->kind == DOMAIN_COMMAND &&
			    domain_ready(v->domain, &err) < 0)
				strbuf_addstr(&err, "; ");
		}
	if (err.len >= 2)
		strbuf_add(warn, err.buf, err.len - 2);
	strbuf_release(&err);
}

/* Records why a reload was refused, for .databuild/status. */
static void note_refused(struct fs *fs, const char *error)
{
	pthread_mutex_lock(&fs->graph_lock);
	free(fs->reload_error);
	fs->reload_error = xstrdup(error);
	fs->reload_error_us = now_us();
	pthread_mutex_unlock(&fs->graph_lock);
}

/* Puts g in force (its reference goes to fs); returns the one it replaces (to put). */
static struct fs_graph *graph_swap(struct fs *fs, struct fs_graph *g)
{
	struct fs_graph *old;

	pthread_mutex_lock(&fs->graph_lock);
	old = fs->graph;
	fs->graph = g;
	free(fs->reload_error);
	fs->reload_error = NULL;
	pthread_mutex_unlock(&fs->graph_lock);
	return old;
}

/*
 * Loads the graph file anew and puts it in force, or keeps the old one
 * and records why not (a broken file). why: "changed" or "requested".
 * The outcome as one JSON line goes to out.
 */
static void reload(struct watch *w, const char *why, struct strbuf *out)
{
	struct fs *fs = w->fs;
	struct fs_graph *old = fs_graph_get(fs), *fresh = NULL;
	struct graph *g = xcalloc(1, sizeof(*g));
	struct strbuf err = STRBUF_INIT, warn = STRBUF_INIT, what = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "graph", old->graph->path);
	if (graph_load(g, old->graph->path, &err) < 0) {
		graph_release(g);
		free(g);
		goto refused;
	}
	fresh = fs_graph_new(g, g, old->gen + 1, &err);  /* frees g if it fails */
	if (!fresh)
		goto refused;
	domains_ready(g, &warn);
	/* only this thread swaps: fresh stays in force (and alive) below */
	fs_graph_put(graph_swap(fs, fresh));
	invalidate(fs, old->graph, g, &what);
	watch_graph(w, g);
	fs_log(fs, "graph '%s' reloaded (%s): generation %lu, %zu jobs%s%s%s", g->path, why,
	       fresh->gen, g->jobs_nr, what.buf, warn.len ? "; " : "", warn.buf);
	cJSON_AddTrueToObject(o, "ok");
	json_add_int64(o, "generation", (int64_t)fresh->gen);
	json_add_int64(o, "jobs", (int64_t)g->jobs_nr);
	if (warn.len)
		cJSON_AddStringToObject(o, "warning", warn.buf);
	goto out;

refused:
	note_refused(fs, err.buf);
	fs_log(fs, "graph reload refused (%s), generation %lu stays in force: %s", why, old->gen,
	       err.buf);
	cJSON_AddFalseToObject(o, "ok");
	json_add_int64(o, "generation", (int64_t)old->gen);
	cJSON_AddStringToObject(o, "error", err.buf);
out:
	json_print(o, out);
	strbuf_addch(out, '\n');
	cJSON_Delete(o);
	fs_graph_put(old);
	strbuf_release(&err);
	strbuf_release(&warn);
	strbuf_release(&what);
}

/* Answers the reload opens of list with the text, or err when text is NULL. */
static void answer(struct fs *fs, struct reload_req *list, const struct strbuf *text, int err)
{
	while (list) {
		struct reload_req *next = list->next;

		if (text) {
			struct handle *h = handle_new(HANDLE_TEXT);

			strbuf_addbuf(&h->text, text);
			list->fi.direct_io = 1;
			reply_open_handle(list->req, fs, &list->fi, h);
		} else {
			fuse_reply_err(list->req, err);
		}
		free(list);
		list = next;
	}
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct watch *w = data;
	struct reload_req *r = NULL, **pp;

	pthread_mutex_lock(&w->lock);
	for (pp = &w->reqs; *pp; pp = &(*pp)->next) {
		if ((*pp)->req == req) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (r) {
		fuse_reply_err(req, EINTR);
		free(r);
	}
}

static void wake(struct watch *w)
{
	if (write(w->wake[1], "r", 1) < 0 && errno != EAGAIN)
		fs_log(w->fs, "cannot wake the graph watcher: %s", strerror(errno));
}

void reload_open(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi)
{
	struct watch *w = fs->watch;
	struct reload_req *r;
	int saverr;

	if (!w) {
		fuse_reply_err(req, EIO);
		return;
	}
	/* under allow_other, only the mount's owner (and root) may make it run commands */
	if (fuse_req_ctx(req)->uid != fs->uid && fuse_req_ctx(req)->uid != 0) {
		fuse_reply_err(req, EACCES);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->req = req;
	r->fi = *fi;
	fuse_req_interrupt_func(req, on_interrupt, w);
	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		saverr = EIO;
		goto out_err;
	}
	if (fuse_req_interrupted(req)) {
		saverr = EINTR;
		goto out_err;
	}
	r->next = w->reqs;
	w->reqs = r;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return;

out_err:
	pthread_mutex_unlock(&w->lock);
	free(r);
	fuse_reply_err(req, saverr);
}

/* Milliseconds until a pending change is due (0: now), or -1 when none is pending. */
static int due_in(long long first, long long last)
{
	long long due, now = mono_ms();

	if (!first)
		return -1;
	due = last + DEBOUNCE_QUIET_MS;
	if (due > first + DEBOUNCE_MAX_MS)
		due = first + DEBOUNCE_MAX_MS;
	return due <= now ? 0 : (int)(due - now);
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	struct strbuf result = STRBUF_INIT;
	long long first = 0, last = 0;  /* mono_ms of the first and last change pending */
	char drain[64];

	for (;;) {
		struct pollfd pfd[2] = { { .fd = w->wake[0], .events = POLLIN },
					 { .fd = w->ifd, .events = POLLIN } };
		struct reload_req *reqs;
		int timeout = due_in(first, last);

		if (poll(pfd, w->ifd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR) {
			fs_log(w->fs, "the graph watcher stops: poll: %s", strerror(errno));
			break;
		}
		while (read(w->wake[0], drain, sizeof(drain)) > 0)
			;
		if (w->ifd >= 0 && (pfd[1].revents & POLLIN) && watch_read(w)) {
			last = mono_ms();
			if (!first)
				first = last;
		}
		pthread_mutex_lock(&w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		reqs = w->reqs;
		w->reqs = NULL;
		pthread_mutex_unlock(&w->lock);
		if (!reqs && due_in(first, last) != 0) {
			if (!first)
				exes_flush(w);
			continue;
		}
		exes_flush(w);
		strbuf_reset(&result);
		reload(w, reqs ? "requested" : "changed", &result);
		first = last = 0;
		answer(w->fs, reqs, &result, 0);
	}
	strbuf_release(&result);
	return NULL;
}

static void watch_free(struct watch *w)
{
	for (size_t i = 0; i < w->dirs_nr; i++)
		free(w->dirs[i].path);
	free(w->dirs);
	exes_clear(&w->exes);
	exes_clear(&w->exes_changed);
	free(w->graph_path);
	for (int i = 0; i < 2; i++)
		if (w->wake[i] >= 0)
			close(w->wake[i]);
	if (w->ifd >= 0)
		close(w->ifd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int watch_start(struct fs *fs, struct strbuf *err)
{
	struct watch *w = xcalloc(1, sizeof(*w));
	struct fs_graph *g = fs_graph_get(fs);
	sigset_t all, old;
	int rc, ret = -1;

	w->fs = fs;
	w->wake[0] = w->wake[1] = -1;
	pthread_mutex_init(&w->lock, NULL);
	strmap_init(&w->exes);
	strmap_init(&w->exes_changed);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0)
		fs_log(fs, "cannot watch the graph file for changes (inotify: %s): "
		       "only 'databuild reload' reloads it", strerror(errno));
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		strbuf_addf(err, "cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	watch_graph(w, g->graph);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->thread, NULL, watch_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		strbuf_addf(err, "cannot start the graph watcher: %s", strerror(rc));
		goto out;
	}
	fs->watch = w;
	w = NULL;
	ret = 0;
out:
	if (w)
		watch_free(w);
	fs_graph_put(g);
	return ret;
}

void watch_cancel(struct fs *fs)
{
	struct watch *w = fs->watch;
	struct reload_req *reqs;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	reqs = w->reqs;
	w->reqs = NULL;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	answer(fs, reqs, NULL, EIO);
}

void watch_stop(struct fs *fs)
{
	struct watch *w = fs->watch;

	if (!w)
		return;
	watch_cancel(fs);
	pthread_join(w->thread, NULL);
	fs->watch = NULL;
	watch_free(w);
}
