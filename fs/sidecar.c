#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/json.h"
#include "fs/internal.h"

#define LOG_TAIL_BYTES 16384
#define LOG_TAIL_LINES 20
#define XATTR_PREFIX "user.databuild."

static char *node_error(struct fs *fs, struct node *part, unsigned long *gen)
{
	char *e = NULL;

	if (!part)
		return NULL;
	pthread_mutex_lock(&fs->wait_lock);
	if (part->error)
		e = xstrdup(part->error);
	if (gen)
		*gen = part->error_gen;
	pthread_mutex_unlock(&fs->wait_lock);
	return e;
}

int sidecar_exists(struct fs *fs, enum inode_kind kind, struct node *part,
		   const struct partition *p)
{
	int has_error;

	if (kind == INODE_MANIFEST)
		return p && p->status == PART_LIVE && p->published_run;
	if (p && p->status == PART_LIVE)
		return 0;
	if (p && p->status == PART_FAILED)
		return 1;
	if (!part)
		return 0;
	pthread_mutex_lock(&fs->wait_lock);
	has_error = part->error != NULL;
	pthread_mutex_unlock(&fs->wait_lock);
	return has_error;
}

static void add_log_tail(struct strbuf *out, const char *path)
{
	struct strbuf data = STRBUF_INIT;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (!fstat(fd, &st) && st.st_size > LOG_TAIL_BYTES)
		lseek(fd, st.st_size - LOG_TAIL_BYTES, SEEK_SET);
	if (!strbuf_read_fd(&data, fd, LOG_TAIL_BYTES) && data.len) {
		strbuf_addstr(out, "log tail:\n");
		strbuf_add_tail(out, data.buf, data.len, LOG_TAIL_LINES, LOG_TAIL_BYTES, "  ");
		strbuf_addch(out, '\n');
	}
	strbuf_release(&data);
	close(fd);
}

static void add_indented(struct strbuf *out, const char *text)
{
	const char *s = text;

	while (*s) {
		const char *nl = strchrnul(s, '\n');

		strbuf_addstr(out, "  ");
		strbuf_add(out, s, nl - s);
		strbuf_addch(out, '\n');
		s = *nl ? nl + 1 : nl;
	}
}

/*
 * Adds an error message indented. Unless show_log, its lines indented by
 * four spaces or more (what the executor and the planner quote of a job's
 * log or a helper's stderr) are left out, with one line saying so.
 */
static void add_message(struct strbuf *out, const char *text, int show_log)
{
	struct strbuf kept = STRBUF_INIT;
	const char *s = text;
	int hidden = 0;

	if (show_log) {
		add_indented(out, text);
		return;
	}
	while (*s) {
		const char *nl = strchrnul(s, '\n');

		if (!strncmp(s, "    ", 4)) {
			if (!hidden++)
				strbuf_addstr(&kept, "    (output of the job: shown to the mount's owner only)\n");
		} else {
			strbuf_add(&kept, s, nl - s);
			strbuf_addch(&kept, '\n');
			hidden = 0;
		}
		s = *nl ? nl + 1 : nl;
	}
	add_indented(out, kept.buf);
	strbuf_release(&kept);
}

/* The run-dependent part of an error sidecar, computed once per run. */
static struct run_text *run_text_get(struct fs *fs, struct catalog *c, const char *run_id,
				     struct strbuf *err)
{
	struct strbuf head = STRBUF_INIT, tail = STRBUF_INIT, log = STRBUF_INIT;
	struct run_record run;
	struct run_text *rt;
	int found;

	pthread_mutex_lock(&fs->wait_lock);
	rt = strmap_get(&fs->run_texts, run_id);
	pthread_mutex_unlock(&fs->wait_lock);
	if (rt)
		return rt;
	run_record_init(&run);
	found = catalog_get_run(c, run_id, &run, err);
	if (found <= 0)
		goto out;
	strbuf_addf(&head, "job: %s\nrun_id: %s\n", run.job, run.run_id);
	if (run.exit_status >= 0)
		strbuf_addf(&head, "exit_status: %d\n", run.exit_status);
	else
		strbuf_addf(&head, "signal: %d (%s)\n", -run.exit_status, strsignal(-run.exit_status));
	if (run.log_path && *run.log_path)
		strbuf_addstr(&log, run.log_path);
	else
		store_log_path(fs->opts->store, run.run_id, &log);
	strbuf_addf(&head, "log: %s\n", log.buf);
	add_log_tail(&tail, log.buf);
	rt = xcalloc(1, sizeof(*rt));
	rt->head = strbuf_detach(&head, NULL);
	rt->tail = strbuf_detach(&tail, NULL);
	rt->error = run.error ? xstrdup(run.error) : NULL;
	pthread_mutex_lock(&fs->wait_lock);
	if (strmap_get(&fs->run_texts, run_id)) {
		struct run_text *mine = rt;

		rt = strmap_get(&fs->run_texts, run_id);
		free(mine->head);
		free(mine->tail);
		free(mine->error);
		free(mine);
	} else {
		strmap_put(&fs->run_texts, run_id, rt);
	}
	pthread_mutex_unlock(&fs->wait_lock);
out:
	run_record_release(&run);
	strbuf_release(&head);
	strbuf_release(&tail);
	strbuf_release(&log);
	return rt;
}

void run_texts_release(struct fs *fs)
{
	struct run_text *rt;

	for (size_t i = 0; strmap_next(&fs->run_texts, &i, NULL, (void **)&rt);) {
		free(rt->head);
		free(rt->tail);
		free(rt->error);
		free(rt);
	}
	strmap_clear(&fs->run_texts);
}

static int render_error(struct fs *fs, struct catalog *c, struct node *part,
			const struct partition *p, int show_log, struct strbuf *out,
			struct strbuf *err)
{
	struct run_text *rt = NULL;
	char *mem = node_error(fs, part, NULL);
	int ret = -1;

	strbuf_addf(out, "partition: %s\n", part ? part->path : p->ref);
	if (p && p->status == PART_FAILED && p->run_id) {
		rt = run_text_get(fs, c, p->run_id, err);
		if (!rt && err->len)
			goto out;
	}
	if (rt)
		strbuf_addstr(out, rt->head);
	else if (p && p->job)
		strbuf_addf(out, "job: %s\n", p->job);
	strbuf_addstr(out, "error:\n");
	if (mem)
		add_message(out, mem, show_log);
	else if (rt && rt->error)
		add_message(out, rt->error, show_log);
	else if (p && p->error)
		add_message(out, p->error, show_log);
	else
		add_indented(out, "the build failed");
	if (rt && show_log)
		strbuf_addstr(out, rt->tail);
	ret = 1;
out:
	free(mem);
	return ret;
}

int sidecar_render(struct fs *fs, struct catalog *c, struct node *n,
		   const struct partition *p, int show_log, struct strbuf *out,
		   struct strbuf *err)
{
	struct manifest m;
	cJSON *json;
	int found;

	if (!sidecar_exists(fs, n->kind, n->part, p))
		return 0;
	if (n->kind == INODE_ERROR)
		return render_error(fs, c, n->part, p, show_log, out, err);
	manifest_init(&m);
	found = catalog_get_manifest(c, p->published_run, &m, err);
	if (found > 0) {
		json = manifest_to_json(&m);
		json_print_pretty(json, out);
		strbuf_addch(out, '\n');
		cJSON_Delete(json);
	}
	manifest_release(&m);
	return found;
}

/* A manifest depends on its run only: one size per run, shared by its outputs. */
static int64_t manifest_size(struct fs *fs, struct catalog *c, struct node *n,
			     const struct partition *p)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	uintptr_t cached;
	int64_t size = -1;

	pthread_mutex_lock(&fs->wait_lock);
	cached = (uintptr_t)strmap_get(&fs->manifest_sizes, p->published_run);
	pthread_mutex_unlock(&fs->wait_lock);
	if (cached)
		return (int64_t)cached - 1;
	if (!c)
		return -1;
	if (sidecar_render(fs, c, n, p, 1, &text, &err) > 0) {
		size = text.len;
		pthread_mutex_lock(&fs->wait_lock);
		strmap_put(&fs->manifest_sizes, p->published_run, (void *)(uintptr_t)(size + 1));
		pthread_mutex_unlock(&fs->wait_lock);
	} else if (err.len) {
		fs_log(fs, "'%s': %s", n->path, err.buf);
	}
	strbuf_release(&text);
	strbuf_release(&err);
	return size;
}

int64_t sidecar_size(struct fs *fs, struct catalog *c, struct node *n,
		     const struct partition *p)
{
	struct strbuf key = STRBUF_INIT, text = STRBUF_INIT, err = STRBUF_INIT;
	unsigned long gen = 0;
	char *mem;
	int64_t size = -1;

	if (!sidecar_exists(fs, n->kind, n->part, p))
		return -1;
	if (n->kind == INODE_MANIFEST)
		return manifest_size(fs, c, n, p);
	mem = node_error(fs, n->part, &gen);
	free(mem);
	strbuf_addf(&key, "%s:%s:%lu", p ? part_status_name(p->status) : "",
		    p && p->run_id ? p->run_id : "", gen);
	pthread_mutex_lock(&fs->wait_lock);
	if (n->sidecar_key && !strcmp(n->sidecar_key, key.buf))
		size = n->sidecar_size;
	pthread_mutex_unlock(&fs->wait_lock);
	if (size >= 0 || !c)
		goto out;
	if (sidecar_render(fs, c, n, p, 1, &text, &err) <= 0) {
		if (err.len)
			fs_log(fs, "'%s': %s", n->path, err.buf);
		goto out;
	}
	size = text.len;
	pthread_mutex_lock(&fs->wait_lock);
	free(n->sidecar_key);
	n->sidecar_key = strbuf_detach(&key, NULL);
	n->sidecar_size = size;
	pthread_mutex_unlock(&fs->wait_lock);
out:
	strbuf_release(&key);
	strbuf_release(&text);
	strbuf_release(&err);
	return size;
}

static const char *const xattr_names[] = {
	"status", "job", "run_id", "build_key", "sha256",
};

/* Whether the store holds published bytes for p: they are published_run's. */
static int has_data(const struct partition *p)
{
	return p->published_run && (p->status == PART_LIVE || p->status == PART_STALE || p->status == PART_DAMAGED ||
				    p->status == PART_TAINTED);
}

static const char *xattr_value(const struct partition *p, int found, const char *name)
{
	if (!strcmp(name, "status"))  /* tainted is a reason to be stale, not a state */
		return !found ? "missing" : part_status_name(p->status == PART_TAINTED ?
							     PART_STALE : p->status);
	if (!found)
		return NULL;
	if (!strcmp(name, "job"))
		return p->job;
	if (!strcmp(name, "run_id"))
		return has_data(p) ? p->published_run : p->run_id;
	if (!strcmp(name, "build_key"))
		return *p->build_key ? p->build_key : NULL;
	if (!strcmp(name, "sha256"))
		return *p->sha256 ? p->sha256 : NULL;
	return NULL;
}

static int load_partition(fuse_req_t req, fuse_ino_t ino, struct partition *p, int *found)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_by_ino(fs, ino);
	struct strbuf err = STRBUF_INIT;
	struct catalog *c;

	if (!n)
		return ENOENT;
	if (n->kind != INODE_PART) {
		*found = -1;
		return 0;
	}
	c = fs_catalog(fs, &err);
	if (!c || (*found = catalog_get_partition(c, n->path, p, &err)) < 0) {
		fs_log(fs, "xattr '%s': %s", n->path, err.buf);
		strbuf_release(&err);
		return EIO;
	}
	strbuf_release(&err);
	return 0;
}

void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct partition p;
	const char *value = NULL;
	size_t len;
	int found = 0, saverr;

	partition_init(&p);
	if (strncmp(name, "user.", 5)) {
		saverr = EOPNOTSUPP;
		goto out_err;
	}
	if ((saverr = load_partition(req, ino, &p, &found)))
		goto out_err;
	if (found > 0)
		p.status = fs_status_shown(fs_of(req), node_by_ino(fs_of(req), ino), &p);
	if (found >= 0 && !strncmp(name, XATTR_PREFIX, strlen(XATTR_PREFIX)))
		value = xattr_value(&p, found, name + strlen(XATTR_PREFIX));
	if (!value) {
		saverr = ENODATA;
		goto out_err;
	}
	len = strlen(value);
	if (!size) {
		fuse_reply_xattr(req, len);
	} else if (size < len) {
		saverr = ERANGE;
		goto out_err;
	} else {
		fuse_reply_buf(req, value, len);
	}
	partition_release(&p);
	return;

out_err:
	partition_release(&p);
	fuse_reply_err(req, saverr);
}

void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct strbuf list = STRBUF_INIT;
	struct partition p;
	int found = 0, saverr;

	partition_init(&p);
	if ((saverr = load_partition(req, ino, &p, &found)))
		goto out_err;
	for (size_t i = 0; found >= 0 && i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++) {
		if (!xattr_value(&p, found, xattr_names[i]))
			continue;
		strbuf_addf(&list, "%s%s", XATTR_PREFIX, xattr_names[i]);
		strbuf_addch(&list, '\0');
	}
	if (!size) {
		fuse_reply_xattr(req, list.len);
	} else if (size < list.len) {
		saverr = ERANGE;
		goto out_err;
	} else {
		fuse_reply_buf(req, list.buf, list.len);
	}
	partition_release(&p);
	strbuf_release(&list);
	return;

out_err:
	partition_release(&p);
	strbuf_release(&list);
	fuse_reply_err(req, saverr);
}
