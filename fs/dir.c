#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/array.h"
#include "model/ref.h"
#include "fs/internal.h"

#define DIR_PAGE 512

/*
 * An open directory: the entries fetched so far, in the order they are
 * returned. The offset of entry i is i + 1, so any offset the kernel hands
 * back (also an earlier one) names the same entry for the life of the
 * handle. Later entries are fetched from the catalog page by page.
 */
struct dirent_rec {
	char *name;
	struct fuse_entry_param e;  /* e.ino 0 for "." and ".." */
};

struct dirh {
	pthread_mutex_t lock;
	struct node *dir;
	struct dirent_rec *ents;
	size_t nr, alloc;
	struct strvec extra;        /* sorted names known from the patterns */
	size_t extra_pos;
	char *after;                /* catalog cursor (a raw child name) */
	int catalog_done;
};

static void dir_add(struct dirh *d, const char *name, const struct fuse_entry_param *e)
{
	struct dirent_rec *r;

	ALLOC_GROW(d->ents, d->nr + 1, d->alloc);
	r = &d->ents[d->nr++];
	r->name = xstrdup(name);
	r->e = *e;
}

/*
 * The entry named name among the last ones added, or NULL. Entries come
 * in name order and a partition "x" sorts before the directory "x/" with
 * only names that start with "x" in between, so the look back stops at
 * the first name without that prefix.
 */
static struct dirent_rec *dir_recent(struct dirh *d, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = d->nr; i > 2; i--) {
		const char *other = d->ents[i - 1].name;

		if (strncmp(other, name, len))
			break;
		if (!other[len])
			return &d->ents[i - 1];
	}
	return NULL;
}

static void dir_add_dot(struct dirh *d, const char *name, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ino;
	e.attr.st_mode = S_IFDIR | 0555;
	dir_add(d, name, &e);
}

static void dir_add_node(struct fs *fs, struct catalog *c, struct dirh *d, const char *name,
			 enum inode_kind kind, const struct partition *p)
{
	struct strbuf path = STRBUF_INIT;
	struct fuse_entry_param e;
	struct dirent_rec *same;
	struct node *n;

	path_join(&path, d->dir->path, name);
	n = node_get(fs, path.buf, kind);
	if (kind == INODE_MANIFEST || kind == INODE_ERROR) {
		struct strbuf ref = STRBUF_INIT;

		strbuf_add(&ref, path.buf, path.len - strlen(ref_sidecar_suffix(name, NULL)));
		n->part = node_get(fs, ref.buf, INODE_PART);
		strbuf_release(&ref);
	}
	fs_fill_entry(fs, c, n, p, &e);
	if (kind == INODE_DIR && (same = dir_recent(d, name)))
		same->e = e;  /* a directory hides a partition of its name, once */
	else
		dir_add(d, name, &e);
	strbuf_release(&path);
}

static void dir_flush_extra(struct fs *fs, struct catalog *c, struct dirh *d, const char *upto)
{
	while (d->extra_pos < d->extra.nr) {
		const char *name = d->extra.v[d->extra_pos];

		int cmp = upto ? strcmp(name, upto) : -1;

		if (cmp > 0)
			break;
		if (!cmp) {
			d->extra_pos++;  /* the catalog lists it */
			continue;
		}
		if (d->dir->kind == INODE_CTL_DIR)
			dir_add_node(fs, c, d, name, !strcmp(name, "status") ?
				     INODE_CTL_STATUS : INODE_CTL_EVENTS, NULL);
		else if (!strcmp(name, CONTROL_DIR) && d->dir->kind == INODE_ROOT)
			dir_add_node(fs, c, d, name, INODE_CTL_DIR, NULL);
		else
			dir_add_node(fs, c, d, name, INODE_DIR, NULL);
		d->extra_pos++;
	}
}

static void dir_add_row(struct fs *fs, struct catalog *c, struct dirh *d, const char *name,
			const struct partition *p)
{
	struct strbuf side = STRBUF_INIT;

	switch (p->status) {
	case PART_LIVE:
		dir_add_node(fs, c, d, name, INODE_PART, p);
		strbuf_addf(&side, "%s%s", name, SIDECAR_MANIFEST);
		dir_add_node(fs, c, d, side.buf, INODE_MANIFEST, p);
		break;
	case PART_STALE:
	case PART_TAINTED:
	case PART_DAMAGED:
		dir_add_node(fs, c, d, name, INODE_PART, p);
		break;
	case PART_FAILED:
		/* the ref (reading it tries again) beside what went wrong */
		dir_add_node(fs, c, d, name, INODE_PART, p);
		strbuf_addf(&side, "%s%s", name, SIDECAR_ERROR);
		dir_add_node(fs, c, d, side.buf, INODE_ERROR, p);
		break;
	default:
		break;
	}
	strbuf_release(&side);
}

static int dir_add_partition(struct fs *fs, struct catalog *c, struct dirh *d,
			     const char *name, struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT;
	struct partition p;
	int found;

	partition_init(&p);
	path_join(&ref, d->dir->path, name);
	found = catalog_get_partition(c, ref.buf, &p, err);
	if (found > 0)
		dir_add_row(fs, c, d, name, &p);
	partition_release(&p);
	strbuf_release(&ref);
	return found < 0 ? -1 : 0;
}

/*
 * The catalog rows of a page's partitions in one range query (refs and
 * child names sort alike under one dataset); rows of deeper refs are
 * skipped, and names it misses fall back to point queries.
 */
static int dir_page_rows(struct catalog *c, struct dirh *d, const struct strvec *names,
			 struct partition_list *rows, struct strmap *by_name, struct strbuf *err)
{
	struct strbuf prefix = STRBUF_INIT, after = STRBUF_INIT;
	size_t plen;
	int ret = -1;

	if (!*d->dir->path)
		return 0;
	strbuf_addf(&prefix, "%s/", d->dir->path);
	plen = prefix.len;
	if (d->after)
		strbuf_addf(&after, "%s%s", prefix.buf, d->after);
	if (catalog_list_partitions(c, prefix.buf, d->after ? after.buf : NULL, names->nr + 16, 0,
				    rows, err) < 0)
		goto out;
	for (size_t i = 0; i < rows->nr; i++)
		if (!strchr(rows->items[i].ref + plen, '/'))
			strmap_put(by_name, rows->items[i].ref + plen, &rows->items[i]);
	ret = 0;
out:
	strbuf_release(&prefix);
	strbuf_release(&after);
	return ret;
}

/* Appends the next page of entries; sets catalog_done at the end. */
static int dir_fill(struct fs *fs, struct catalog *c, struct dirh *d, struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	struct strbuf bare = STRBUF_INIT;
	struct partition_list rows = PARTITION_LIST_INIT;
	struct strmap by_name = STRMAP_INIT;
	int ret = -1;

	if (catalog_list_children(c, d->dir->path, d->after, DIR_PAGE, &names, err) < 0)
		goto out;
	if (names.nr && dir_page_rows(c, d, &names, &rows, &by_name, err) < 0)
		goto out;
	for (size_t i = 0; i < names.nr; i++) {
		const char *name = names.v[i];
		size_t len = strlen(name);
		struct partition *row;

		strbuf_reset(&bare);
		strbuf_add(&bare, name, len && name[len - 1] == '/' ? len - 1 : len);
		dir_flush_extra(fs, c, d, bare.buf);
		if (len && name[len - 1] == '/')
			dir_add_node(fs, c, d, bare.buf, INODE_DIR, NULL);
		else if ((row = strmap_get(&by_name, name)))
			dir_add_row(fs, c, d, name, row);
		else if (dir_add_partition(fs, c, d, name, err) < 0)
			goto out;
	}
	if (names.nr) {
		free(d->after);
		d->after = xstrdup(names.v[names.nr - 1]);
	}
	if (names.nr < DIR_PAGE) {
		dir_flush_extra(fs, c, d, NULL);
		d->catalog_done = 1;
	}
	ret = 0;
out:
	strvec_clear(&names);
	strbuf_release(&bare);
	partition_list_release(&rows);
	strmap_clear(&by_name);
	return ret;
}

static void dir_extra(struct fs *fs, struct dirh *d)
{
	const struct graph *g = fs->opts->graph;
	struct strbuf seg = STRBUF_INIT;
	size_t depth = *d->dir->path ? ref_depth(d->dir->path) : 0;

	if (d->dir->kind == INODE_CTL_DIR) {
		strvec_push(&d->extra, "events");
		strvec_push(&d->extra, "status");
		return;
	}
	if (d->dir->kind == INODE_ROOT)
		strvec_push(&d->extra, CONTROL_DIR);
	for (size_t j = 0; j < g->jobs_nr; j++) {
		for (size_t k = 0; k < g->jobs[j].outputs_nr; k++) {
			const struct pattern *p = &g->jobs[j].outputs[k];

			if (pattern_match_dir(p, d->dir->path) != 2)
				continue;
			strbuf_reset(&seg);
			if (pattern_literal_segment(p, depth, &seg))
				strvec_push(&d->extra, seg.buf);
		}
	}
	strvec_sort(&d->extra, 1);
	strbuf_release(&seg);
}

void dirh_free(struct dirh *d)
{
	for (size_t i = 0; i < d->nr; i++)
		free(d->ents[i].name);
	free(d->ents);
	strvec_clear(&d->extra);
	free(d->after);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_by_ino(fs, ino);
	struct handle *h;
	struct dirh *d;
	int saverr;

	if (!n) {
		saverr = ENOENT;
		goto out_err;
	}
	if (!inode_kind_is_dir(n->kind)) {
		saverr = ENOTDIR;
		goto out_err;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		saverr = EROFS;
		goto out_err;
	}
	d = xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	strvec_init(&d->extra);
	d->dir = n;
	dir_add_dot(d, ".", n->ino);
	dir_add_dot(d, "..", n->kind == INODE_ROOT ? n->ino : FUSE_ROOT_ID);
	dir_extra(fs, d);
	if (n->kind == INODE_CTL_DIR)
		d->catalog_done = 1;
	h = handle_new(HANDLE_DIR);
	h->dir = d;
	reply_open_handle(req, fs, fi, h);
	return;

out_err:
	fuse_reply_err(req, saverr);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_get(fs, fi->fh);
	struct dirh *d = h ? h->dir : NULL;
	struct strbuf err = STRBUF_INIT;
	struct catalog *c = NULL;
	char *buf;
	size_t pos = 0;
	int saverr;

	if (!d) {
		if (h)
			handle_put(fs, h);
		fuse_reply_err(req, EBADF);
		return;
	}
	buf = xmalloc(size);
	pthread_mutex_lock(&d->lock);
	if (d->dir->kind == INODE_CTL_DIR && d->extra_pos < d->extra.nr)
		dir_flush_extra(fs, NULL, d, NULL);
	for (size_t i = off < 0 ? 0 : (size_t)off;; i++) {
		struct dirent_rec *r;
		size_t need;

		while (i >= d->nr && !d->catalog_done) {
			if (!c && !(c = fs_catalog(fs, &err)))
				goto out_unlock;
			if (dir_fill(fs, c, d, &err) < 0)
				goto out_unlock;
		}
		if (i >= d->nr)
			break;
		r = &d->ents[i];
		if (plus)
			need = fuse_add_direntry_plus(req, buf + pos, size - pos, r->name,
						      &r->e, i + 1);
		else
			need = fuse_add_direntry(req, buf + pos, size - pos, r->name,
						 &r->e.attr, i + 1);
		if (need > size - pos)
			break;
		pos += need;
	}
	pthread_mutex_unlock(&d->lock);
	fuse_reply_buf(req, buf, pos);
	free(buf);
	strbuf_release(&err);
	handle_put(fs, h);
	return;

out_unlock:
	pthread_mutex_unlock(&d->lock);
	fs_log(fs, "readdir '%s': %s", d->dir->path, err.buf);
	strbuf_release(&err);
	free(buf);
	handle_put(fs, h);
	saverr = EIO;
	fuse_reply_err(req, saverr);
}

void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle_unregister(fs_of(req), fi->fh);
	fuse_reply_err(req, 0);
}
