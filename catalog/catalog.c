#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "catalog/backend.h"
#include "catalog/module.h"
#include "catalog/sqlite.h"
#include "core/array.h"
#include "core/hash.h"
#include "store/object.h"

/* "scheme:" prefix of location, if it has one (letters, digits, + - . before ':'). */
static size_t scheme_len(const char *loc)
{
	size_t i = 0;

	if (!isalpha((unsigned char)loc[0]))
		return 0;
	while (isalnum((unsigned char)loc[i]) || loc[i] == '+' || loc[i] == '-' || loc[i] == '.')
		i++;
	return loc[i] == ':' && i > 1 ? i : 0;
}

/*
 * location with the password of a URL ("scheme://user:PASSWORD@host/...")
 * and any "password=" parameter replaced by "***", for messages.
 */
static char *mask_password(const char *location)
{
	struct strbuf out = STRBUF_INIT;
	const char *auth = strstr(location, "://"), *end, *at = NULL, *colon = NULL, *p;

	if (!auth) {
		strbuf_addstr(&out, location);
		goto params;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at)
		colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon) {
		strbuf_add(&out, location, (size_t)(colon + 1 - location));
		strbuf_addstr(&out, "***");
		strbuf_addstr(&out, at);
	} else {
		strbuf_addstr(&out, location);
	}
params:
	for (size_t i = 0; i < out.len; i++) {
		static const char key[] = "password=";
		size_t vend;

		if (strncmp(out.buf + i, key, sizeof(key) - 1) ||
		    (i && out.buf[i - 1] != '?' && out.buf[i - 1] != '&' && out.buf[i - 1] != ' '))
			continue;
		i += sizeof(key) - 1;
		vend = i + strcspn(out.buf + i, "& ");
		if (vend - i == 3 && !strncmp(out.buf + i, "***", 3))
			continue;
		{
			struct strbuf rest = STRBUF_INIT;

			strbuf_addstr(&rest, out.buf + vend);
			strbuf_setlen(&out, i);
			strbuf_addstr(&out, "***");
			strbuf_addbuf(&out, &rest);
			strbuf_release(&rest);
		}
	}
	return strbuf_detach(&out, NULL);
}

static int open_location(struct catalog *c, const struct store *store, const char *location,
			 struct strbuf *err)
{
	size_t n;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	c->store = store;
	if (!location || !*location) {
		struct strbuf path = STRBUF_INIT;

		store_path(store, "catalog.db", &path);
		c->location = strbuf_detach(&path, NULL);
		c->ops = &catalog_sqlite_ops;
	} else if ((n = scheme_len(location))) {
		if (n == 6 && !strncmp(location, "sqlite", 6) && location[7]) {
			c->location = xstrdup(location + 7);
			c->ops = &catalog_sqlite_ops;
		} else if (n == 6 && !strncmp(location, "sqlite", 6)) {
			strbuf_addf(err, "catalog '%s': no file after 'sqlite:'", location);
			goto out;
		} else if ((n == 10 && !strncmp(location, "postgresql", 10)) ||
			   (n == 8 && !strncmp(location, "postgres", 8))) {
			const struct catalog_module *m;

			c->location = mask_password(location);
			if (catalog_module_load(CATALOG_PG_MODULE, c->location, &m, err) < 0)
				goto out;
			c->ops = m->ops;
			if (m->open(c, location, err) < 0)
				goto out;
			ret = 0;
			goto out;
		} else {
			strbuf_addf(err, "catalog '%s': unknown scheme '%.*s' (expected sqlite:PATH "
				    "or a file path)", location, (int)n, location);
			goto out;
		}
	} else {
		c->location = xstrdup(location);
		c->ops = &catalog_sqlite_ops;
	}
	if (c->ops->open(c, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		free(c->location);
		c->location = NULL;
		c->ops = NULL;
	}
	return ret;
}

/*
 * A catalog serves one store: both carry the store's id. A catalog without
 * one is new (it takes the store's) unless the store already published
 * something: then the catalog was emptied, truncated or replaced, and
 * opening it would report everything as never built.
 */
static int check_store_id(struct catalog *c, struct strbuf *err)
{
	char id[STORE_ID_LEN + 1];
	char *mine = NULL;
	int has_id, has_data, ret = -1;

	if (catalog_get_meta(c, CATALOG_META_STORE_ID, &mine, err) < 0)
		goto out;
	has_id = store_id(c->store, 0, id, err);
	if (has_id < 0)
		goto out;
	if (mine && has_id && !strcmp(mine, id)) {
		ret = 0;
		goto out;
	}
	if (mine) {
		strbuf_addf(err, "catalog '%s' belongs to another store (id %s), not to store '%s' "
			    "(%s%s): point --catalog at this store's catalog, or rebuild one "
			    "from the store with 'databuild recover'", c->location, mine,
			    c->store->root, has_id ? "id " : "which has no store.id",
			    has_id ? id : "");
		goto out;
	}
	has_data = has_id ? store_has_published(c->store) : 0;
	if (has_data < 0) {
		strbuf_addf(err, "store '%s': cannot list it: %s", c->store->root, strerror(errno));
		goto out;
	}
	if (has_data) {
		strbuf_addf(err, "catalog '%s' is empty or was replaced: it does not carry the id "
			    "of store '%s' (%s), which holds published partitions; nothing was "
			    "changed. Rebuild the catalog from the store with 'databuild "
			    "recover'", c->location, c->store->root, id);
		goto out;
	}
	/* a new store, or one from before store ids: the catalog takes its id */
	if (store_id(c->store, 1, id, err) < 0 ||
	    catalog_set_meta(c, CATALOG_META_STORE_ID, id, err) < 0)
		goto out;
	ret = 0;
out:
	free(mine);
	return ret;
}

int catalog_open(struct catalog *c, const struct store *store, const char *location,
		 struct strbuf *err)
{
	if (open_location(c, store, location, err) < 0)
		return -1;
	if (check_store_id(c, err) < 0) {
		catalog_close(c);
		return -1;
	}
	return 0;
}

int catalog_open_unchecked(struct catalog *c, const struct store *store,
			   const char *location, struct strbuf *err)
{
	return open_location(c, store, location, err);
}

void catalog_close(struct catalog *c)
{
	if (c->ops)
		c->ops->close(c);
	free(c->location);
	c->location = NULL;
	c->ops = NULL;
	c->impl = NULL;
}

int catalog_get_partition(struct catalog *c, const char *ref, struct partition *out,
			  struct strbuf *err)
{
	partition_init(out);
	return c->ops->get_partition(c, ref, out, err);
}

int catalog_get_partitions(struct catalog *c, const char *const *refs, size_t n,
			   struct partition *out, struct strbuf *err)
{
	for (size_t i = 0; i < n; i++)
		partition_init(&out[i]);
	if (n > 1 && c->ops->get_partitions)
		return c->ops->get_partitions(c, refs, n, out, err);
	for (size_t i = 0; i < n; i++)
		if (c->ops->get_partition(c, refs[i], &out[i], err) < 0)
			return -1;
	return 0;
}

int catalog_lookups_batched(const struct catalog *c)
{
	return c->ops->get_partitions != NULL;
}

int catalog_list_partitions(struct catalog *c, const char *prefix, const char *after,
			    size_t limit, unsigned status_mask,
			    struct partition_list *out, struct strbuf *err)
{
	return c->ops->list_partitions(c, prefix ? prefix : "", after, limit, status_mask,
				       out, err);
}

int catalog_list_children(struct catalog *c, const char *dir, const char *after,
			  size_t limit, struct strvec *names, struct strbuf *err)
{
	return c->ops->list_children(c, dir ? dir : "", after, limit, names, err);
}

int catalog_begin_build(struct catalog *c, const struct strvec *refs,
			const char *requester, int64_t *build_id, struct strbuf *err)
{
	return c->ops->begin_build(c, refs, requester, NULL, 0, build_id, err);
}

int catalog_begin_build_events(struct catalog *c, const struct strvec *refs,
			       const char *requester, const struct event *es, size_t n,
			       int64_t *build_id, struct strbuf *err)
{
	return c->ops->begin_build(c, refs, requester, n ? es : NULL, n, build_id, err);
}

int catalog_finish_build(struct catalog *c, int64_t build_id, const char *status,
			 struct strbuf *err)
{
	return c->ops->finish_build(c, build_id, status, err);
}

int catalog_get_build(struct catalog *c, int64_t build_id, struct build_record *out,
		      struct strbuf *err)
{
	build_record_init(out);
	return c->ops->get_build(c, build_id, out, err);
}

int catalog_begin_run(struct catalog *c, struct run_record *run, struct strbuf *err)
{
	return c->ops->begin_run(c, run, err);
}

int catalog_set_run_pid(struct catalog *c, const char *run_id, long pid,
			struct strbuf *err)
{
	return c->ops->set_run_pid(c, run_id, pid, err);
}

int catalog_publish(struct catalog *c, const struct manifest *m, struct strbuf *err)
{
	return c->ops->publish(c, m, err);
}

int catalog_publish_batch(struct catalog *c, const struct manifest *const *ms, size_t n,
			  struct strbuf *err)
{
	return c->ops->publish_batch(c, ms, n, err);
}

int catalog_finish_run(struct catalog *c, const char *run_id, enum run_status status,
		       int exit_status, const char *error, struct strbuf *err)
{
	return c->ops->finish_run(c, run_id, status, exit_status, error, err);
}

int catalog_get_run(struct catalog *c, const char *run_id, struct run_record *out,
		    struct strbuf *err)
{
	run_record_init(out);
	return c->ops->get_run(c, run_id, out, err);
}

int catalog_get_manifest(struct catalog *c, const char *run_id, struct manifest *out,
			 struct strbuf *err)
{
	manifest_init(out);
	return c->ops->get_manifest(c, run_id, out, err);
}

int catalog_last_durations(struct catalog *c, const char *job, size_t n,
			   int64_t *avg_us, struct strbuf *err)
{
	*avg_us = 0;
	return c->ops->last_durations(c, job, n, avg_us, err);
}

int catalog_append_event(struct catalog *c, const struct event *e, int64_t *seq,
			 struct strbuf *err)
{
	return c->ops->append_event(c, e, seq, err);
}

int catalog_append_events(struct catalog *c, const struct event *es, size_t n,
			  struct strbuf *err)
{
	return n ? c->ops->append_events(c, es, n, err) : 0;
}

int catalog_read_events(struct catalog *c, int64_t after_seq, size_t limit,
			int (*fn)(const struct event *e, void *arg), void *arg,
			struct strbuf *err)
{
	return c->ops->read_events(c, after_seq, limit, fn, arg, err);
}

int catalog_last_event_seq(struct catalog *c, int64_t *seq, struct strbuf *err)
{
	*seq = 0;
	return c->ops->last_event_seq(c, seq, err);
}

int catalog_data_version(struct catalog *c, uint64_t *out)
{
	*out = 0;
	return c->ops->data_version ? c->ops->data_version(c, out) : 0;
}

int catalog_count_partitions(struct catalog *c, unsigned status_mask, int64_t *counts,
			     struct strbuf *err)
{
	for (int i = 0; i < PART_STATUS_NR; i++)
		counts[i] = 0;
	return c->ops->count_partitions(c, status_mask ? status_mask : ~0u, counts, err);
}

int catalog_taint(struct catalog *c, const struct strvec *refs, int downstream,
		  int64_t build_id, struct strvec *changed, struct strbuf *err)
{
	return c->ops->taint(c, refs, downstream, build_id, changed, err);
}

int catalog_lineage(struct catalog *c, const char *ref, int downstream,
		    struct strvec *refs, struct strbuf *err)
{
	return c->ops->lineage(c, ref, downstream, refs, err);
}

int catalog_set_ident(struct catalog *c, const char *ref, const char *published_run,
		      const char *ident, struct strbuf *err)
{
	return c->ops->set_ident(c, ref, published_run, ident, err);
}

int catalog_check_data(struct catalog *c, struct partition *p, struct strbuf *why,
		       struct strbuf *err)
{
	char hex[SHA256_HEX_SIZE], ident[STORE_IDENT_MAX];
	struct strbuf e = STRBUF_INIT;
	long long size = -1;
	struct stat st;
	int kind, fd = -1, ret = -1;

	if ((p->status != PART_LIVE && p->status != PART_STALE && p->status != PART_TAINTED) ||
	    !p->published_run || !p->sha256[0])
		return 0;
	kind = store_check_data(c->store, p->ref, p->ident, p->size, NULL, why);
	if (kind < 0) {
		strbuf_addf(err, "partition '%s': %s", p->ref, why->buf);
		goto out;
	}
	if (kind == STORE_CHANGED || kind == STORE_RELINKED) {
		/*
		 * same size, other identity: a copied store, bytes changed in
		 * place, or (ctime alone) a link of its object added or removed
		 */
		fd = store_open_data(c->store, p->ref, O_RDONLY);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size == p->size &&
		    sha256_fd(fd, p->ref, hex, &size, &e) == 0 && !strcmp(hex, p->sha256)) {
			store_ident_format(&st, ident);
			if (catalog_set_ident(c, p->ref, p->published_run, ident, err) < 0)
				goto out;
			free(p->ident);
			p->ident = xstrdup(ident);
			strbuf_reset(why);
			kind = STORE_INTACT;
		} else if (size >= 0) {
			strbuf_reset(why);
			strbuf_addstr(why, "its data file changed since it was published "
				      "(its bytes no longer match the manifest's sha256)");
		} else if (kind == STORE_RELINKED) {
			strbuf_reset(why);
			strbuf_addf(why, "its data file cannot be read to check it: %s",
				    e.len ? e.buf : strerror(errno));
		}
	}
	if (kind != STORE_INTACT) {
		/* the object it is a name of holds other bytes now: none may reuse it */
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			store_object_drop(c->store, p->sha256, &st);
		if (catalog_set_status(c, p->ref, PART_DAMAGED, why->buf, err) < 0)
			goto out;
		p->status = PART_DAMAGED;
		free(p->error);
		p->error = xstrdup(why->buf);
	}
	ret = kind != STORE_INTACT;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&e);
	return ret;
}

int catalog_list_versions(struct catalog *c, const char *ref, struct version_list *out,
			  struct strbuf *err)
{
	return c->ops->list_versions(c, ref, out, err);
}

int catalog_page_versions(struct catalog *c, const char *prefix, const char *after_ref,
			  int64_t after_us, size_t limit, struct version_list *out,
			  struct strbuf *err)
{
	return c->ops->page_versions(c, prefix ? prefix : "", after_ref, after_us, limit, out,
				     err);
}

int catalog_find_version(struct catalog *c, const char *ref, const char *build_key,
			 struct version *out, struct strbuf *err)
{
	version_init(out);
	return c->ops->find_version(c, ref, build_key, out, err);
}

int catalog_get_version(struct catalog *c, const char *ref, const char *which,
			struct version *out, struct strbuf *err)
{
	version_init(out);
	return c->ops->get_version(c, ref, which, out, err);
}

int catalog_restore_versions(struct catalog *c, const struct version *vs,
			     const char *const *idents, size_t n, const char *event,
			     int64_t build_id, struct strbuf *err)
{
	return n ? c->ops->restore_versions(c, vs, idents, n, event, build_id, err) : 0;
}

int catalog_remove_partitions(struct catalog *c, const struct strvec *refs,
			      struct strbuf *err)
{
	return refs->nr ? c->ops->remove_partitions(c, refs, err) : 0;
}

int catalog_delete_versions(struct catalog *c, const struct version *vs, size_t n,
			    size_t *deleted, struct strbuf *err)
{
	size_t scratch = 0;

	if (!deleted)
		deleted = &scratch;
	*deleted = 0;
	return n ? c->ops->delete_versions(c, vs, n, deleted, err) : 0;
}

int catalog_hash_referenced(struct catalog *c, const char *sha256, struct strbuf *err)
{
	return c->ops->hash_referenced(c, sha256, err);
}

int catalog_run_referenced(struct catalog *c, const char *run_id, struct strbuf *err)
{
	return c->ops->run_referenced(c, run_id, err);
}

int catalog_get_meta(struct catalog *c, const char *key, char **value, struct strbuf *err)
{
	*value = NULL;
	return c->ops->get_meta(c, key, value, err);
}

int catalog_set_meta(struct catalog *c, const char *key, const char *value,
		     struct strbuf *err)
{
	return c->ops->set_meta(c, key, value, err);
}

int catalog_set_status(struct catalog *c, const char *ref, enum part_status status,
		       const char *error, struct strbuf *err)
{
	return c->ops->set_status(c, ref, status, error, err);
}

int catalog_lease_acquire(struct catalog *c, const char *ref, int wait,
			  struct lease **out, struct strbuf *err)
{
	*out = NULL;
	return c->ops->lease_acquire(c, ref, wait, out, err);
}

void catalog_lease_release(struct catalog *c, struct lease *l)
{
	if (l)
		c->ops->lease_release(c, l);
}

int catalog_watch(struct catalog *c, int *fd, struct strbuf *err)
{
	*fd = -1;
	return c->ops->watch ? c->ops->watch(c, fd, NULL, err) : 0;
}

int catalog_watch_leases(struct catalog *c, int *fd, struct strvec *released,
			 struct strbuf *err)
{
	*fd = -1;
	return c->ops->watch ? c->ops->watch(c, fd, released, err) : 0;
}
