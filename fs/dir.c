#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/array.h"
#include "model/ref.h"
#include "fs/internal.h"
#include "planner/source.h"

#define DIR_PAGE 512      /* catalog children fetched per query */
#define DIR_CHUNK 256     /* domain values generated per step */
#define DIR_READ_AHEAD 8192  /* at most this many entries read ahead (about 1.5 MiB) */
/* d_ino of a listed name that has no node yet (libfuse's high-level API says the same) */
#define DIR_UNKNOWN_INO 0xffffffffu

/*
 * An open directory (docs/design/fs.md, "Listings"). Entry i of the
 * listing has offset i + 1. Entries are produced in order by a cursor
 * (phase, domain iterator, catalog page), and only a window of them is
 * kept: from the offset of the last request to the last entry produced
 * (at most one reply read ahead, dir_read_ahead), because the kernel asks
 * again from inside its last reply when the reader's buffer filled up.
 * An offset before the window starts the listing over and skips to it
 * (rewinddir, seekdir), so the handle's memory does not grow with the
 * directory.
 *
 * The listing: "." and "..", then the names of the domain streams
 * (space_streams; in domain order, directory streams first, a name that
 * an earlier stream listed is skipped), then in name order the
 * pattern-literal names and the catalog's children that no stream listed
 * and that lie in their job's space, with the sidecars of live and failed
 * partitions.
 */
struct dirent_rec {
	const char *name;           /* a node's name (kept until the mount ends), a literal, or owned */
	char *owned;                /* name when the entry owns it (a domain value), else NULL */
	struct fuse_entry_param e;  /* e.ino 0: no attributes (".", "..", domain names) */
};

enum dir_phase {
	DIR_DOTS,       /* "." and ".." next */
	DIR_STREAMS,    /* streams[stream] next */
	DIR_NAMES,      /* extra and catalog names next */
	DIR_DONE,
};

struct dirh {
	pthread_mutex_t lock;       /* guards everything below */
	struct node *dir;           /* the directory listed */
	struct node *self;          /* the directory opened: dir, or its mirror (INODE_MIRROR) */
	int mirror;                 /* self mirrors dir: only dir's sidecars and sub-directories */
	struct fs_graph *graph;     /* the graph it lists (a reference: streams point into it) */

	/* the window: entries [first, first + nr) */
	struct dirent_rec *ents;
	size_t nr, alloc;
	uint64_t first;

	/* the cursor */
	enum dir_phase phase;
	struct space_stream *streams;  /* set by opendir */
	size_t streams_nr;
	size_t stream;                 /* DIR_STREAMS: the stream being listed */
	struct space_iter it;          /* its values, while it_live */
	int it_live;
	struct strvec extra;        /* sorted names known from the patterns (opendir) */
	struct strmap extra_files;  /* those of them that are partitions (a source's files) */
	size_t extra_pos;
	char *after;                /* catalog cursor (a raw child name) */
	/* partitions listed that a directory of their name may follow (their nodes' names) */
	const char **open_parts;
	size_t open_nr, open_alloc;
	struct strbuf path;         /* scratch */
	struct history_cursor hist; /* the cursor of a history directory (INODE_HISTORY) */

	/* the reply being packed, kept for the next request (dir_reply_buf) */
	char *reply;
	size_t reply_alloc;
};

/* Appends an entry; name must outlive it (a node's name, a literal). */
static struct dirent_rec *dir_add(struct dirh *d, const char *name,
				  const struct fuse_entry_param *e)
{
	struct dirent_rec *r;

	ALLOC_GROW(d->ents, d->nr + 1, d->alloc);
	r = &d->ents[d->nr++];
	r->name = name;
	r->owned = NULL;
	r->e = *e;
	return r;
}

/* dir_add of a copy of name. */
static void dir_add_copy(struct dirh *d, const char *name, const struct fuse_entry_param *e)
{
	struct dirent_rec *r = dir_add(d, name, e);

	r->owned = xstrdup(name);
	r->name = r->owned;
}

/* Drops the entries before index upto from the window. */
static void dir_trim(struct dirh *d, uint64_t upto)
{
	size_t n = upto <= d->first ? 0 : upto - d->first < d->nr ? upto - d->first : d->nr;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		free(d->ents[i].owned);
	memmove(d->ents, d->ents + n, (d->nr - n) * sizeof(*d->ents));
	d->nr -= n;
	d->first += n;
}

/* Back to the start of the listing, with an empty window. */
static void dir_rewind(struct dirh *d)
{
	dir_trim(d, d->first + d->nr);
	d->first = 0;
	if (d->it_live)
		space_iter_release(&d->it);
	d->it_live = 0;
	d->stream = 0;
	d->extra_pos = 0;
	free(d->after);
	d->after = NULL;
	d->open_nr = 0;
	history_cursor_reset(&d->hist);
	d->phase = DIR_DOTS;
}

/*
 * The entry named name among the last ones in the window, or NULL.
 * Entries come in name order and a partition "x" sorts before the
 * directory "x/" with only names that start with "x" in between, so the
 * look back stops at the first name without that prefix.
 */
static struct dirent_rec *dir_recent(struct dirh *d, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = d->nr; i > 0; i--) {
		const char *other = d->ents[i - 1].name;

		if (strncmp(other, name, len))
			break;
		if (!other[len] && d->ents[i - 1].e.ino)
			return &d->ents[i - 1];
	}
	return NULL;
}

/* Whether one of the streams before `upto` lists name. */
static int dir_streamed(const struct dirh *d, size_t upto, const char *name)
{
	for (size_t i = 0; i < upto && i < d->streams_nr; i++)
		if (space_stream_has(&d->streams[i], name))
			return 1;
	return 0;
}

static void dir_add_dot(struct dirh *d, const char *name, fuse_ino_t ino)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ino;
	e.attr.st_mode = S_IFDIR | 0555;
	dir_add(d, name, &e);
}

/* Lists node n (a child of d's directory) with its attributes from row p (or none). */
static void dir_add_entry(struct fs *fs, struct catalog *c, struct dirh *d, struct node *n,
			  const struct partition *p)
{
	struct fuse_entry_param e;

	fs_fill_entry(fs, c, n, p, &e);
	dir_add(d, n->name, &e);
}

/* The node of d's child name (a directory of a mirror is a mirror). Uses d->path. */
static struct node *dir_child(struct fs *fs, struct dirh *d, const char *name,
			      enum inode_kind kind)
{
	strbuf_reset(&d->path);
	if (d->mirror && kind == INODE_DIR) {
		kind = INODE_MIRROR;
		strbuf_addstr(&d->path, MANIFESTS_DIR "/");
	}
	path_join(&d->path, d->dir->path, name);
	return node_get(fs, d->path.buf, kind);
}

/* Lists d's child name, not a partition (no row), as kind. */
static void dir_add_node(struct fs *fs, struct catalog *c, struct dirh *d, const char *name,
			 enum inode_kind kind)
{
	struct node *n = dir_child(fs, d, name, kind);
	struct fuse_entry_param e;
	struct dirent_rec *same;

	fs_fill_entry(fs, c, n, NULL, &e);
	if (kind == INODE_DIR && !d->mirror && (same = dir_recent(d, n->name)))
		same->e = e;  /* a directory hides a partition of its name, once */
	else
		dir_add(d, n->name, &e);
}

/*
 * A name of a domain stream: no node is made and no attributes are given
 * (readdirplus leaves the lookup to the kernel), so listing a million
 * names keeps no memory; d_ino is the node's if the name has one.
 */
static void dir_add_streamed(struct fs *fs, struct dirh *d, const char *name, int is_dir)
{
	struct fuse_entry_param e;
	struct node *n;

	if (d->mirror && !is_dir)
		return;  /* a partition: no sidecar without a catalog row */
	strbuf_reset(&d->path);
	if (d->mirror)
		strbuf_addstr(&d->path, MANIFESTS_DIR "/");
	path_join(&d->path, d->dir->path, name);
	n = node_by_path(fs, d->path.buf);
	memset(&e, 0, sizeof(e));
	e.attr.st_ino = n ? n->ino : DIR_UNKNOWN_INO;
	e.attr.st_mode = is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
	if (n)
		dir_add(d, n->name, &e);
	else
		dir_add_copy(d, name, &e);
}

/*
 * A name of .databuild/. manifests/ is listed only under -o
 * sidecars=hidden: beside listed sidecars, find and grep -r over the
 * mount would read each one twice (it is looked up by name either way).
 */
static void dir_add_control(struct fs *fs, struct catalog *c, struct dirh *d, const char *name)
{
	if (!strcmp(name, "status"))
		dir_add_node(fs, c, d, name, INODE_CTL_STATUS);
	else if (!strcmp(name, "events"))
		dir_add_node(fs, c, d, name, INODE_CTL_EVENTS);
	else if (fs->opts->sidecars_hidden)
		dir_add_node(fs, c, d, name, INODE_MIRROR);
}

/* The pattern-literal names up to upto (all with NULL) that no stream lists. */
static void dir_flush_extra(struct fs *fs, struct catalog *c, struct dirh *d, const char *upto)
{
	while (d->extra_pos < d->extra.nr) {
		const char *name = d->extra.v[d->extra_pos];

		int cmp = upto ? strcmp(name, upto) : -1;

		if (cmp > 0)
			break;
		d->extra_pos++;
		if (!cmp || dir_streamed(d, d->streams_nr, name))
			continue;  /* the catalog or a stream lists it */
		if (strmap_contains(&d->extra_files, name))
			dir_add_streamed(fs, d, name, 0);  /* a source's file, not imported yet */
		else if (d->dir->kind == INODE_CTL_DIR)
			dir_add_control(fs, c, d, name);
		else if (!strcmp(name, CONTROL_DIR) && d->dir->kind == INODE_ROOT)
			dir_add_node(fs, c, d, name, INODE_CTL_DIR);
		else
			dir_add_node(fs, c, d, name, INODE_DIR);
	}
}

/*
 * A catalog row: the partition (unless a stream listed it, or d is a
 * mirror) and its sidecar (unless hidden by -o sidecars=hidden outside
 * the mirror). 1 if the partition itself was listed here (*as: its name,
 * which lives as long as the mount).
 */
static int dir_add_row(struct fs *fs, struct catalog *c, struct dirh *d, const char *name,
		       const struct partition *p, int streamed, const char **as)
{
	enum inode_kind kind = INODE_MANIFEST;
	const char *suffix = NULL;
	int listed = !streamed && !d->mirror, side_listed;
	struct node *part, *side;

	switch (p->status) {
	case PART_LIVE:
		suffix = SIDECAR_MANIFEST;
		break;
	case PART_STALE:
	case PART_TAINTED:
	case PART_DAMAGED:
		break;
	case PART_FAILED:
		/* the ref (reading it tries again) beside what went wrong */
		suffix = SIDECAR_ERROR;
		kind = INODE_ERROR;
		break;
	default:
		return 0;
	}
	side_listed = suffix && (d->mirror || !fs->opts->sidecars_hidden);
	if (!listed && !side_listed)
		return 0;
	part = dir_child(fs, d, name, INODE_PART);
	if (listed) {
		dir_add_entry(fs, c, d, part, p);
		*as = part->name;
	}
	if (side_listed) {
		strbuf_reset(&d->path);
		strbuf_addstr(&d->path, part->path);
		strbuf_addstr(&d->path, suffix);
		side = node_get(fs, d->path.buf, kind);
		side->part = part;
		dir_add_entry(fs, c, d, side, p);
	}
	return listed;
}

/* dir_add_row of name's row, read alone: 1 listed, 0 not, -1 with err. */
static int dir_add_partition(struct fs *fs, struct catalog *c, struct dirh *d,
			     const char *name, int streamed, const char **as, struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT;
	struct partition p;
	int found;

	partition_init(&p);
	path_join(&ref, d->dir->path, name);
	found = catalog_get_partition(c, ref.buf, &p, err);
	if (found > 0)
		found = dir_add_row(fs, c, d, name, &p, streamed, as);
	partition_release(&p);
	strbuf_release(&ref);
	return found;
}

/*
 * The catalog rows of a page's partitions, read in one range query (refs
 * and child names sort alike under one dataset). Rows of deeper refs are
 * skipped; names it misses fall back to point queries.
 */
struct page_rows {
	struct partition_list list;
	size_t plen;            /* length of the directory's prefix "dir/" */
	size_t next;            /* the row the next child usually has */
	struct strmap by_name;  /* every row by child name, made on the first miss */
	int mapped;
};
#define PAGE_ROWS_INIT { .list = PARTITION_LIST_INIT, .by_name = STRMAP_INIT }

static void page_rows_release(struct page_rows *pr)
{
	partition_list_release(&pr->list);
	strmap_clear(&pr->by_name);
}

static int dir_page_rows(struct catalog *c, struct dirh *d, const struct strvec *names,
			 struct page_rows *pr, struct strbuf *err)
{
	struct strbuf prefix = STRBUF_INIT, after = STRBUF_INIT;
	int ret = -1;

	if (!*d->dir->path)
		return 0;
	strbuf_addf(&prefix, "%s/", d->dir->path);
	pr->plen = prefix.len;
	if (d->after)
		strbuf_addf(&after, "%s%s", prefix.buf, d->after);
	if (catalog_list_partitions(c, prefix.buf, d->after ? after.buf : NULL, names->nr + 16, 0,
				    &pr->list, err) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&prefix);
	strbuf_release(&after);
	return ret;
}

/*
 * The row of the child partition name, or NULL: the children come in the
 * rows' order, so it is usually the next row (no hashing); else looked up.
 */
static struct partition *page_row(struct page_rows *pr, const char *name)
{
	while (pr->next < pr->list.nr) {
		struct partition *p = &pr->list.items[pr->next];
		const char *rest = p->ref + pr->plen;

		if (strchr(rest, '/')) {
			pr->next++;
			continue;
		}
		if (strcmp(rest, name))
			break;
		pr->next++;
		return p;
	}
	if (!pr->mapped) {
		for (size_t i = 0; i < pr->list.nr; i++)
			if (!strchr(pr->list.items[i].ref + pr->plen, '/'))
				strmap_put(&pr->by_name, pr->list.items[i].ref + pr->plen,
					   &pr->list.items[i]);
		pr->mapped = 1;
	}
	return strmap_get(&pr->by_name, name);
}

/*
 * One catalog child: a directory, or a partition with its row. Names a
 * stream listed keep only their sidecars; names outside their job's space
 * are not listed (a lookup of them is ENOENT).
 */
static int dir_add_child(struct fs *fs, struct catalog *c, struct dirh *d, const char *bare,
			 int is_dir, struct page_rows *pr, struct strbuf *err)
{
	int streamed = dir_streamed(d, d->streams_nr, bare), shown, hides = 0, listed;
	struct partition *row;
	size_t blen = strlen(bare);
	const char *as = NULL;

	/*
	 * A partition "x" listed earlier is hidden by the directory "x/";
	 * names in between all start with "x", so a listed partition that is
	 * not a prefix of this name can never be followed by its directory.
	 */
	while (d->open_nr) {
		const char *top = d->open_parts[d->open_nr - 1];
		size_t tlen = strlen(top);

		if (tlen <= blen && !strncmp(top, bare, tlen) && (tlen < blen || is_dir)) {
			hides = tlen == blen;
			break;
		}
		d->open_nr--;
	}
	if (is_dir && streamed)
		return 0;
	strbuf_reset(&d->path);
	path_join(&d->path, d->dir->path, bare);
	shown = streamed ? SPACE_IN : is_dir ? space_dir(d->graph, d->path.buf, err) :
		space_ref(d->graph, d->path.buf, err);
	if (shown == SPACE_ERROR)
		return -1;
	if (shown == SPACE_OUTSIDE)
		return 0;
	if (is_dir) {
		if (!hides || dir_recent(d, bare))
			dir_add_node(fs, c, d, bare, INODE_DIR);
		/* else the partition went out as a file already: listed once */
		return 0;
	}
	row = page_row(pr, bare);
	listed = row ? dir_add_row(fs, c, d, bare, row, streamed, &as) :
		dir_add_partition(fs, c, d, bare, streamed, &as, err);
	if (listed < 0)
		return -1;
	if (listed) {
		ALLOC_GROW(d->open_parts, d->open_nr + 1, d->open_alloc);
		d->open_parts[d->open_nr++] = as;
	}
	return 0;
}

/* Appends the next page of catalog children; DIR_DONE after the last. */
static int dir_fill(struct fs *fs, struct catalog *c, struct dirh *d, struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	struct strbuf bare = STRBUF_INIT;
	struct page_rows rows = PAGE_ROWS_INIT;
	int ret = -1;

	if (catalog_list_children(c, d->dir->path, d->after, DIR_PAGE, &names, err) < 0)
		goto out;
	if (names.nr && dir_page_rows(c, d, &names, &rows, err) < 0)
		goto out;
	for (size_t i = 0; i < names.nr; i++) {
		const char *name = names.v[i];
		size_t len = strlen(name);
		int is_dir = len && name[len - 1] == '/';

		strbuf_reset(&bare);
		strbuf_add(&bare, name, is_dir ? len - 1 : len);
		dir_flush_extra(fs, c, d, bare.buf);
		if (dir_add_child(fs, c, d, bare.buf, is_dir, &rows, err) < 0)
			goto out;
	}
	if (names.nr) {
		free(d->after);
		d->after = xstrdup(names.v[names.nr - 1]);
	}
	if (names.nr < DIR_PAGE) {
		dir_flush_extra(fs, c, d, NULL);
		d->phase = DIR_DONE;
	}
	ret = 0;
out:
	strvec_clear(&names);
	strbuf_release(&bare);
	page_rows_release(&rows);
	return ret;
}

/* Appends up to DIR_CHUNK names of the current stream; moves to the next at its end. */
static int dir_fill_stream(struct fs *fs, struct dirh *d, struct strbuf *err)
{
	const struct space_stream *s;

	if (d->stream >= d->streams_nr) {
		d->phase = DIR_NAMES;
		return 0;
	}
	s = &d->streams[d->stream];
	if (!d->it_live) {
		if (space_iter_init_below(&d->it, s->sp->job, s->sp->pattern, d->dir->path, err) < 0)
			return -1;
		d->it_live = 1;
	}
	for (size_t k = 0; k < DIR_CHUNK; k++) {
		const char *name = space_iter_next(&d->it);

		if (!name) {
			space_iter_release(&d->it);
			d->it_live = 0;
			d->stream++;
			break;
		}
		if (!d->stream || !dir_streamed(d, d->stream, name))
			dir_add_streamed(fs, d, name, s->is_dir);
	}
	return 0;
}

/* history_add_fn: lists a node of .databuild/history (its name lives as long as the mount). */
static void dir_add_history(void *ctx, struct node *n, const struct fuse_entry_param *e)
{
	dir_add(ctx, n->name, e);
}

/* Appends the next entries of the listing (none once DIR_DONE). */
static int dir_step(struct fs *fs, struct catalog **c, struct dirh *d, struct strbuf *err)
{
	switch (d->phase) {
	case DIR_DOTS:
		dir_add_dot(d, ".", d->self->ino);
		dir_add_dot(d, "..", d->self->kind == INODE_ROOT ? d->self->ino : FUSE_ROOT_ID);
		d->phase = DIR_STREAMS;
		return 0;
	case DIR_STREAMS:
		return dir_fill_stream(fs, d, err);
	case DIR_NAMES:
		if (d->dir->kind == INODE_CTL_DIR) {
			dir_flush_extra(fs, NULL, d, NULL);
			d->phase = DIR_DONE;
			return 0;
		}
		if (!*c && !(*c = fs_catalog(fs, err)))
			return -1;
		if (d->dir->kind == INODE_HISTORY) {
			int done = history_list_step(fs, *c, d->dir, &d->hist, dir_add_history, d, err);

			if (done > 0)
				d->phase = DIR_DONE;
			return done < 0 ? -1 : 0;
		}
		return dir_fill(fs, *c, d, err);
	case DIR_DONE:
		break;
	}
	return 0;
}

/* The literal names of the patterns below d's directory (in their space). */
/*
 * A source's domain is what exists: the names below d of the files of
 * open-ended source jobs whose pattern places d (planner/source.h; one
 * directory read per placeholder segment, at opendir).
 */
static int dir_source_names(struct dirh *d, const struct job *j, const struct pattern *p,
			    size_t depth, struct strbuf *err)
{
	struct strvec refs = STRVEC_INIT;
	size_t dlen = strlen(d->dir->path);
	int ret = -1;

	if (source_discover(j, &refs, err) < 0)
		goto out;
	for (size_t i = 0; i < refs.nr; i++) {
		const char *rest = refs.v[i];
		size_t n;

		if (dlen) {
			if (strncmp(rest, d->dir->path, dlen) || rest[dlen] != '/')
				continue;
			rest += dlen + 1;
		}
		n = strcspn(rest, "/");
		strbuf_reset(&d->path);
		strbuf_add(&d->path, rest, n);
		strvec_push(&d->extra, d->path.buf);
		if (depth + 1 == p->depth)
			strmap_put(&d->extra_files, d->path.buf, (void *)1);
	}
	ret = 0;
out:
	strvec_clear(&refs);
	return ret;
}

static int dir_extra(struct dirh *d, struct strbuf *err)
{
	const struct graph *g = d->graph->graph;
	struct strbuf seg = STRBUF_INIT;
	size_t depth = *d->dir->path ? ref_depth(d->dir->path) : 0;
	int ret = -1;

	if (d->dir->kind == INODE_HISTORY)
		return 0;  /* history.c lists it all */
	if (d->dir->kind == INODE_CTL_DIR) {
		strvec_push(&d->extra, "events");
		strvec_push(&d->extra, "manifests");
		strvec_push(&d->extra, "status");
		return 0;
	}
	if (d->dir->kind == INODE_ROOT && !d->mirror)
		strvec_push(&d->extra, CONTROL_DIR);
	for (size_t j = 0; j < g->jobs_nr; j++) {
		for (size_t k = 0; k < g->jobs[j].outputs_nr; k++) {
			const struct pattern *p = &g->jobs[j].outputs[k];
			int shown, place = pattern_match_dir(p, d->dir->path);

			if (place && job_is_source(&g->jobs[j]) && !g->jobs[j].vars_nr &&
			    dir_source_names(d, &g->jobs[j], p, depth, err) < 0)
				goto out;
			if (place != 2)
				continue;
			strbuf_reset(&seg);
			if (!pattern_literal_segment(p, depth, &seg))
				continue;
			strbuf_reset(&d->path);
			path_join(&d->path, d->dir->path, seg.buf);
			shown = space_dir(d->graph, d->path.buf, err);
			if (shown == SPACE_ERROR)
				goto out;
			if (shown != SPACE_OUTSIDE)
				strvec_push(&d->extra, seg.buf);
		}
	}
	strvec_sort(&d->extra, 1);
	ret = 0;
out:
	strbuf_release(&seg);
	return ret;
}

void dirh_free(struct dirh *d)
{
	dir_rewind(d);
	free(d->ents);
	free(d->open_parts);
	history_cursor_release(&d->hist);
	if (d->reply)
		munmap(d->reply, d->reply_alloc);
	free(d->streams);
	strvec_clear(&d->extra);
	strmap_clear(&d->extra_files);
	strbuf_release(&d->path);
	fs_graph_put(d->graph);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* The directory n lists: n itself, or the one a mirror node stands for. */
static struct node *dir_listed(struct fs *fs, struct node *n)
{
	const char *base;

	if (n->kind != INODE_MIRROR)
		return n;
	base = mirror_base(n);
	return *base ? node_get(fs, base, INODE_DIR) : node_by_ino(fs, FUSE_ROOT_ID);
}

void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_by_ino(fs, ino);
	struct strbuf err = STRBUF_INIT;
	struct dirh *d = NULL;
	struct handle *h;
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
	strmap_init(&d->extra_files);
	strbuf_init(&d->path, 0);
	d->self = n;
	d->dir = dir_listed(fs, n);
	d->mirror = d->dir != n;
	d->graph = fs_graph_get(fs);
	d->phase = DIR_DOTS;
	if ((d->dir->kind != INODE_CTL_DIR && d->dir->kind != INODE_HISTORY &&
	     space_streams(d->graph, d->dir->path, &d->streams, &d->streams_nr, &err) < 0) ||
	    dir_extra(d, &err) < 0) {
		fs_log(fs, "opendir '%s': %s", n->path, err.buf);
		saverr = EIO;
		goto out_err;
	}
	h = handle_new(HANDLE_DIR);
	h->dir = d;
	strbuf_release(&err);
	reply_open_handle(req, fs, fi, h);
	return;

out_err:
	if (d)
		dirh_free(d);
	strbuf_release(&err);
	fuse_reply_err(req, saverr);
}

/*
 * Read-ahead after a reply of n entries that ended before entry i: while
 * the reader takes in this reply, produce the catalog entries its next
 * request will want (as many as this reply held, at most DIR_READ_AHEAD:
 * a plain readdir reply of 1 MiB holds 30,000 names), so that the daemon's
 * work overlaps the reader's instead of adding to it. Domain streams are
 * not read ahead: they are cheap to make and keep no nodes.
 */
static int dir_read_ahead(struct fs *fs, struct catalog **c, struct dirh *d, uint64_t i,
			  size_t n, struct strbuf *err)
{
	if (n > DIR_READ_AHEAD)
		n = DIR_READ_AHEAD;
	while (n && d->phase == DIR_NAMES && d->first + d->nr < i + n)
		if (dir_step(fs, c, d, err) < 0)
			return -1;
	return 0;
}

/*
 * Makes d->reply hold size bytes. It is mapped, not malloc'd: a buffer of
 * up to 1 MiB that lives as long as the handle would stay in a worker
 * thread's malloc arena after releasedir, and the daemon would keep a
 * megabyte per thread that ever listed a directory.
 */
static int dir_reply_buf(struct dirh *d, size_t size)
{
	void *p;

	if (size <= d->reply_alloc)
		return 0;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (d->reply)
		munmap(d->reply, d->reply_alloc);
	d->reply = p;
	d->reply_alloc = size;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_get(fs, fi->fh);
	struct dirh *d = h ? h->dir : NULL;
	struct strbuf err = STRBUF_INIT;
	struct catalog *c = NULL;
	uint64_t start = off < 0 ? 0 : (uint64_t)off, i = start;
	char *buf;
	size_t pos = 0;
	int saverr;

	if (!d) {
		if (h)
			handle_put(fs, h);
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (dir_reply_buf(d, size) < 0) {
		strbuf_addf(&err, "cannot map a reply of %zu bytes: %s", size, strerror(errno));
		saverr = ENOMEM;
		goto out_unlock;
	}
	buf = d->reply;
	if (i < d->first)
		dir_rewind(d);
	dir_trim(d, i);
	for (;;) {
		struct dirent_rec *r;
		size_t need;

		while (i >= d->first + d->nr && d->phase != DIR_DONE) {
			dir_trim(d, i);
			if (dir_step(fs, &c, d, &err) < 0) {
				saverr = EIO;
				goto out_unlock;
			}
		}
		if (i >= d->first + d->nr)
			break;
		r = &d->ents[i - d->first];
		if (plus)
			need = fuse_add_direntry_plus(req, buf + pos, size - pos, r->name,
						      &r->e, (off_t)(i + 1));
		else
			need = fuse_add_direntry(req, buf + pos, size - pos, r->name,
						 &r->e.attr, (off_t)(i + 1));
		if (need > size - pos)
			break;
		pos += need;
		i++;
	}
	fuse_reply_buf(req, buf, pos);
	if (dir_read_ahead(fs, &c, d, i, (size_t)(i - start), &err) < 0) {
		fs_log(fs, "readdir '%s' (read-ahead): %s", d->dir->path, err.buf);
		dir_rewind(d);  /* the next request starts over, and answers the error */
	}
	pthread_mutex_unlock(&d->lock);
	strbuf_release(&err);
	handle_put(fs, h);
	return;

out_unlock:
	dir_rewind(d);  /* a step may be half made: the next request starts over */
	pthread_mutex_unlock(&d->lock);
	fs_log(fs, "readdir '%s': %s", d->dir->path, err.buf);
	strbuf_release(&err);
	handle_put(fs, h);
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
