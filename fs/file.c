#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/array.h"
#include "model/ref.h"
#include "fs/internal.h"

struct handle *handle_new(enum handle_kind kind)
{
	struct handle *h = xcalloc(1, sizeof(*h));

	h->kind = kind;
	h->fd = -1;
	strbuf_init(&h->text, 0);
	return h;
}

static void handle_free(struct handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->dir)
		dirh_free(h->dir);
	strbuf_release(&h->text);
	free(h);
}

uint64_t handle_register(struct fs *fs, struct handle *h)
{
	size_t slot;
	uint64_t id;

	pthread_mutex_lock(&fs->handles_lock);
	if (fs->free_nr) {
		slot = fs->free_slots[--fs->free_nr];
	} else {
		slot = fs->handles_nr++;
		ALLOC_GROW(fs->handles, fs->handles_nr, fs->handles_alloc);
		ALLOC_GROW(fs->handle_gens, fs->handles_nr, fs->gens_alloc);
		fs->handle_gens[slot] = 0;
	}
	fs->handles[slot] = h;
	h->refs = 1;
	id = (uint64_t)fs->handle_gens[slot] << 32 | slot;
	pthread_mutex_unlock(&fs->handles_lock);
	return id;
}

struct handle *handle_get(struct fs *fs, uint64_t id)
{
	size_t slot = id & 0xffffffffu;
	struct handle *h = NULL;

	pthread_mutex_lock(&fs->handles_lock);
	if (slot < fs->handles_nr && fs->handle_gens[slot] == id >> 32 && fs->handles[slot]) {
		h = fs->handles[slot];
		h->refs++;
	}
	pthread_mutex_unlock(&fs->handles_lock);
	return h;
}

void handle_put(struct fs *fs, struct handle *h)
{
	unsigned refs;

	pthread_mutex_lock(&fs->handles_lock);
	refs = --h->refs;
	pthread_mutex_unlock(&fs->handles_lock);
	if (!refs)
		handle_free(h);
}

void handle_unregister(struct fs *fs, uint64_t id)
{
	size_t slot = id & 0xffffffffu;
	struct handle *h = NULL;

	pthread_mutex_lock(&fs->handles_lock);
	if (slot < fs->handles_nr && fs->handle_gens[slot] == id >> 32 && fs->handles[slot]) {
		h = fs->handles[slot];
		fs->handles[slot] = NULL;
		fs->handle_gens[slot]++;
		ALLOC_GROW(fs->free_slots, fs->free_nr + 1, fs->free_alloc);
		fs->free_slots[fs->free_nr++] = slot;
	}
	pthread_mutex_unlock(&fs->handles_lock);
	if (h)
		handle_put(fs, h);
}

void handles_release(struct fs *fs)
{
	for (size_t i = 0; i < fs->handles_nr; i++)
		if (fs->handles[i])
			handle_free(fs->handles[i]);
	free(fs->handles);
	free(fs->handle_gens);
	free(fs->free_slots);
	fs->handles = NULL;
	fs->handle_gens = NULL;
	fs->free_slots = NULL;
	fs->handles_nr = fs->handles_alloc = fs->gens_alloc = fs->free_nr = fs->free_alloc = 0;
}

/* Drops h's use of its backing file; closes the id with the last (release). */
static void backing_put(fuse_req_t req, struct fs *fs, struct handle *h)
{
	struct backing *b, **pp;
	int id = 0;

	pthread_mutex_lock(&fs->backing_lock);
	if ((b = h->backing) && !--b->opens && req) {
		for (pp = &h->backing_node->backings; *pp != b; pp = &(*pp)->next)
			;
		*pp = b->next;
		id = b->id;
		free(b);
	}
	h->backing = NULL;
	h->backing_node = NULL;
	pthread_mutex_unlock(&fs->backing_lock);
	if (id)
		fuse_passthrough_close(req, id);
}

void reply_open_handle(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi,
		       struct handle *h)
{
	fi->fh = handle_register(fs, h);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* req is gone: an id left without opens is closed by the next open */
		backing_put(NULL, fs, h);
		handle_unregister(fs, fi->fh);
	}
}

/*
 * Passthrough. Where the kernel offers FUSE passthrough (fs_init), an open
 * of a partition or of a version registers its store file as the backing
 * file of the inode it came for, and the kernel reads and maps that file
 * itself: no read reaches the daemon, and the page cache is the store
 * file's own (one copy, the store's large folios). The registration holds
 * the store file open, and with it the handle's shared flock, until its
 * last reader is gone, as a handle does.
 *
 * The kernel allows one backing file per inode at a time and refuses any
 * other open of an inode that has one, so all opens of an inode number
 * share one registration (struct backing, counted in opens, closed with
 * the last release). A partition rebuilt while a reader still holds its
 * old bytes cannot be served on that number: the open that finds the
 * conflict gives the node a new inode number and answers ESTALE, on which
 * the kernel looks the name up again (LOOKUP_REVAL) and retries the open
 * once, now on the new number; the old reader keeps the old number and its
 * bytes. If the mount's first registration fails (the daemon lacks
 * CAP_SYS_ADMIN, or the store sits on too deep a stack of file systems) it
 * stops trying and serves every open through the daemon, as with -o
 * passthrough=off; a later failure serves that open with direct I/O
 * (shared mmap still works: FUSE_CAP_DIRECT_IO_ALLOW_MMAP).
 */
void reply_open_data(fuse_req_t req, struct fs *fs, struct node *n, fuse_ino_t ino,
		     struct fuse_file_info *fi, struct handle *h)
{
	struct backing *b, **pp;
	struct stat st;
	int old = 0;

	pthread_mutex_lock(&fs->backing_lock);
	if (fs->passthrough < 0)
		goto out;
	if (fstat(h->fd, &st) < 0)
		goto out_direct;
	for (b = n->backings; b && b->ino != ino; b = b->next)
		;
	if (b && b->id && b->dev == st.st_dev && b->file == st.st_ino)
		goto out_use;
	if (b && b->opens)
		goto out_stale;
	if (!b) {
		b = xcalloc(1, sizeof(*b));
		b->ino = ino;
		b->next = n->backings;
		n->backings = b;
	}
	old = b->id;
	b->id = fuse_passthrough_open(req, h->fd);
	if (b->id <= 0) {
		for (pp = &n->backings; *pp != b; pp = &(*pp)->next)
			;
		*pp = b->next;
		free(b);
		if (fs->passthrough)
			goto out_direct;
		fs->passthrough = -1;
		fs_log(fs, "passthrough: the kernel refused a backing file; "
		       "reads go through the daemon");
		goto out;
	}
	fs->passthrough = 1;
	b->dev = st.st_dev;
	b->file = st.st_ino;
out_use:
	b->opens++;
	h->backing = b;
	h->backing_node = n;
	fi->backing_id = b->id;
	fi->keep_cache = 0;
	goto out;
out_direct:
	fi->direct_io = 1;
	fi->keep_cache = 0;
out:
	pthread_mutex_unlock(&fs->backing_lock);
	if (old)
		fuse_passthrough_close(req, old);
	reply_open_handle(req, fs, fi, h);
	return;

out_stale:
	pthread_mutex_unlock(&fs->backing_lock);
	fs_log(fs, "open '%s': rebuilt while read through inode %llu; "
	       "the kernel retries on a new inode", n->path, (unsigned long long)ino);
	node_renumber(fs, n, ino);
	handle_free(h);
	fuse_reply_err(req, ESTALE);
}

/*
 * As fs/internal.h says, and: a file that only gained or lost a link since
 * its publish (STORE_RELINKED: another name of its object came or went)
 * is not damage but is not served unread either: NULL with errno EAGAIN,
 * and the caller sends the open through the plan, whose check rehashes it
 * in a worker (catalog_check_data) and records its identity again. Every
 * handle holds a shared flock on its file, the object's inode, while it is
 * open: gc does not remove what a reader holds (docs/design/history.md,
 * "In use").
 */
struct handle *handle_open_data(struct fs *fs, const struct partition *p, struct strbuf *why)
{
	struct handle *h = NULL;
	int fd, kind;

	kind = store_check_data(fs->opts->store, p->ref, p->ident, p->size, &fd, why);
	if (kind == STORE_RELINKED) {
		if (fs->opts->debug)
			fs_log(fs, "'%s' is checked again before it is served: %s", p->ref,
			       why->buf);
		errno = EAGAIN;
	} else if (kind > 0) {
		fs_log(fs, "'%s' is damaged, not served: %s", p->ref, why->buf);
		errno = ESTALE;
	} else if (kind < 0) {
		fs_log(fs, "open '%s' in the store: %s", p->ref, why->buf);
		errno = EIO;
	} else {
		h = handle_new(HANDLE_DATA);
		h->fd = fd;
		/* never blocks: gc only tries LOCK_EX | LOCK_NB, and skips what is held */
		if (flock(fd, LOCK_SH | LOCK_NB) < 0)
			fs_log(fs, "'%s': cannot hold a shared lock on its data: %s", p->ref,
			       strerror(errno));
	}
	return h;
}

/* Keeps what an open found wrong with n's data, for .error if its rebuild fails. */
static void note_damage(struct fs *fs, struct node *n, const char *why)
{
	pthread_mutex_lock(&fs->wait_lock);
	free(n->damage);
	n->damage = xstrdup(why);
	pthread_mutex_unlock(&fs->wait_lock);
}

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* Whether the page cache may keep what it holds of n (run unchanged). */
static int keep_cache(struct fs *fs, struct node *n, const char *run_id)
{
	int keep;

	pthread_mutex_lock(&fs->wait_lock);
	keep = same(n->served_run, run_id);
	if (!keep) {
		free(n->served_run);
		n->served_run = run_id ? xstrdup(run_id) : NULL;
	}
	pthread_mutex_unlock(&fs->wait_lock);
	return keep;
}

/* What an open of a partition does (docs/filesystem.md, "Freshness"). */
enum verdict {
	OPEN_WAIT,           /* wait for a build (or a verifying plan) */
	OPEN_SERVE,          /* serve the published bytes */
	OPEN_SERVE_REBUILD,  /* serve them, and rebuild in the background */
};

/*
 * Decides from the catalog row p, the node's build and its witnesses:
 * a live partition is served when the mount checks presence only, or
 * its freshness witness holds; otherwise the reader waits for the plan
 * (which rebuilds it if stale) unless -o stale=serve. A partition whose
 * rebuild failed serves its last good bytes unless -o strict, retrying
 * in the background once something its job rests on moved.
 */
static enum verdict decide(struct fs *fs, struct catalog *c, struct node *n,
			   const struct partition *p)
{
	struct strbuf err = STRBUF_INIT;
	struct witness *w, *fw;
	enum build_state state;
	enum verdict v = OPEN_WAIT;
	int fresh;

	pthread_mutex_lock(&fs->wait_lock);
	state = n->state;
	if ((w = n->witness))
		witness_get(w);
	if ((fw = n->fail_witness))
		witness_get(fw);
	pthread_mutex_unlock(&fs->wait_lock);
	if (!p->published_run)
		goto out;
	switch (p->status) {
	case PART_LIVE:
		fresh = fs->opts->freshness != FRESH_KEYS;
		if (!fresh && w && (fresh = witness_holds(w, c, p, &err)) < 0) {
			fs_log(fs, "open '%s': %s", n->path, err.buf);
			fresh = 0;
		}
		if (fresh && state == BUILD_NONE)
			v = OPEN_SERVE;
		else if (fs->opts->stale_serve)
			v = state == BUILD_NONE ? OPEN_SERVE_REBUILD : OPEN_SERVE;
		break;
	case PART_FAILED:
		if (fs->opts->strict)
			break;
		v = state == BUILD_NONE && (!fw || !witness_files_hold(fw)) ?
			OPEN_SERVE_REBUILD : OPEN_SERVE;
		break;
	case PART_STALE:
	case PART_TAINTED:
	case PART_BUILDING:
		if (fs->opts->stale_serve)
			v = state == BUILD_NONE && p->status != PART_BUILDING ?
				OPEN_SERVE_REBUILD : OPEN_SERVE;
		break;
	default:
		break;
	}
out:
	witness_put(w);
	witness_put(fw);
	strbuf_release(&err);
	return v;
}

int fs_serves_old(const struct fs *fs, const struct partition *p)
{
	if (!p->published_run)
		return 0;
	switch (p->status) {
	case PART_FAILED:
		return !fs->opts->strict;
	case PART_STALE:
	case PART_TAINTED:
	case PART_BUILDING:
		return fs->opts->stale_serve;
	default:
		return 0;
	}
}

enum part_status fs_status_shown(struct fs *fs, struct node *n, const struct partition *p)
{
	struct strbuf err = STRBUF_INIT;
	enum part_status s = p->status;
	struct witness *w = NULL;
	struct catalog *c;

	if (n && n->part)
		n = n->part;
	if (s == PART_FAILED && p->published_run && !fs->opts->strict) {
		s = PART_STALE;
		goto out;
	}
	if (s != PART_LIVE || !n || fs->opts->freshness != FRESH_KEYS)
		goto out;
	pthread_mutex_lock(&fs->wait_lock);
	if ((w = n->witness))
		witness_get(w);
	pthread_mutex_unlock(&fs->wait_lock);
	if (w && (c = fs_catalog(fs, &err)) && witness_holds(w, c, p, &err) == 0)
		s = PART_STALE;
out:
	witness_put(w);
	strbuf_release(&err);
	return s;
}

static void open_partition(fuse_req_t req, struct fs *fs, struct node *n, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	struct handle *h = NULL;
	struct catalog *c;
	enum verdict v;
	int saverr;

	partition_init(&p);
	c = fs_catalog(fs, &err);
	if (!c || catalog_get_partition(c, n->path, &p, &err) < 0) {
		fs_log(fs, "open '%s': %s", n->path, err.buf);
		saverr = EIO;
		goto out_err;
	}
	v = decide(fs, c, n, &p);
	if (v != OPEN_WAIT || p.status == PART_LIVE) {
		/*
		 * Damage is rebuilt by the build a waiter starts (its plan
		 * checks again); noted here so that a failed rebuild says so.
		 */
		/* damage (ESTALE) is noted; a relinked file (EAGAIN) is rehashed by the plan */
		h = handle_open_data(fs, &p, &err);
		if (!h && errno == ESTALE)
			note_damage(fs, n, err.buf);
		if (h && v == OPEN_WAIT) {
			handle_free(h);
			h = NULL;
		}
	}
	if (!h) {
		waiter_add(fs, n, ino, req, fi);
		goto out;
	}
	if (v == OPEN_SERVE_REBUILD)
		waiter_queue(fs, n);
	fi->keep_cache = keep_cache(fs, n, p.published_run);
	reply_open_data(req, fs, n, ino, fi, h);
out:
	partition_release(&p);
	strbuf_release(&err);
	return;

out_err:
	partition_release(&p);
	strbuf_release(&err);
	fuse_reply_err(req, saverr);
}

static void open_text(fuse_req_t req, struct fs *fs, struct node *n,
		      struct fuse_file_info *fi)
{
	struct strbuf err = STRBUF_INIT;
	struct partition p;
	struct handle *h = handle_new(n->kind == INODE_CTL_EVENTS ? HANDLE_EVENTS : HANDLE_TEXT);
	struct catalog *c;
	int saverr, found;

	partition_init(&p);
	if (!(c = fs_catalog(fs, &err)))
		goto out_eio;
	switch (n->kind) {
	case INODE_MANIFEST:
	case INODE_ERROR:
		found = catalog_get_partition(c, n->part->path, &p, &err);
		if (found < 0)
			goto out_eio;
		/* The log may hold secrets: only the mount's owner sees its tail. */
		found = sidecar_render(fs, c, n, found ? &p : NULL,
				       fuse_req_ctx(req)->uid == fs->uid, &h->text, &err);
		if (found < 0)
			goto out_eio;
		if (!found) {
			saverr = ENOENT;
			goto out_err;
		}
		break;
	case INODE_CTL_STATUS:
		if (control_status(fs, c, &h->text, &err) < 0)
			goto out_eio;
		break;
	default:
		if (events_refresh(fs, c, &err) < 0)
			goto out_eio;
		break;
	}
	partition_release(&p);
	strbuf_release(&err);
	fi->direct_io = 1;
	reply_open_handle(req, fs, fi, h);
	return;

out_eio:
	fs_log(fs, "open '%s': %s", n->path, err.buf);
	saverr = EIO;
out_err:
	partition_release(&p);
	strbuf_release(&err);
	handle_free(h);
	fuse_reply_err(req, saverr);
}

void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_by_ino(fs, ino);
	int saverr;

	if (!n) {
		saverr = ENOENT;
		goto out_err;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		saverr = EROFS;
		goto out_err;
	}
	switch (n->kind) {
	case INODE_ROOT:
	case INODE_DIR:
	case INODE_CTL_DIR:
	case INODE_HISTORY:
		saverr = EISDIR;
		goto out_err;
	case INODE_PART:
		open_partition(req, fs, n, ino, fi);
		return;
	case INODE_VERSION:
	case INODE_VERSION_MANIFEST:
		history_open(req, fs, n, fi);
		return;
	case INODE_CTL_RELOAD:
		reload_open(req, fs, fi);
		return;
	default:
		open_text(req, fs, n, fi);
		return;
	}

out_err:
	fuse_reply_err(req, saverr);
}

void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_get(fs, fi->fh);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct catalog *c;
	int saverr = EBADF;

	if (!h)
		goto out_err;
	switch (h->kind) {
	case HANDLE_DATA:
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = h->fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		goto out;
	case HANDLE_TEXT:
		if ((size_t)off >= h->text.len)
			size = 0;
		else if (size > h->text.len - off)
			size = h->text.len - off;
		fuse_reply_buf(req, h->text.buf + (size ? off : 0), size);
		goto out;
	case HANDLE_EVENTS:
		if (!(c = fs_catalog(fs, &err)) || events_read(fs, c, off, size, &out, &err) < 0) {
			fs_log(fs, "read '%s/events': %s", CONTROL_DIR, err.buf);
			saverr = EIO;
			goto out_err;
		}
		fuse_reply_buf(req, out.buf, out.len);
		goto out;
	case HANDLE_DIR:
		saverr = EISDIR;
		break;
	}
out_err:
	fuse_reply_err(req, saverr);
out:
	if (h)
		handle_put(fs, h);
	strbuf_release(&out);
	strbuf_release(&err);
}

void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_get(fs, fi->fh);

	if (h) {
		backing_put(req, fs, h);
		handle_put(fs, h);
	}
	handle_unregister(fs, fi->fh);
	fuse_reply_err(req, 0);
}
