#ifndef DATABUILD_SCHEDULER_GC_H
#define DATABUILD_SCHEDULER_GC_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "catalog/catalog.h"
#include "core/strbuf.h"
#include "model/graph.h"
#include "store/store.h"

/*
 * Garbage collection (docs/design/history.md, "Retention and garbage
 * collection"): `databuild gc` and the daemon's daily run (the scheduler
 * thread holding the store's scheduler lease, scheduler/scheduler.h).
 *
 * gc_run removes, in this order:
 *   versions  rows outside the retention policy of their ref
 *             (graph_retention), except a current version and one whose
 *             object a reader holds (flock); bytes: their recorded sizes
 *   objects   files of objects/ that no version or partition row
 *             references, that have no other name and that nobody holds
 *   logs      logs/<run_id>.log of finished runs that no version and no
 *             partition row names (catalog_run_referenced)
 *   locks     lock files of idle partitions, each removed while gc holds
 *             the partition's lease (catalog_lease_acquire, no wait)
 *   staging   staging/<run_id>/ of runs recorded as not running
 *   hashes    records of cache/hashes/ that no longer serve: their file
 *             is gone or changed (fingerprint_prune, core/fingerprint.h)
 * Logs and staging directories of runs the catalog does not know are
 * left (a run may create them before its row commits). Bytes of files
 * are sizes on disk (store/gc.h). Safe beside builds and a mount: what is
 * in use is skipped and left for a later run.
 *
 * dry_run changes nothing and reports what a run would free (objects
 * and logs that only the versions to remove reference are counted).
 */
enum gc_kind {
	GC_VERSIONS,
	GC_OBJECTS,
	GC_LOGS,
	GC_LOCKS,
	GC_STAGING,
	GC_HASHES,
	GC_KIND_NR  /* the number of kinds, not one */
};
/* "versions", "objects", "logs", "locks", "staging", "hashes". */
const char *gc_kind_name(enum gc_kind k);

struct gc_report {
	int dry_run;
	struct gc_freed {
		uint64_t count;
		int64_t bytes;
	} freed[GC_KIND_NR];    /* set by gc_run, per kind */
	uint64_t held_versions; /* outside the policy, kept: a reader holds the object */
	uint64_t held_objects;  /* unreferenced, kept: held open or linked elsewhere */
};

/*
 * Collects the store s (catalog c, policies of g) at time now_us (µs
 * since the epoch). r is zeroed first. 0, or -1 with err naming what
 * failed (what was freed before the failure stays in r).
 */
int gc_run(struct catalog *c, const struct store *s, const struct graph *g, int dry_run,
	   int64_t now_us, struct gc_report *r, struct strbuf *err);

/*
 * {"dry_run": false, "versions": {"count", "bytes"}, "objects": {...},
 *  "logs": {...}, "locks": {...}, "staging": {...}, "hashes": {...},
 *  "held": {"versions", "objects"}}
 */
cJSON *gc_report_to_json(const struct gc_report *r);
/* One line for logs: "freed 2 versions (20 bytes), 2 objects (8192 bytes), ...". */
void gc_report_summary(const struct gc_report *r, struct strbuf *out);

#endif
