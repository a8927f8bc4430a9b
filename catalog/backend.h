#ifndef DATABUILD_CATALOG_BACKEND_H
#define DATABUILD_CATALOG_BACKEND_H

#include "catalog/catalog.h"

struct query_backend;

/*
 * What a catalog backend implements (internal to catalog/: callers use
 * the catalog_*() wrappers of catalog.h). One table per backend:
 * catalog_sqlite_ops (sqlite.h), catalog_pg_ops (postgres.h, in the
 * loadable module of module.h). The SQL backends point most entries at
 * the shared q_* functions of query.h, which run on their query adapter.
 *
 * Each op has the contract of its catalog_*() wrapper, with c->ops,
 * c->store and c->location set, and c->impl as the backend's open left
 * it. The wrappers have already done the following, so a backend does not:
 * out-structures are initialised (partition_init, build_record_init,
 * run_record_init, manifest_init), *avg_us, *seq and counts[] are 0,
 * *out of lease_acquire is NULL and *fd of watch is -1; prefix and dir
 * are never NULL; status_mask is never 0 (0 became every status);
 * append_events gets n > 0 and lease_release a lease it handed out;
 * find_version and get_version get a version_init'ed out, restore_versions,
 * remove_partitions and delete_versions n > 0 (*deleted 0, never NULL).
 */
struct catalog_ops {
	const char *name;  /* "sqlite", "postgresql" */
	/* The SQL adapter the shared q_* entries run on (query.h), or NULL. */
	const struct query_backend *query;
	/* Sets c->impl; on failure frees all it made (close is not called). */
	int (*open)(struct catalog *c, struct strbuf *err);
	void (*close)(struct catalog *c);

	int (*get_partition)(struct catalog *c, const char *ref, struct partition *out,
			     struct strbuf *err);
	/* Optional: many at once (catalog_get_partitions; NULL: get_partition each). */
	int (*get_partitions)(struct catalog *c, const char *const *refs, size_t n,
			      struct partition *out, struct strbuf *err);
	int (*list_partitions)(struct catalog *c, const char *prefix, const char *after,
			       size_t limit, unsigned status_mask,
			       struct partition_list *out, struct strbuf *err);
	int (*list_children)(struct catalog *c, const char *dir, const char *after,
			     size_t limit, struct strvec *names, struct strbuf *err);

	int (*begin_build)(struct catalog *c, const struct strvec *refs,
			   const char *requester, const struct event *es, size_t n,
			   int64_t *build_id, struct strbuf *err);
	int (*finish_build)(struct catalog *c, int64_t build_id, const char *status,
			    struct strbuf *err);
	int (*get_build)(struct catalog *c, int64_t build_id, struct build_record *out,
			 struct strbuf *err);

	int (*begin_run)(struct catalog *c, struct run_record *run, struct strbuf *err);
	int (*set_run_pid)(struct catalog *c, const char *run_id, long pid,
			   struct strbuf *err);
	int (*publish)(struct catalog *c, const struct manifest *m, struct strbuf *err);
	int (*publish_batch)(struct catalog *c, const struct manifest *const *ms, size_t n,
			     struct strbuf *err);
	int (*finish_run)(struct catalog *c, const char *run_id, enum run_status status,
			  int exit_status, const char *error, struct strbuf *err);
	int (*get_run)(struct catalog *c, const char *run_id, struct run_record *out,
		       struct strbuf *err);
	int (*get_manifest)(struct catalog *c, const char *run_id, struct manifest *out,
			    struct strbuf *err);
	int (*last_durations)(struct catalog *c, const char *job, size_t n,
			      int64_t *avg_us, struct strbuf *err);

	int (*append_event)(struct catalog *c, const struct event *e, int64_t *seq,
			    struct strbuf *err);
	int (*append_events)(struct catalog *c, const struct event *es, size_t n,
			     struct strbuf *err);
	int (*read_events)(struct catalog *c, int64_t after_seq, size_t limit,
			   int (*fn)(const struct event *e, void *arg), void *arg,
			   struct strbuf *err);
	int (*last_event_seq)(struct catalog *c, int64_t *seq, struct strbuf *err);

	int (*taint)(struct catalog *c, const struct strvec *refs, int downstream,
		     int64_t build_id, struct strvec *changed, struct strbuf *err);
	int (*lineage)(struct catalog *c, const char *ref, int downstream,
		       struct strvec *refs, struct strbuf *err);
	int (*set_ident)(struct catalog *c, const char *ref, const char *published_run,
			 const char *ident, struct strbuf *err);
	int (*get_meta)(struct catalog *c, const char *key, char **value, struct strbuf *err);
	int (*set_meta)(struct catalog *c, const char *key, const char *value,
			struct strbuf *err);
	int (*set_status)(struct catalog *c, const char *ref, enum part_status status,
			  const char *error, struct strbuf *err);

	int (*lease_acquire)(struct catalog *c, const char *ref, int wait,
			     struct lease **out, struct strbuf *err);
	void (*lease_release)(struct catalog *c, struct lease *l);

	int (*count_partitions)(struct catalog *c, unsigned status_mask, int64_t *counts,
				struct strbuf *err);

	int (*list_versions)(struct catalog *c, const char *ref, struct version_list *out,
			     struct strbuf *err);
	int (*page_versions)(struct catalog *c, const char *prefix, const char *after_ref,
			     int64_t after_us, size_t limit, struct version_list *out,
			     struct strbuf *err);
	int (*find_version)(struct catalog *c, const char *ref, const char *build_key,
			    struct version *out, struct strbuf *err);
	int (*get_version)(struct catalog *c, const char *ref, const char *which,
			   struct version *out, struct strbuf *err);
	int (*restore_versions)(struct catalog *c, const struct version *vs,
				const char *const *idents, size_t n, const char *event,
				int64_t build_id, struct strbuf *err);
	int (*remove_partitions)(struct catalog *c, const struct strvec *refs,
				 struct strbuf *err);
	int (*delete_versions)(struct catalog *c, const struct version *vs, size_t n,
			       size_t *deleted, struct strbuf *err);
	int (*hash_referenced)(struct catalog *c, const char *sha256, struct strbuf *err);
	int (*run_referenced)(struct catalog *c, const char *run_id, struct strbuf *err);

	/* NULL if the backend cannot notify (catalog_watch then answers 0);
	 * released may be NULL (catalog_watch_leases). */
	int (*watch)(struct catalog *c, int *fd, struct strvec *released, struct strbuf *err);
	/* NULL if the backend keeps no such counter (catalog_data_version answers 0). */
	int (*data_version)(struct catalog *c, uint64_t *out);
};

#endif
