#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/strmap.h"
#include "store/store.h"
#include "store/object.h"
#include "executor/contain.h"
#include "executor/internal.h"

/* Opens ref below dirfd, refusing a symlink anywhere on the way. */
static int open_beneath(int dirfd, const char *ref)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dirfd, ref, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, ref, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd;
}

/* Checks one staged output; returns an fd on it or -1 with why. */
static int output_open(int outfd, const char *job, const char *ref, struct strbuf *why)
{
	struct stat st, st2;
	const char *what = NULL;
	int fd;

	if (fstatat(outfd, ref, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			strbuf_addf(why, "exited 0 but did not write output '%s' (expected at "
				    "$DATABUILD_OUTPUT_DIR/%s)", ref, ref);
		else
			strbuf_addf(why, "exited 0 but its output '%s' cannot be read: %s",
				    ref, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode))
		what = "is a symbolic link, not a regular file";
	else if (S_ISDIR(st.st_mode))
		what = "is a directory, not a regular file";
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		what = "is a device, not a regular file";
	else if (!S_ISREG(st.st_mode))
		what = "is a fifo or socket, not a regular file";
	else if (st.st_nlink > 1)
		what = "is a hard link to a file outside the staging directory";
	if (what) {
		strbuf_addf(why, "exited 0 but its output '%s' %s", ref, what);
		return -1;
	}
	fd = open_beneath(outfd, ref);
	if (fd < 0) {
		if (errno == ELOOP || errno == EXDEV)
			strbuf_addf(why, "exited 0 but its output '%s' lies below a symbolic link",
				    ref);
		else
			strbuf_addf(why, "exited 0 but its output '%s' cannot be opened: %s",
				    ref, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
		strbuf_addf(why, "exited 0 but its output '%s' changed while being published", ref);
		close(fd);
		return -1;
	}
	(void)job;
	return fd;
}

/*
 * After the run's processes were killed (contain_run): nothing may still
 * hold the output open for writing, or it could change the bytes after
 * they were hashed and published. 0, or -1 with why.
 */
static int output_unwritten(int fd, const char *ref, struct strbuf *why)
{
	struct strbuf holder = STRBUF_INIT;
	int r = contain_writers(fd, &holder);

	if (r > 0)
		strbuf_addf(why, "exited 0 but its output '%s' is still open for writing by a "
			    "process it started%s%s%s; nothing was published", ref,
			    holder.len ? " (" : "", holder.buf, holder.len ? ")" : "");
	else if (r < 0)
		strbuf_addf(why, "exited 0 but whether a process still writes its output '%s' "
			    "cannot be checked: %s", ref, holder.buf);
	strbuf_release(&holder);
	return r ? -1 : 0;
}

/* Whether ref in outfd is still the file that was checked and hashed. */
static int output_unchanged(int outfd, const char *ref, const struct stat *was)
{
	struct stat st;

	return fstatat(outfd, ref, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       st.st_nlink == 1 && st.st_ino == was->st_ino && st.st_dev == was->st_dev;
}

/*
 * Renames the staged ref (below outfd) to <data>/ref, creating its
 * directories beneath data/ without following any link: a link on the way
 * fails the run, and nothing is ever written where it points. The
 * published file's identity (taken after the rename, which moves its
 * ctime) goes to ident, for the catalog to record with its hash.
 */
static int publish_rename(struct xrun *x, int outfd, const char *ref, const char *path,
			  char ident[STORE_IDENT_MAX], struct strbuf *why)
{
	const char *base;
	int pfd = store_open_data_parent(x->s, ref, &base), ret = -1;
	struct stat st;

	if (pfd < 0) {
		if (errno == ELOOP)
			strbuf_addf(why, "cannot publish output '%s' to '%s': a directory on the way "
				    "is a symbolic link; databuild follows no link in its store", ref,
				    path);
		else
			strbuf_addf(why, "cannot publish output '%s' to '%s': %s", ref, path,
				    strerror(errno));
		return -1;
	}
	if (renameat(outfd, ref, pfd, base) < 0) {
		strbuf_addf(why, "cannot publish output '%s' to '%s': %s", ref, path,
			    strerror(errno));
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		strbuf_addf(why, "cannot stat published output '%s' at '%s': %s", ref, path,
			    strerror(errno));
		goto out;
	}
	store_ident_format(&st, ident);
	ret = 0;
out:
	close(pfd);
	return ret;
}

/*
 * Publishes the staged output ref (below outfd, hashed to o, checked
 * unchanged with one link) through the object store: the staged file
 * becomes the object o->sha256 and is renamed over data/<ref>, or, when
 * those bytes are an object already, that object is linked over
 * data/<ref> and the staged file is dropped. ident as publish_rename.
 */
static int publish_output(struct xrun *x, int outfd, const char *ref, const char *path,
			  struct manifest_output *o, struct strbuf *why)
{
	struct strbuf err = STRBUF_INIT;
	int r, ret = -1;

	/* twice: gc may remove an unreferenced object between the put and the install */
	for (int attempt = 0; attempt < 2; attempt++) {
		strbuf_reset(&err);
		r = store_object_put(x->s, outfd, ref, o->sha256, o->size, &err);
		if (r < 0)
			break;
		if (r > 0) {
			ret = publish_rename(x, outfd, ref, path, o->ident, why);
			goto out;
		}
		if (store_object_install(x->s, o->sha256, ref, o->ident, &err) == 0) {
			unlinkat(outfd, ref, 0);
			ret = 0;
			goto out;
		}
		if (errno != ENOENT)
			break;
	}
	strbuf_addf(why, "cannot publish output '%s' to '%s': %s", ref, path, err.buf);
out:
	strbuf_release(&err);
	return ret;
}

/* 1 if two outputs of m have the same bytes (one object, two names). */
static int hashes_repeat(const struct manifest *m)
{
	struct strmap seen = STRMAP_INIT;
	int repeat = 0;

	for (size_t i = 0; i < m->outputs_nr && m->outputs_nr > 1 && !repeat; i++) {
		repeat = strmap_contains(&seen, m->outputs[i].sha256);
		strmap_put(&seen, m->outputs[i].sha256, NULL);
	}
	strmap_clear(&seen);
	return repeat;
}

/*
 * Takes the identities of the outputs just published again: one output's
 * publish adds a link to the object of another with the same bytes, which
 * moves its ctime. Only a file that is still the inode published is read.
 */
static void idents_refresh(struct xrun *x, const struct strvec *outs, struct manifest *m)
{
	for (size_t i = 0; i < outs->nr; i++) {
		char *ident = m->outputs[i].ident, now[STORE_IDENT_MAX];
		int fd = store_open_data(x->s, outs->v[i], O_PATH);
		const char *a, *b;
		struct stat st;

		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
			store_ident_format(&st, now);
			/* device and inode: the first two fields */
			a = strchr(ident, ':');
			b = strchr(now, ':');
			a = a ? strchr(a + 1, ':') : NULL;
			b = b ? strchr(b + 1, ':') : NULL;
			if (a && b && a - ident == b - now && !memcmp(ident, now, (size_t)(a - ident)))
				memcpy(ident, now, STORE_IDENT_MAX);
		}
		close(fd);
	}
}

/*
 * Writes m into the store's manifests/. Not synced: a manifest backs up
 * the catalog's record, whose commit is not synced either
 * (docs/reliability.md, "Durability").
 */
static int put_manifest(struct xrun *x, const struct manifest *m, struct strbuf *why)
{
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT, text = STRBUF_INIT;
	cJSON *o = manifest_to_json(m);
	int ret = -1;

	json_print(o, &text);
	if (store_put_manifest(x->s, m->run_id, text.buf, text.len, &path, &err) < 0) {
		strbuf_addf(why, "exited 0 but %s", err.buf);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(o);
	strbuf_release(&path);
	strbuf_release(&err);
	strbuf_release(&text);
	return ret;
}

/*
 * One output at a time (open, verify, hash, fchmod, close), so any number
 * of outputs needs two descriptors; every output is checked, and checked
 * again unchanged, before the first is renamed. Durability works on paths
 * (the syncer: each published file's data, x->sync_files), so no
 * descriptor is kept.
 */
int publish_stage(struct xrun *x, struct xnode *n, struct strbuf *why)
{
	const struct strvec *outs = &n->gn->config.outputs;
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	struct manifest *m = n->m;
	struct stat *seen = xcalloc(outs->nr + 1, sizeof(*seen));
	int fd = -1, outfd, ret = -1;
	size_t i;

	strbuf_addf(&path, "%s/out", n->staging);
	outfd = open(path.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (outfd < 0) {
		strbuf_addf(why, "exited 0 but its output directory '%s' is gone: %s", path.buf,
			    strerror(errno));
		goto out;
	}
	m->outputs_nr = 0;
	for (i = 0; i < outs->nr; i++) {
		struct manifest_output *o;
		long long size = 0;

		fd = output_open(outfd, n->gn->job, outs->v[i], why);
		if (fd < 0 || output_unwritten(fd, outs->v[i], why) < 0)
			goto out;
		o = manifest_add_output(m, outs->v[i]);
		if (sha256_fd(fd, outs->v[i], o->sha256, &size, &err) < 0) {
			strbuf_addf(why, "exited 0 but its output '%s' cannot be hashed: %s",
				    outs->v[i], err.buf);
			goto out;
		}
		o->size = size;
		if (fstat(fd, &seen[i]) < 0 || fchmod(fd, 0444) < 0) {
			strbuf_addf(why, "exited 0 but its output '%s' cannot be made read-only: %s",
				    outs->v[i], strerror(errno));
			goto out;
		}
		close(fd);
		fd = -1;
	}
	for (i = 0; i < outs->nr; i++) {
		if (!output_unchanged(outfd, outs->v[i], &seen[i])) {
			strbuf_addf(why, "exited 0 but its output '%s' changed while being published",
				    outs->v[i]);
			goto out;
		}
	}
	free(m->run_id);
	m->run_id = xstrdup(n->run_id);
	free(m->job);
	m->job = xstrdup(n->gn->job);
	free(m->version);
	m->version = xstrdup(n->job->version.text);
	m->start_time_us = n->start_us;
	m->end_time_us = n->start_us + n->duration_us;
	job_config_release(&m->config);
	job_config_copy(&m->config, &n->gn->config);
	free(m->log_path);
	m->log_path = xstrdup(n->log_path);
	free(m->host);
	m->host = xstrdup(x->host);
	/*
	 * The manifest goes into the store before any output is renamed: the
	 * store alone can then always tell what every published file is
	 * (databuild recover), and a manifest whose outputs never arrived is
	 * told apart by their hashes.
	 */
	if (put_manifest(x, m, why) < 0)
		goto out;
	for (i = 0; i < outs->nr; i++) {
		strbuf_reset(&path);
		store_data_path(x->s, outs->v[i], &path);
		if (publish_output(x, outfd, outs->v[i], path.buf, &m->outputs[i], why) < 0)
			goto out;
		strvec_push(&x->sync_files, path.buf);
	}
	if (hashes_repeat(m))
		idents_refresh(x, outs, m);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(seen);
	if (outfd >= 0)
		close(outfd);
	strbuf_release(&path);
	strbuf_release(&err);
	return ret;
}

int publish_commit(struct xrun *x, struct xnode *n, struct strbuf *err)
{
	return catalog_publish(x->c, n->m, err);
}

int publish_commit_batch(struct xrun *x, const size_t *nodes, size_t nr, struct strbuf *err)
{
	const struct manifest **ms = xcalloc(nr + 1, sizeof(*ms));
	int ret;

	for (size_t k = 0; k < nr; k++)
		ms[k] = x->nodes[nodes[k]].m;
	ret = catalog_publish_batch(x->c, ms, nr, err);
	free(ms);
	return ret;
}

/* Abandons the dead run `run_id`; a live output must still hash as recorded. */
static int settle_abandoned(struct xrun *x, const char *ref, struct partition *p,
			    struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	char *run_id = xstrdup(p->run_id);
	char hex[SHA256_HEX_SIZE];
	struct strbuf herr = STRBUF_INIT;
	int ret = -1, r;

	if (catalog_finish_run(x->c, run_id, RUN_ABANDONED, -1,
			       "its builder died before it finished", err) < 0)
		goto out;
	strmap_put(&x->abandoned, run_id, (void *)1);
	store_staging_path(x->s, run_id, &path);
	remove_tree(path.buf);
	strbuf_reset(&path);
	partition_release(p);
	partition_init(p);
	r = catalog_get_partition(x->c, ref, p, err);
	if (r < 0)
		goto out;
	if (r > 0 && p->status == PART_LIVE) {
		int fd = store_open_data(x->s, ref, O_RDONLY | O_NONBLOCK);
		int differs = fd < 0 || sha256_fd(fd, ref, hex, NULL, &herr) < 0 ||
			      strcmp(hex, p->sha256);

		if (fd >= 0)
			close(fd);
		if (differs) {
			char *why = xstrfmt("data of '%s' differs from its manifest after run %s "
					    "was interrupted", ref, run_id);

			if (catalog_set_status(x->c, ref, PART_STALE, why, err) < 0) {
				free(why);
				goto out;
			}
			xrun_event(x, EV_PARTITION_STALE, ref, run_id, NULL);
			free(why);
			p->status = PART_STALE;
		}
	}
	ret = 0;
out:
	free(run_id);
	strbuf_release(&path);
	strbuf_release(&herr);
	return ret;
}

int publish_reconcile(struct xrun *x, struct xnode *n, int *fresh, struct strbuf *err)
{
	struct partition p;
	int ret = -1;

	*fresh = 1;
	partition_init(&p);
	for (size_t i = 0; i < n->gn->config.outputs.nr; i++) {
		const char *ref = n->sorted_outputs[i];
		int r;

		partition_release(&p);
		partition_init(&p);
		r = catalog_get_partition(x->c, ref, &p, err);
		if (r < 0)
			goto out;
		if (r > 0 && p.status == PART_BUILDING && p.run_id &&
		    settle_abandoned(x, ref, &p, err) < 0)
			goto out;
		if (r == 0 || p.status != PART_LIVE) {
			*fresh = 0;
		} else if (*fresh && x->o->freshness == FRESH_KEYS) {
			/* the key is computed only when an output could be cut off */
			if (!n->m->build_key[0] && xnode_key(x, n, err) < 0)
				goto out;
			if (strcmp(p.build_key, n->m->build_key))
				*fresh = 0;
		}
	}
	ret = 0;
out:
	partition_release(&p);
	return ret;
}
