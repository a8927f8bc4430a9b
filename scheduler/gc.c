#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/fingerprint.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/strmap.h"
#include "scheduler/gc.h"
#include "store/gc.h"

/* Versions read from the catalog per page, and deleted per transaction. */
#define GC_PAGE 1000
#define GC_DELETE_BATCH 500
#define DAY_US (86400LL * 1000000)

static const char *const kind_names[GC_KIND_NR] = {
	[GC_VERSIONS] = "versions",
	[GC_OBJECTS] = "objects",
	[GC_LOGS] = "logs",
	[GC_LOCKS] = "locks",
	[GC_STAGING] = "staging",
	[GC_HASHES] = "hashes",
};

const char *gc_kind_name(enum gc_kind k)
{
	return k < GC_KIND_NR ? kind_names[k] : "?";
}

/* One collection: its inputs and what the version pass learnt. */
struct gc {
	struct catalog *c;
	const struct store *s;
	const struct graph *g;
	int dry_run;
	int64_t now_us;
	struct gc_report *r;
	struct strmap kept;        /* sha256 -> (void *)1: a kept version references it */
	struct strmap doomed;      /* sha256 -> (void *)1: a removed version referenced it */
	struct strmap kept_runs;   /* run id -> (void *)1: a kept version names it */
	struct strmap doomed_runs; /* run id -> its removed version's ref (owned) */
	struct strmap lock_refs;   /* sha256(ref) -> the ref (owned): refs with a lease */
	struct version_list group; /* the versions of one ref seen so far, oldest first */
	struct version_list out;   /* versions to delete, not yet deleted */
};

static void map_free_values(struct strmap *m)
{
	void *v;

	for (size_t i = 0; strmap_next(m, &i, NULL, &v);)
		free(v);
	strmap_clear(m);
}

static void version_push(struct version_list *l, const struct version *v)
{
	ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	version_copy(&l->items[l->nr++], v);
}

static void lock_ref_note(struct gc *gc, const char *ref)
{
	char hex[SHA256_HEX_SIZE];

	sha256_hex(ref, strlen(ref), hex);
	if (!strmap_contains(&gc->lock_refs, hex))
		strmap_put(&gc->lock_refs, hex, xstrdup(ref));
}

/* Deletes the versions in gc->out (dry run: counts them). */
static int flush_out(struct gc *gc, struct strbuf *err)
{
	size_t deleted = gc->out.nr;
	int ret = -1;

	if (!gc->dry_run &&
	    catalog_delete_versions(gc->c, gc->out.items, gc->out.nr, &deleted, err) < 0)
		goto out;
	gc->r->freed[GC_VERSIONS].count += deleted;
	for (size_t i = 0; i < gc->out.nr; i++)
		gc->r->freed[GC_VERSIONS].bytes += gc->out.items[i].size > 0 ?
						   gc->out.items[i].size : 0;
	ret = 0;
out:
	version_list_release(&gc->out);
	return ret;
}

/* Decides the versions of one ref (gc->group, oldest first) by its policy. */
static int judge_group(struct gc *gc, struct strbuf *err)
{
	struct retention policy;
	int ret = -1;

	if (!gc->group.nr)
		return 0;
	graph_retention(gc->g, gc->group.items[0].ref, &policy);
	for (size_t i = gc->group.nr; i-- > 0;) {
		const struct version *v = &gc->group.items[i];
		size_t rank = gc->group.nr - 1 - i;
		int keep = retention_keeps(&policy, v->current, rank, gc->now_us - v->time_us);

		if (!keep) {
			int held = store_object_held(gc->s, v->sha256, err);

			if (held < 0)
				goto out;
			if (held) {
				gc->r->held_versions++;
				keep = 1;
			}
		}
		if (keep) {
			strmap_put(&gc->kept, v->sha256, (void *)1);
			if (v->run_id)
				strmap_put(&gc->kept_runs, v->run_id, (void *)1);
			continue;
		}
		strmap_put(&gc->doomed, v->sha256, (void *)1);
		if (v->run_id && !strmap_contains(&gc->doomed_runs, v->run_id))
			strmap_put(&gc->doomed_runs, v->run_id, xstrdup(v->ref));
		version_push(&gc->out, v);
	}
	if (gc->out.nr >= GC_DELETE_BATCH && flush_out(gc, err) < 0)
		goto out;
	ret = 0;
out:
	version_list_release(&gc->group);
	return ret;
}

/* Pass 1: every version, ref by ref; those outside the policy go. */
static int collect_versions(struct gc *gc, struct strbuf *err)
{
	struct version_list page = VERSION_LIST_INIT;
	char *after_ref = NULL;
	int64_t after_us = 0;
	int ret = -1;

	for (;;) {
		version_list_release(&page);
		if (catalog_page_versions(gc->c, "", after_ref, after_us, GC_PAGE, &page,
					  err) < 0)
			goto out;
		for (size_t i = 0; i < page.nr; i++) {
			const struct version *v = &page.items[i];

			if (gc->group.nr && strcmp(gc->group.items[0].ref, v->ref) &&
			    judge_group(gc, err) < 0)
				goto out;
			if (!gc->group.nr)
				lock_ref_note(gc, v->ref);
			version_push(&gc->group, v);
		}
		if (page.nr < GC_PAGE)
			break;
		free(after_ref);
		after_ref = xstrdup(page.items[page.nr - 1].ref);
		after_us = page.items[page.nr - 1].time_us;
	}
	if (judge_group(gc, err) < 0 || flush_out(gc, err) < 0)
		goto out;
	ret = 0;
out:
	version_list_release(&page);
	free(after_ref);
	return ret;
}

/* The refs of every partition row, for the lock files. */
static int note_partitions(struct gc *gc, struct strbuf *err)
{
	struct partition_list page = PARTITION_LIST_INIT;
	char *after = NULL;
	int ret = -1;

	for (;;) {
		partition_list_release(&page);
		if (catalog_list_partitions(gc->c, "", after, GC_PAGE, 0, &page, err) < 0)
			goto out;
		for (size_t i = 0; i < page.nr; i++)
			lock_ref_note(gc, page.items[i].ref);
		if (page.nr < GC_PAGE)
			break;
		free(after);
		after = xstrdup(page.items[page.nr - 1].ref);
	}
	ret = 0;
out:
	partition_list_release(&page);
	free(after);
	return ret;
}

/* 1 if sha256 is still referenced (as it will be after the version pass). */
static int hash_needed(struct gc *gc, const char *sha256, struct strbuf *err)
{
	if (strmap_contains(&gc->kept, sha256))
		return 1;
	/* a dry run deleted nothing: what only removed versions name is free */
	if (gc->dry_run && strmap_contains(&gc->doomed, sha256))
		return 0;
	return catalog_hash_referenced(gc->c, sha256, err);
}

static int object_visit(const char *sha256, const struct stat *st, void *arg,
			struct strbuf *err)
{
	struct gc *gc = arg;
	int64_t bytes = 0;
	int r = hash_needed(gc, sha256, err);

	if (r != 0)
		return r < 0 ? -1 : 0;
	r = store_object_collect(gc->s, sha256, gc->dry_run, &bytes, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		gc->r->held_objects++;
		return 0;
	}
	gc->r->freed[GC_OBJECTS].count++;
	gc->r->freed[GC_OBJECTS].bytes += bytes;
	return 0;
}

/*
 * The run run_id as the catalog has it: 1 finished (not running), 0
 * running or unknown, -1.
 */
static int run_finished(struct gc *gc, const char *run_id, struct strbuf *err)
{
	struct run_record run;
	int r = catalog_get_run(gc->c, run_id, &run, err);

	if (r > 0) {
		r = run.status != RUN_RUNNING;
		run_record_release(&run);
	}
	return r;
}

/* 1 if run_id is still named (after the version pass), 0 if not, -1. */
static int run_needed(struct gc *gc, const char *run_id, struct strbuf *err)
{
	const char *ref;
	struct partition p;
	int r;

	if (strmap_contains(&gc->kept_runs, run_id))
		return 1;
	if (!gc->dry_run || !(ref = strmap_get(&gc->doomed_runs, run_id)))
		return catalog_run_referenced(gc->c, run_id, err);
	/* dry run: its versions are going; does its partition's row name it? */
	r = catalog_get_partition(gc->c, ref, &p, err);
	if (r > 0) {
		r = (p.run_id && !strcmp(p.run_id, run_id)) ||
		    (p.published_run && !strcmp(p.published_run, run_id));
		partition_release(&p);
	}
	return r;
}

static int log_visit(const char *run_id, const struct stat *st, void *arg, struct strbuf *err)
{
	struct gc *gc = arg;
	struct strbuf path = STRBUF_INIT;
	int r, ret = -1;

	if ((r = run_finished(gc, run_id, err)) <= 0 || (r = run_needed(gc, run_id, err))) {
		ret = r < 0 ? -1 : 0;
		goto out;
	}
	store_log_path(gc->s, run_id, &path);
	if (!gc->dry_run && unlink(path.buf) < 0 && errno != ENOENT) {
		strbuf_addf(err, "log '%s': cannot remove: %s", path.buf, strerror(errno));
		goto out;
	}
	gc->r->freed[GC_LOGS].count++;
	gc->r->freed[GC_LOGS].bytes += store_disk_bytes(st);
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

static int lock_visit(const char *name, const struct stat *st, void *arg, struct strbuf *err)
{
	struct gc *gc = arg;
	const char *ref = strmap_get(&gc->lock_refs, name);
	struct lease *lease = NULL;
	int64_t bytes = 0;
	int r;

	if (ref) {
		r = catalog_lease_acquire(gc->c, ref, 0, &lease, err);
		if (r <= 0)
			return r;  /* 0: a builder holds it */
	}
	r = store_lock_remove(gc->s, name, ref != NULL, gc->dry_run, &bytes, err);
	if (lease)
		catalog_lease_release(gc->c, lease);
	if (r > 0) {
		gc->r->freed[GC_LOCKS].count++;
		gc->r->freed[GC_LOCKS].bytes += bytes;
	}
	return r < 0 ? -1 : 0;
}

static int staging_visit(const char *run_id, const struct stat *st, void *arg,
			 struct strbuf *err)
{
	struct gc *gc = arg;
	struct strbuf path = STRBUF_INIT;
	int64_t bytes;
	int r, ret = -1;

	if ((r = run_finished(gc, run_id, err)) <= 0) {
		ret = r;
		goto out;
	}
	store_staging_path(gc->s, run_id, &path);
	bytes = store_tree_bytes(path.buf);
	if (!gc->dry_run && remove_tree(path.buf) < 0) {
		strbuf_addf(err, "staging directory '%s': cannot remove: %s", path.buf,
			    strerror(errno));
		goto out;
	}
	gc->r->freed[GC_STAGING].count++;
	gc->r->freed[GC_STAGING].bytes += bytes;
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

static int prune_hashes(struct gc *gc, struct strbuf *err)
{
	struct strbuf dir = STRBUF_INIT;
	int ret;

	store_path(gc->s, STORE_HASHES_DIR, &dir);
	ret = fingerprint_prune(dir.buf, gc->dry_run, &gc->r->freed[GC_HASHES].count,
				&gc->r->freed[GC_HASHES].bytes, err);
	strbuf_release(&dir);
	return ret;
}

int gc_run(struct catalog *c, const struct store *s, const struct graph *g, int dry_run,
	   int64_t now_us, struct gc_report *r, struct strbuf *err)
{
	struct gc gc = { .c = c, .s = s, .g = g, .dry_run = dry_run, .now_us = now_us, .r = r,
			 .kept = STRMAP_INIT, .doomed = STRMAP_INIT, .kept_runs = STRMAP_INIT,
			 .doomed_runs = STRMAP_INIT, .lock_refs = STRMAP_INIT,
			 .group = VERSION_LIST_INIT, .out = VERSION_LIST_INIT };
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->dry_run = dry_run;
	if (collect_versions(&gc, err) < 0 ||
	    store_walk_objects(s, object_visit, &gc, err) < 0 ||
	    store_walk_logs(s, log_visit, &gc, err) < 0 ||
	    note_partitions(&gc, err) < 0 ||
	    store_walk_locks(s, lock_visit, &gc, err) < 0 ||
	    store_walk_staging(s, staging_visit, &gc, err) < 0 ||
	    prune_hashes(&gc, err) < 0)
		goto out;
	ret = 0;
out:
	strmap_clear(&gc.kept);
	strmap_clear(&gc.doomed);
	strmap_clear(&gc.kept_runs);
	map_free_values(&gc.doomed_runs);
	map_free_values(&gc.lock_refs);
	version_list_release(&gc.group);
	version_list_release(&gc.out);
	return ret;
}

cJSON *gc_report_to_json(const struct gc_report *r)
{
	cJSON *o = cJSON_CreateObject(), *held;

	cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
	for (int k = 0; k < GC_KIND_NR; k++) {
		cJSON *f = cJSON_CreateObject();

		json_add_int64(f, "count", (int64_t)r->freed[k].count);
		json_add_int64(f, "bytes", r->freed[k].bytes);
		cJSON_AddItemToObject(o, kind_names[k], f);
	}
	held = cJSON_CreateObject();
	json_add_int64(held, "versions", (int64_t)r->held_versions);
	json_add_int64(held, "objects", (int64_t)r->held_objects);
	cJSON_AddItemToObject(o, "held", held);
	return o;
}

void gc_report_summary(const struct gc_report *r, struct strbuf *out)
{
	strbuf_addstr(out, r->dry_run ? "would free" : "freed");
	for (int k = 0; k < GC_KIND_NR; k++)
		strbuf_addf(out, "%s %llu %s (%lld bytes)", k ? "," : "",
			    (unsigned long long)r->freed[k].count, kind_names[k],
			    (long long)r->freed[k].bytes);
	if (r->held_versions || r->held_objects)
		strbuf_addf(out, "; kept in use: %llu versions, %llu objects",
			    (unsigned long long)r->held_versions,
			    (unsigned long long)r->held_objects);
}
