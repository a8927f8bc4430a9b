#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/json.h"
#include "model/ref.h"
#include "store/object.h"
#include "fs/internal.h"

/*
 * .databuild/history (docs/filesystem.md, "History"). Node paths:
 *   .databuild/history                      the top (INODE_HISTORY)
 *   .databuild/history/D                    a dataset directory or a ref (INODE_HISTORY)
 *   .databuild/history/REF/NAME             a version (INODE_VERSION)
 *   .databuild/history/REF/NAME.manifest.json  its manifest (INODE_VERSION_MANIFEST)
 * A version is found again from its node's path (ref and name) on every
 * request: nothing about it is kept in the node, so a version removed by
 * gc is simply gone (ENOENT).
 */

#define HISTORY_PAGE 512   /* catalog children fetched per listing step */
#define HISTORY_TIMEOUT 1.0

const char *history_base(const struct node *n)
{
	const char *rest = n->path + strlen(HISTORY_DIR);

	return *rest == '/' ? rest + 1 : rest;
}

/* Whether name is a version name exactly as catalog_format_version_name prints it. */
static int version_name(const char *name, int64_t *us)
{
	struct strbuf canon = STRBUF_INIT;
	int ok;

	ok = !catalog_parse_version_name(name, us);
	if (ok) {
		catalog_format_version_name(*us, &canon);
		ok = !strcmp(canon.buf, name);
	}
	strbuf_release(&canon);
	return ok;
}

/* The version of ref named name (its time name only, never a run id): 1, 0 none, -1. */
static int find_version(struct catalog *c, const char *ref, const char *name,
			struct version *v, struct strbuf *err)
{
	int64_t us;
	int found;

	if (!*ref || !version_name(name, &us))
		return 0;
	found = catalog_get_version(c, ref, name, v, err);
	if (found > 0 && v->time_us != us)
		found = 0;
	return found;
}

int history_render_manifest(struct catalog *c, const char *run_id, struct strbuf *out,
			    struct strbuf *err)
{
	struct manifest m;
	cJSON *json;
	int found;

	manifest_init(&m);
	found = catalog_get_manifest(c, run_id, &m, err);
	if (found > 0) {
		json = manifest_to_json(&m);
		json_print_pretty(json, out);
		strbuf_addch(out, '\n');
		cJSON_Delete(json);
	}
	manifest_release(&m);
	return found;
}

/*
 * The size of run_id's manifest text: 1 (*size set), 0 none, -1 err. The
 * text depends on the run alone, so the size is kept in the mount's cache
 * of manifest sizes, which the sidecars R.manifest.json share.
 */
static int manifest_size(struct fs *fs, struct catalog *c, const char *run_id,
			 int64_t *size, struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	uintptr_t cached;
	int found;

	pthread_mutex_lock(&fs->wait_lock);
	cached = (uintptr_t)strmap_get(&fs->manifest_sizes, run_id);
	pthread_mutex_unlock(&fs->wait_lock);
	if (cached) {
		*size = (int64_t)cached - 1;
		return 1;
	}
	found = history_render_manifest(c, run_id, &text, err);
	if (found > 0) {
		*size = text.len;
		pthread_mutex_lock(&fs->wait_lock);
		strmap_put(&fs->manifest_sizes, run_id, (void *)(uintptr_t)(text.len + 1));
		pthread_mutex_unlock(&fs->wait_lock);
	}
	strbuf_release(&text);
	return found;
}

static void set_size_time(struct stat *st, int64_t size, int64_t us)
{
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	if (us > 0) {
		st->st_mtim.tv_sec = us / 1000000;
		st->st_mtim.tv_nsec = (us % 1000000) * 1000;
		st->st_ctim = st->st_atim = st->st_mtim;
	}
}

/* Entry of version node n (kind INODE_VERSION or _MANIFEST) of v: 1, 0 none (no manifest), -1. */
static int version_entry(struct fs *fs, struct catalog *c, struct node *n,
			 const struct version *v, struct fuse_entry_param *e, struct strbuf *err)
{
	int64_t size = v->size < 0 ? 0 : v->size;

	if (n->kind == INODE_VERSION_MANIFEST) {
		int found = manifest_size(fs, c, v->run_id, &size, err);

		if (found <= 0)
			return found;
	}
	fs_fill_entry(fs, c, n, NULL, e);
	set_size_time(&e->attr, size, v->time_us);
	return 1;
}

/*
 * The ref and the version name of version node n (INODE_VERSION or
 * _MANIFEST) into ref and name: 0, or -1 when its path holds none.
 */
static int version_of(const struct node *n, struct strbuf *ref, struct strbuf *name)
{
	const char *base = history_base(n), *slash = strrchr(base, '/');
	size_t stem_len = strlen(n->name);

	if (!slash)
		return -1;
	strbuf_add(ref, base, slash - base);
	if (n->kind == INODE_VERSION_MANIFEST && !ref_sidecar_suffix(n->name, &stem_len))
		return -1;
	strbuf_add(name, n->name, stem_len);
	return 0;
}

/* The version node n stands for: 1 (v filled), 0 gone, -1 with err. */
static int node_version(struct catalog *c, const struct node *n, struct version *v,
			struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT, name = STRBUF_INIT;
	int found = 0;

	if (!version_of(n, &ref, &name))
		found = find_version(c, ref.buf, name.buf, v, err);
	strbuf_release(&ref);
	strbuf_release(&name);
	return found;
}

/*
 * Whether path (a valid ref prefix) is a directory of the history: the
 * catalog holds partitions below it, versions below it (of partitions
 * removed since), or it is a partition with versions (published, or
 * removed with its versions kept). 1, 0, -1 with err.
 */
static int history_is_dir(struct catalog *c, const char *path, struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	struct version_list vs = VERSION_LIST_INIT;
	struct strbuf prefix = STRBUF_INIT;
	struct partition p;
	int ret = -1, found;

	partition_init(&p);
	if (catalog_list_children(c, path, NULL, 1, &names, err) < 0)
		goto out;
	if (names.nr) {
		ret = 1;
		goto out;
	}
	found = catalog_get_partition(c, path, &p, err);
	if (found < 0)
		goto out;
	if (found && p.published_run) {
		ret = 1;
		goto out;
	}
	strbuf_addf(&prefix, "%s/", path);
	if (catalog_page_versions(c, prefix.buf, NULL, 0, 1, &vs, err) < 0)
		goto out;
	if (!vs.nr && catalog_list_versions(c, path, &vs, err) < 0)
		goto out;
	ret = vs.nr > 0;
out:
	strvec_clear(&names);
	version_list_release(&vs);
	strbuf_release(&prefix);
	partition_release(&p);
	return ret;
}

/* The history node of directory path (a ref prefix, "" for the top). */
static struct node *history_dir_node(struct fs *fs, const char *path)
{
	struct strbuf full = STRBUF_INIT;
	struct node *n;

	strbuf_addstr(&full, HISTORY_DIR);
	if (*path)
		strbuf_addf(&full, "/%s", path);
	n = node_get(fs, full.buf, INODE_HISTORY);
	strbuf_release(&full);
	return n;
}

int history_resolve(struct fs *fs, struct catalog *c, struct node *dir, const char *name,
		    struct fuse_entry_param *e, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, stem = STRBUF_INIT, child = STRBUF_INIT;
	const char *base = history_base(dir), *suffix;
	struct version v;
	size_t stem_len;
	int ret = -1, found, isdir;

	version_init(&v);
	suffix = ref_sidecar_suffix(name, &stem_len);
	if (suffix && !strcmp(suffix, SIDECAR_MANIFEST))
		strbuf_add(&stem, name, stem_len);
	else
		strbuf_addstr(&stem, name);
	found = find_version(c, base, stem.buf, &v, err);
	if (found < 0)
		goto out;
	if (found) {
		strbuf_addf(&child, "%s/%s", dir->path, name);
		ret = version_entry(fs, c, node_get(fs, child.buf, stem.len < strlen(name) ?
						    INODE_VERSION_MANIFEST : INODE_VERSION),
				    &v, e, err) < 0 ? -1 : 0;
		goto out;
	}
	path_join(&path, base, name);
	if (ref_validate(path.buf, NULL) < 0) {
		ret = 0;
		goto out;
	}
	isdir = history_is_dir(c, path.buf, err);
	if (isdir < 0)
		goto out;
	if (isdir)
		fs_fill_entry(fs, c, history_dir_node(fs, path.buf), NULL, e);
	ret = 0;
out:
	version_release(&v);
	strbuf_release(&path);
	strbuf_release(&stem);
	strbuf_release(&child);
	return ret;
}

int history_attr(struct fs *fs, struct catalog *c, struct node *n,
		 struct fuse_entry_param *e, struct strbuf *err)
{
	struct version v;
	int found, ret = -1;

	version_init(&v);
	if (n->kind == INODE_HISTORY) {
		fs_fill_entry(fs, c, n, NULL, e);
		ret = 0;
		goto out;
	}
	found = node_version(c, n, &v, err);
	if (found > 0)
		found = version_entry(fs, c, n, &v, e, err);
	if (found < 0)
		goto out;
	if (!found) {
		memset(e, 0, sizeof(*e));
		e->entry_timeout = HISTORY_TIMEOUT;
	}
	ret = 0;
out:
	version_release(&v);
	return ret;
}

/*
 * A data handle on v's object: opened beneath the store without following
 * links, with a shared flock held for as long as the handle is open (gc
 * removes only objects it can lock exclusively). NULL with errno (ENOENT:
 * gc is removing it; EIO: missing or damaged, logged).
 */
static struct handle *open_object(struct fs *fs, const char *path, const struct version *v)
{
	struct handle *h = NULL;
	struct stat st;
	int fd, saverr;

	fd = store_open_object(fs->opts->store, v->sha256, O_RDONLY);
	if (fd < 0) {
		fs_log(fs, "open '%s': its object %s: %s", path, v->sha256, strerror(errno));
		saverr = EIO;
		goto out;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		/* gc holds it exclusively: the version is being removed */
		saverr = errno == EWOULDBLOCK ? ENOENT : EIO;
		if (saverr == EIO)
			fs_log(fs, "open '%s': flock of object %s: %s", path, v->sha256,
			       strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != v->size) {
		fs_log(fs, "open '%s': object %s is damaged (not a file of %lld bytes), not served",
		       path, v->sha256, (long long)v->size);
		saverr = EIO;
		goto out;
	}
	h = handle_new(HANDLE_DATA);
	h->fd = fd;
	fd = -1;
	saverr = 0;
out:
	if (fd >= 0)
		close(fd);
	errno = saverr;
	return h;
}

void history_open(fuse_req_t req, struct fs *fs, struct node *n, struct fuse_file_info *fi)
{
	struct strbuf err = STRBUF_INIT, text = STRBUF_INIT;
	struct handle *h = NULL;
	struct version v;
	struct catalog *c;
	int saverr = EIO, found;

	version_init(&v);
	c = fs_catalog(fs, &err);
	if (!c || (found = node_version(c, n, &v, &err)) < 0)
		goto out_log;
	if (found && n->kind == INODE_VERSION_MANIFEST &&
	    (found = history_render_manifest(c, v.run_id, &text, &err)) < 0)
		goto out_log;
	if (!found) {
		saverr = ENOENT;
		goto out_err;
	}
	if (n->kind == INODE_VERSION) {
		h = open_object(fs, n->path, &v);
		if (!h) {
			saverr = errno;
			goto out_err;
		}
		fi->keep_cache = 1;  /* a version's bytes never change */
	} else {
		h = handle_new(HANDLE_TEXT);
		strbuf_addbuf(&h->text, &text);
		fi->direct_io = 1;
	}
	version_release(&v);
	strbuf_release(&err);
	strbuf_release(&text);
	if (n->kind == INODE_VERSION)
		reply_open_data(req, fs, n, n->ino, fi, h);
	else
		reply_open_handle(req, fs, fi, h);
	return;

out_log:
	fs_log(fs, "open '%s': %s", n->path, err.buf);
out_err:
	version_release(&v);
	strbuf_release(&err);
	strbuf_release(&text);
	fuse_reply_err(req, saverr);
}

void history_cursor_reset(struct history_cursor *hc)
{
	hc->phase = 0;
	free(hc->after);
	hc->after = NULL;
	hc->open_nr = 0;
}

void history_cursor_release(struct history_cursor *hc)
{
	history_cursor_reset(hc);
	free(hc->open);
	hc->open = NULL;
	hc->open_alloc = 0;
}

/* Phase 0: every version of dir's ref (a ref has a few), each with its manifest. */
static int list_versions(struct fs *fs, struct catalog *c, struct node *dir,
			 history_add_fn *add, void *ctx, struct strbuf *err)
{
	struct version_list vs = VERSION_LIST_INIT;
	struct strbuf path = STRBUF_INIT;
	const char *base = history_base(dir);
	struct fuse_entry_param e;
	struct node *n;
	int ret = -1;

	if (!*base || ref_validate(base, NULL) < 0)
		return 0;
	if (catalog_list_versions(c, base, &vs, err) < 0)
		goto out;
	for (size_t i = 0; i < vs.nr; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/", dir->path);
		catalog_format_version_name(vs.items[i].time_us, &path);
		n = node_get(fs, path.buf, INODE_VERSION);
		if (version_entry(fs, c, n, &vs.items[i], &e, err) < 0)
			goto out;
		add(ctx, n, &e);
		/* the manifest without attributes: a later stat renders it, once per run */
		strbuf_addstr(&path, SIDECAR_MANIFEST);
		n = node_get(fs, path.buf, INODE_VERSION_MANIFEST);
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = n->ino;
		e.attr.st_mode = S_IFREG | 0444;
		add(ctx, n, &e);
	}
	ret = 0;
out:
	version_list_release(&vs);
	strbuf_release(&path);
	return ret;
}

/*
 * Whether the child partition bare of directory base has versions, from
 * the page's rows (rows: bare name -> row) or a point query: 1, 0, -1.
 */
static int child_published(struct catalog *c, const char *base, const char *bare,
			   struct strmap *rows, struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT;
	struct partition *row = strmap_get(rows, bare), p;
	int found;

	if (row)
		return row->published_run != NULL;
	partition_init(&p);
	path_join(&ref, base, bare);
	found = catalog_get_partition(c, ref.buf, &p, err);
	if (found > 0)
		found = p.published_run != NULL;
	partition_release(&p);
	strbuf_release(&ref);
	return found;
}

/*
 * Phase 1: a page of the catalog's children of dir. Directories are
 * listed; partitions only when published (they have versions). A name
 * that is both (a partition "a" and partitions "a/b") is listed once.
 */
static int list_children(struct fs *fs, struct catalog *c, struct node *dir,
			 struct history_cursor *hc, history_add_fn *add, void *ctx,
			 struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	struct partition_list rows = PARTITION_LIST_INIT;
	struct strmap by_name = STRMAP_INIT;
	struct strbuf bare = STRBUF_INIT, prefix = STRBUF_INIT, after = STRBUF_INIT,
		path = STRBUF_INIT;
	const char *base = history_base(dir);
	struct fuse_entry_param e;
	int ret = -1;

	if (catalog_list_children(c, base, hc->after, HISTORY_PAGE, &names, err) < 0)
		goto out;
	if (*base)
		strbuf_addf(&prefix, "%s/", base);
	if (hc->after)
		strbuf_addf(&after, "%s%s", prefix.buf, hc->after);
	if (names.nr && catalog_list_partitions(c, prefix.buf, hc->after ? after.buf : NULL,
						names.nr + 16, 0, &rows, err) < 0)
		goto out;
	for (size_t i = 0; i < rows.nr; i++)
		if (!strchr(rows.items[i].ref + prefix.len, '/'))
			strmap_put(&by_name, rows.items[i].ref + prefix.len, &rows.items[i]);
	for (size_t i = 0; i < names.nr; i++) {
		size_t len = strlen(names.v[i]);
		int is_dir = len && names.v[i][len - 1] == '/', hides = 0, shown = 1;
		struct node *n;

		strbuf_reset(&bare);
		strbuf_add(&bare, names.v[i], is_dir ? len - 1 : len);
		/* names between a partition "x" and the directory "x/" all start with "x" */
		while (hc->open_nr) {
			const char *top = hc->open[hc->open_nr - 1];
			size_t tlen = strlen(top);

			if (tlen <= bare.len && !strncmp(top, bare.buf, tlen) &&
			    (tlen < bare.len || is_dir)) {
				hides = tlen == bare.len;
				break;
			}
			hc->open_nr--;
		}
		if (hides)
			continue;
		if (!is_dir && (shown = child_published(c, base, bare.buf, &by_name, err)) < 0)
			goto out;
		if (!shown)
			continue;
		strbuf_reset(&path);
		path_join(&path, base, bare.buf);
		n = history_dir_node(fs, path.buf);
		fs_fill_entry(fs, c, n, NULL, &e);
		add(ctx, n, &e);
		if (!is_dir) {
			ALLOC_GROW(hc->open, hc->open_nr + 1, hc->open_alloc);
			hc->open[hc->open_nr++] = n->name;
		}
	}
	if (names.nr) {
		free(hc->after);
		hc->after = xstrdup(names.v[names.nr - 1]);
	}
	if (names.nr < HISTORY_PAGE)
		hc->phase = 2;
	ret = 0;
out:
	strvec_clear(&names);
	partition_list_release(&rows);
	strmap_clear(&by_name);
	strbuf_release(&bare);
	strbuf_release(&prefix);
	strbuf_release(&after);
	strbuf_release(&path);
	return ret;
}

int history_list_step(struct fs *fs, struct catalog *c, struct node *dir,
		      struct history_cursor *hc, history_add_fn *add, void *ctx,
		      struct strbuf *err)
{
	switch (hc->phase) {
	case 0:
		if (list_versions(fs, c, dir, add, ctx, err) < 0)
			return -1;
		hc->phase = 1;
		return 0;
	case 1:
		if (list_children(fs, c, dir, hc, add, ctx, err) < 0)
			return -1;
		return hc->phase == 2;
	default:
		return 1;
	}
}
