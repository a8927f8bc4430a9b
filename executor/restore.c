#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "store/object.h"
#include "executor/internal.h"

/*
 * Restoring earlier versions: databuild rollback and the run cache
 * (docs/design/history.md). An object is read once and its hash compared
 * before it becomes current: the store never serves bytes that differ
 * from what their version recorded.
 */

/*
 * 0 if the object of v holds its bytes, with *fdp open on it and holding a
 * shared flock until the caller closes it (gc removes no object someone
 * holds, so it stays until it is linked); 1 (why) if not, -1 (err).
 */
static int object_check(const struct store *s, const struct version *v, int *fdp,
			struct strbuf *why, struct strbuf *err)
{
	char hex[SHA256_HEX_SIZE];
	struct strbuf e = STRBUF_INIT;
	long long size = -1;
	struct stat st;
	int fd = store_open_object(s, v->sha256, O_RDONLY | O_NONBLOCK), ret = -1;

	if (fd < 0) {
		if (errno == ENOENT) {
			strbuf_addf(why, "the bytes of version %s of '%s' are gone from the object "
				    "store (removed by gc?)", v->run_id, v->ref);
			ret = 1;
		} else {
			strbuf_addf(err, "cannot open the object of version %s of '%s': %s",
				    v->run_id, v->ref, strerror(errno));
		}
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat the object of version %s of '%s': %s", v->run_id,
			    v->ref, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0444) {
		/* someone changed its mode: its bytes are not trusted */
		strbuf_addf(why, "the object of version %s of '%s' is not a read-only file "
			    "(mode %04o)", v->run_id, v->ref, (unsigned)(st.st_mode & 07777));
		ret = 1;
		goto out;
	}
	if (flock(fd, LOCK_SH) < 0) {
		strbuf_addf(err, "cannot lock the object of version %s of '%s': %s", v->run_id,
			    v->ref, strerror(errno));
		goto out;
	}
	if (sha256_fd(fd, v->ref, hex, &size, &e) < 0) {
		strbuf_addf(err, "cannot read the object of version %s of '%s': %s", v->run_id,
			    v->ref, e.buf);
		goto out;
	}
	ret = 0;
	if (strcmp(hex, v->sha256) || size != v->size) {
		strbuf_addf(why, "the object of version %s of '%s' no longer holds its bytes "
			    "(sha256 %.12s, size %lld; recorded %.12s, %lld)", v->run_id, v->ref,
			    hex, size, v->sha256, (long long)v->size);
		ret = 1;
	}
	if (!ret) {
		*fdp = fd;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&e);
	return ret;
}

int executor_restore_versions(struct catalog *c, const struct store *s,
			      const struct version *vs, size_t n, const char *event,
			      int64_t build_id, struct strbuf *why, struct strbuf *err)
{
	char (*idents)[STORE_IDENT_MAX] = xcalloc(n + 1, sizeof(*idents));
	const char **ip = xcalloc(n + 1, sizeof(*ip));
	int *fds = xcalloc(n + 1, sizeof(*fds));
	int ret = -1, r;

	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if ((r = object_check(s, &vs[i], &fds[i], why, err)) != 0) {
			ret = r;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (store_object_install(s, vs[i].sha256, vs[i].ref, idents[i], err) < 0)
			goto out;
		ip[i] = idents[i];
	}
	if (catalog_restore_versions(c, vs, ip, n, event, build_id, err) < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(ip);
	free(idents);
	return ret;
}

/*
 * The newest version of ref with build key `key` into *v: 1, 0 if there
 * is none (or ref is tainted: its owner asked for a run), -1 with err.
 */
static int cached_version(struct xrun *x, const char *ref, const char *key,
			  struct version *v, struct strbuf *err)
{
	struct partition p;
	int r;

	partition_init(&p);
	r = catalog_get_partition(x->c, ref, &p, err);
	if (r > 0 && p.status == PART_TAINTED)
		r = 0;
	else if (r >= 0)
		r = catalog_find_version(x->c, ref, key, v, err);
	partition_release(&p);
	return r;
}

int xnode_restore(struct xrun *x, struct xnode *n, struct strbuf *err)
{
	const struct strvec *outs = &n->gn->config.outputs;
	struct version_list seen = VERSION_LIST_INIT;
	struct version *vs = NULL;
	struct strbuf why = STRBUF_INIT;
	int ret = 0, r;

	if (x->o->no_cache || (x->o->force && n->requested))
		return 0;
	/* a partition never published has nothing to restore: no key needed */
	for (size_t i = 0; i < outs->nr; i++) {
		r = catalog_list_versions(x->c, outs->v[i], &seen, err);
		if (r < 0 || !seen.nr) {
			ret = r < 0 ? -1 : 0;
			goto out;
		}
		version_list_release(&seen);
		seen = (struct version_list)VERSION_LIST_INIT;
	}
	if (!n->m->build_key[0] && xnode_key(x, n, err) < 0) {
		/* the run reports it (n->key_failed path): no restore */
		strbuf_reset(err);
		goto out;
	}
	vs = xcalloc(outs->nr + 1, sizeof(*vs));
	for (size_t i = 0; i < outs->nr; i++)
		version_init(&vs[i]);
	for (size_t i = 0; i < outs->nr; i++) {
		r = cached_version(x, outs->v[i], n->m->build_key, &vs[i], err);
		if (r <= 0) {
			ret = r;
			goto out;
		}
	}
	r = executor_restore_versions(x->c, x->s, vs, outs->nr, EV_PARTITION_RESTORED,
				      x->build_id, &why, err);
	/* r > 0: an object is gone or changed; the job runs instead */
	ret = r < 0 ? -1 : r == 0;
out:
	if (vs) {
		for (size_t i = 0; i < outs->nr; i++)
			version_release(&vs[i]);
		free(vs);
	}
	version_list_release(&seen);
	strbuf_release(&why);
	return ret;
}
