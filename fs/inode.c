#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/array.h"
#include "core/proc.h"
#include "model/ref.h"
#include "fs/internal.h"

#define TIMEOUT_DIR 1.0
#define TIMEOUT_LIVE 1.0
#define TIMEOUT_NEGATIVE 1.0
/*
 * A directory's st_blksize: glibc's opendir sizes its getdents buffer by
 * it (32 KiB to 1 MiB), and the kernel asks readdirplus for as much (at
 * most max_pages), so a listing takes one FUSE round trip per 1 MiB
 * instead of per 32 KiB (docs/design/fs.md, "Listings").
 */
#define DIR_BLKSIZE (1 << 20)

int nodes_init(struct fs *fs)
{
	struct node *root;

	if (pthread_rwlock_init(&fs->nodes_lock, NULL))
		return -1;
	strmap_init(&fs->by_path);
	fs->nodes_nr = 1;
	ALLOC_GROW(fs->by_ino, 2, fs->nodes_alloc);
	fs->by_ino[0] = NULL;
	root = node_get(fs, "", INODE_ROOT);
	return root && root->ino == FUSE_ROOT_ID ? 0 : -1;
}

void nodes_release(struct fs *fs)
{
	for (size_t i = 1; i < fs->nodes_nr; i++) {
		struct node *n = fs->by_ino[i];

		if (n->ino != i)
			continue;  /* an older number of a renumbered node */
		while (n->backings) {
			struct backing *b = n->backings;

			n->backings = b->next;
			free(b);
		}
		free(n->error);
		free(n->damage);
		free(n->served_run);
		free(n->inval_run);
		witness_put(n->witness);
		witness_put(n->fail_witness);
		free(n->sidecar_key);
		free(n->run_job);
		free(n->run_id);
		free(n);
	}
	free(fs->by_ino);
	fs->by_ino = NULL;
	fs->nodes_nr = fs->nodes_alloc = 0;
	strmap_clear(&fs->by_path);
	pthread_rwlock_destroy(&fs->nodes_lock);
}

struct node *node_by_ino(struct fs *fs, fuse_ino_t ino)
{
	struct node *n = NULL;

	pthread_rwlock_rdlock(&fs->nodes_lock);
	if (ino > 0 && ino < fs->nodes_nr)
		n = fs->by_ino[ino];
	pthread_rwlock_unlock(&fs->nodes_lock);
	return n;
}

void node_renumber(struct fs *fs, struct node *n, fuse_ino_t old)
{
	pthread_rwlock_wrlock(&fs->nodes_lock);
	if (n->ino == old) {
		ALLOC_GROW(fs->by_ino, fs->nodes_nr + 1, fs->nodes_alloc);
		n->ino = fs->nodes_nr;
		fs->by_ino[fs->nodes_nr++] = n;
	}
	pthread_rwlock_unlock(&fs->nodes_lock);
}

struct node *node_by_path(struct fs *fs, const char *path)
{
	struct node *n;

	pthread_rwlock_rdlock(&fs->nodes_lock);
	n = strmap_get(&fs->by_path, path);
	pthread_rwlock_unlock(&fs->nodes_lock);
	return n;
}

static int kind_flips(enum inode_kind a, enum inode_kind b)
{
	return (a == INODE_DIR && b == INODE_PART) || (a == INODE_PART && b == INODE_DIR);
}

struct node *node_get(struct fs *fs, const char *path, enum inode_kind kind)
{
	struct node *n;
	const char *slash;

	pthread_rwlock_rdlock(&fs->nodes_lock);
	n = strmap_get(&fs->by_path, path);
	pthread_rwlock_unlock(&fs->nodes_lock);
	if (n && (n->kind == kind || !kind_flips(n->kind, kind)))
		return n;

	pthread_rwlock_wrlock(&fs->nodes_lock);
	n = strmap_get(&fs->by_path, path);
	if (n) {
		if (kind_flips(n->kind, kind))
			n->kind = kind;
		goto out;
	}
	n = xcalloc(1, sizeof(*n));
	strmap_put(&fs->by_path, path, n);
	n->path = strmap_key(&fs->by_path, path);
	slash = strrchr(n->path, '/');
	n->name = slash ? slash + 1 : n->path;
	n->kind = kind;
	n->sidecar_size = -1;
	ALLOC_GROW(fs->by_ino, fs->nodes_nr + 1, fs->nodes_alloc);
	n->ino = fs->nodes_nr;
	fs->by_ino[fs->nodes_nr++] = n;
out:
	pthread_rwlock_unlock(&fs->nodes_lock);
	return n;
}

void path_join(struct strbuf *out, const char *dir, const char *name)
{
	if (*dir) {
		strbuf_addstr(out, dir);
		strbuf_addch(out, '/');
	}
	strbuf_addstr(out, name);
}

int fs_buildable(const struct fs_graph *fg, const char *ref)
{
	const struct graph *g = fg->graph;
	size_t dlen = ref_dataset_len(ref);
	char *dataset = NULL;
	int ret = 0;

	if (g->lookup.nr)
		dataset = xstrndup(ref, dlen);
	for (size_t j = 0; j < g->jobs_nr && !ret; j++) {
		const struct job *job = &g->jobs[j];

		for (size_t k = 0; k < job->outputs_nr && !ret; k++) {
			if (dataset)
				ret = pattern_match_dir(&job->outputs[k], dataset) == 1;
			else
				ret = pattern_match(&job->outputs[k], ref, NULL);
		}
	}
	free(dataset);
	return ret;
}

int fs_is_dir(const struct fs_graph *g, struct catalog *c, const char *path,
	      struct strbuf *err)
{
	struct strvec names = STRVEC_INIT;
	int ret;

	if (!*path)
		return 1;
	ret = space_dir(g, path, err);
	if (ret != SPACE_UNPLACED)
		return ret;  /* in a pattern's space, outside every one (ENOENT), or an error */
	if (catalog_list_children(c, path, NULL, 1, &names, err) < 0)
		return -1;
	ret = names.nr > 0;
	strvec_clear(&names);
	return ret;
}

static void fill_common(struct fs *fs, struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = fs->mount_us / 1000000;
	st->st_mtim.tv_nsec = (fs->mount_us % 1000000) * 1000;
	st->st_ctim = st->st_atim = st->st_mtim;
}

static void set_time(struct stat *st, int64_t us)
{
	if (us <= 0)
		return;
	st->st_mtim.tv_sec = us / 1000000;
	st->st_mtim.tv_nsec = (us % 1000000) * 1000;
	st->st_ctim = st->st_atim = st->st_mtim;
}

static void set_file(struct stat *st, int64_t size)
{
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
}

/*
 * A placeholder's mode (docs/filesystem.md, "Before the build"). Where the
 * kernel checks no modes (without default_permissions only the mount's
 * owner gets in) it is 0440, because GNU tar does not open an empty file
 * that everyone may read and would archive an unbuilt partition as empty;
 * where it checks them (allow_other turns default_permissions on), every
 * reader needs 0444 to open it.
 */
static mode_t placeholder_mode(const struct fs *fs)
{
	const char *o = fs->opts->fuse_options;

	return o && (strstr(o, "allow_other") || strstr(o, "default_permissions")) ? 0444 : 0440;
}

void fs_fill_entry(struct fs *fs, struct catalog *c, struct node *n,
		   const struct partition *p, struct fuse_entry_param *e)
{
	struct stat *st = &e->attr;

	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	fill_common(fs, n, st);
	switch (n->kind) {
	case INODE_ROOT:
	case INODE_DIR:
	case INODE_CTL_DIR:
	case INODE_MIRROR:
	case INODE_HISTORY:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		st->st_blksize = DIR_BLKSIZE;
		e->entry_timeout = e->attr_timeout = TIMEOUT_DIR;
		break;
	case INODE_PART:
		if (p && (p->status == PART_LIVE || fs_serves_old(fs, p))) {
			int64_t size = p->size;

			if (size < 0) {
				struct strbuf path = STRBUF_INIT;
				struct stat sb;

				store_data_path(fs->opts->store, p->ref, &path);
				size = stat(path.buf, &sb) < 0 ? 0 : sb.st_size;
				strbuf_release(&path);
			}
			set_file(st, size);
			set_time(st, p->updated_us);
			/* old bytes served for now: asked again at each use */
			if (p->status == PART_LIVE)
				e->entry_timeout = e->attr_timeout = TIMEOUT_LIVE;
		} else {
			set_file(st, 0);
			st->st_mode = S_IFREG | placeholder_mode(fs);
			if (p)
				set_time(st, p->updated_us);
		}
		break;
	case INODE_MANIFEST:
	case INODE_ERROR: {
		int64_t size = sidecar_size(fs, c, n, p);

		set_file(st, size < 0 ? 0 : size);
		if (p)
			set_time(st, p->updated_us);
		e->entry_timeout = e->attr_timeout = TIMEOUT_LIVE;
		break;
	}
	case INODE_CTL_STATUS:
		set_file(st, 0);
		set_time(st, now_us());
		e->entry_timeout = TIMEOUT_DIR;
		break;
	case INODE_CTL_EVENTS:
	case INODE_CTL_RELOAD:
		set_file(st, 0);
		e->entry_timeout = TIMEOUT_DIR;
		break;
	case INODE_VERSION:
	case INODE_VERSION_MANIFEST:
		/* history.c sets the size and the time from the version */
		set_file(st, 0);
		e->entry_timeout = e->attr_timeout = TIMEOUT_LIVE;
		break;
	}
}

static const char *node_ref(struct node *n)
{
	return n->part ? n->part->path : n->path;
}

int fs_node_attr(struct fs *fs, struct catalog *c, struct node *n,
		 struct fuse_entry_param *e, struct strbuf *err)
{
	struct partition p;
	int ret = -1, found = 0;

	partition_init(&p);
	if (n->kind == INODE_HISTORY || n->kind == INODE_VERSION ||
	    n->kind == INODE_VERSION_MANIFEST) {
		ret = history_attr(fs, c, n, e, err);
		goto out;
	}
	if (n->kind == INODE_PART || n->kind == INODE_MANIFEST || n->kind == INODE_ERROR) {
		found = catalog_get_partition(c, node_ref(n), &p, err);
		if (found < 0)
			goto out;
	}
	fs_fill_entry(fs, c, n, found ? &p : NULL, e);
	if (n->kind == INODE_CTL_EVENTS) {
		int64_t size = events_refresh(fs, c, err);

		if (size < 0)
			goto out;
		set_file(&e->attr, size);
		set_time(&e->attr, now_us());
	}
	ret = 0;
out:
	partition_release(&p);
	return ret;
}

/* The sidecar `name` of directory dir ("" = the root): fills e (ino 0: none). */
static int resolve_sidecar(struct fs *fs, const struct fs_graph *g, struct catalog *c,
			   const char *dir, const char *name, const char *suffix,
			   size_t stem_len, struct fuse_entry_param *e, struct strbuf *err)
{
	struct strbuf ref = STRBUF_INIT, stem = STRBUF_INIT, path = STRBUF_INIT;
	struct partition p;
	enum inode_kind kind = !strcmp(suffix, SIDECAR_MANIFEST) ? INODE_MANIFEST : INODE_ERROR;
	struct node *part, *n;
	int ret = -1, found, shown;

	partition_init(&p);
	strbuf_add(&stem, name, stem_len);
	path_join(&ref, dir, stem.buf);
	path_join(&path, dir, name);
	if (ref_validate(ref.buf, NULL) < 0) {
		ret = 0;
		goto out;
	}
	shown = space_ref(g, ref.buf, err);
	if (shown == SPACE_ERROR)
		goto out;
	if (shown == SPACE_OUTSIDE) {
		ret = 0;
		goto out;
	}
	found = catalog_get_partition(c, ref.buf, &p, err);
	if (found < 0)
		goto out;
	part = node_by_path(fs, ref.buf);
	if (!sidecar_exists(fs, kind, part, found ? &p : NULL)) {
		ret = 0;
		goto out;
	}
	part = node_get(fs, ref.buf, INODE_PART);
	n = node_get(fs, path.buf, kind);
	n->part = part;
	fs_fill_entry(fs, c, n, found ? &p : NULL, e);
	ret = 0;
out:
	partition_release(&p);
	strbuf_release(&ref);
	strbuf_release(&stem);
	strbuf_release(&path);
	return ret;
}

const char *mirror_base(const struct node *n)
{
	const char *rest = n->path + strlen(MANIFESTS_DIR);

	return *rest == '/' ? rest + 1 : rest;
}

/*
 * A name below .databuild/manifests (dir, a mirror node): the sidecar of
 * that name in the directory dir mirrors (its own inode), or the mirror
 * of a sub-directory.
 */
static int resolve_mirror(struct fs *fs, const struct fs_graph *g, struct catalog *c,
			  struct node *dir, const char *name, struct fuse_entry_param *e,
			  struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, mirror = STRBUF_INIT;
	const char *base = mirror_base(dir), *suffix;
	size_t stem_len;
	int ret = -1, isdir;

	suffix = ref_sidecar_suffix(name, &stem_len);
	if (suffix) {
		ret = resolve_sidecar(fs, g, c, base, name, suffix, stem_len, e, err);
		goto out;
	}
	path_join(&path, base, name);
	isdir = ref_validate(path.buf, NULL) < 0 ? 0 : fs_is_dir(g, c, path.buf, err);
	if (isdir < 0)
		goto out;
	if (isdir) {
		strbuf_addf(&mirror, "%s/%s", MANIFESTS_DIR, path.buf);
		fs_fill_entry(fs, c, node_get(fs, mirror.buf, INODE_MIRROR), NULL, e);
	}
	ret = 0;
out:
	strbuf_release(&path);
	strbuf_release(&mirror);
	return ret;
}

int fs_resolve(struct fs *fs, const struct fs_graph *g, struct catalog *c, struct node *dir,
	       const char *name, struct fuse_entry_param *e, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	struct partition p;
	const char *suffix;
	size_t stem_len;
	int ret = -1, found, isdir, shown;

	memset(e, 0, sizeof(*e));
	e->entry_timeout = TIMEOUT_NEGATIVE;
	partition_init(&p);
	if (dir->kind == INODE_CTL_DIR) {
		if (!strcmp(name, "status"))
			fs_fill_entry(fs, c, node_get(fs, CONTROL_DIR "/status", INODE_CTL_STATUS), NULL, e);
		else if (!strcmp(name, "events"))
			return fs_node_attr(fs, c, node_get(fs, CONTROL_DIR "/events", INODE_CTL_EVENTS),
					    e, err);
		else if (!strcmp(name, "reload"))
			fs_fill_entry(fs, c, node_get(fs, CONTROL_DIR "/reload", INODE_CTL_RELOAD), NULL, e);
		else if (!strcmp(name, "manifests"))
			fs_fill_entry(fs, c, node_get(fs, MANIFESTS_DIR, INODE_MIRROR), NULL, e);
		else if (!strcmp(name, "history"))
			fs_fill_entry(fs, c, node_get(fs, HISTORY_DIR, INODE_HISTORY), NULL, e);
		return 0;
	}
	if (dir->kind == INODE_MIRROR)
		return resolve_mirror(fs, g, c, dir, name, e, err);
	if (dir->kind == INODE_HISTORY)
		return history_resolve(fs, c, dir, name, e, err);
	if (dir->kind == INODE_ROOT && !strcmp(name, CONTROL_DIR)) {
		fs_fill_entry(fs, c, node_get(fs, CONTROL_DIR, INODE_CTL_DIR), NULL, e);
		return 0;
	}
	path_join(&path, dir->path, name);
	isdir = ref_validate(path.buf, NULL) < 0 ? 0 : fs_is_dir(g, c, path.buf, err);
	if (isdir < 0)
		goto out;
	if (isdir) {
		fs_fill_entry(fs, c, node_get(fs, path.buf, INODE_DIR), NULL, e);
		ret = 0;
		goto out;
	}
	suffix = ref_sidecar_suffix(name, &stem_len);
	if (suffix) {
		ret = resolve_sidecar(fs, g, c, dir->path, name, suffix, stem_len, e, err);
		goto out;
	}
	if (ref_validate(path.buf, NULL) < 0) {
		ret = 0;
		goto out;
	}
	found = catalog_get_partition(c, path.buf, &p, err);
	if (found < 0)
		goto out;
	if (!found && !fs_buildable(g, path.buf)) {
		ret = 0;
		goto out;
	}
	shown = space_ref(g, path.buf, err);
	if (shown == SPACE_ERROR)
		goto out;
	if (shown != SPACE_OUTSIDE)
		fs_fill_entry(fs, c, node_get(fs, path.buf, INODE_PART), found ? &p : NULL, e);
	ret = 0;
out:
	partition_release(&p);
	strbuf_release(&path);
	return ret;
}

int inode_kind_is_dir(enum inode_kind k)
{
	return k == INODE_ROOT || k == INODE_DIR || k == INODE_CTL_DIR || k == INODE_MIRROR ||
		k == INODE_HISTORY;
}

void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct strbuf err = STRBUF_INIT;
	struct fuse_entry_param e;
	struct node *dir = node_by_ino(fs, parent);
	struct fs_graph *g = NULL;
	struct catalog *c;
	int saverr;

	if (!dir) {
		saverr = ENOENT;
		goto out_err;
	}
	if (!inode_kind_is_dir(dir->kind)) {
		saverr = ENOTDIR;
		goto out_err;
	}
	c = fs_catalog(fs, &err);
	g = fs_graph_get(fs);
	if (!c || fs_resolve(fs, g, c, dir, name, &e, &err) < 0) {
		fs_log(fs, "lookup '%s' in '%s': %s", name, dir->path, err.buf);
		saverr = EIO;
		goto out_err;
	}
	fs_graph_put(g);
	strbuf_release(&err);
	fuse_reply_entry(req, &e);
	return;

out_err:
	fs_graph_put(g);
	strbuf_release(&err);
	fuse_reply_err(req, saverr);
}

void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct strbuf err = STRBUF_INIT;
	struct fuse_entry_param e;
	struct node *n = node_by_ino(fs, ino);
	struct catalog *c;
	int saverr;

	if (!n) {
		saverr = ENOENT;
		goto out_err;
	}
	c = fs_catalog(fs, &err);
	if (!c || fs_node_attr(fs, c, n, &e, &err) < 0) {
		fs_log(fs, "getattr '%s': %s", n->path, err.buf);
		saverr = EIO;
		goto out_err;
	}
	if (!e.ino) {  /* a version removed since it was looked up */
		saverr = ENOENT;
		goto out_err;
	}
	strbuf_release(&err);
	fuse_reply_attr(req, &e.attr, e.attr_timeout);
	return;

out_err:
	strbuf_release(&err);
	fuse_reply_err(req, saverr);
}
