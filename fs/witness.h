#ifndef DATABUILD_FS_WITNESS_H
#define DATABUILD_FS_WITNESS_H

#include <stdint.h>
#include "catalog/catalog.h"
#include "core/fingerprint.h"
#include "core/strmap.h"
#include "core/strbuf.h"
#include "model/graph.h"

/*
 * Freshness witnesses (docs/filesystem.md, "Freshness"): what lets the
 * mount check build keys on every open of a live partition at the cost of
 * a few stat calls, instead of planning (configure runs, hashes).
 *
 * When a build of the mount finds a partition fresh (or makes it), the
 * mount takes a witness of everything its key depends on, transitively:
 * the fingerprint of the graph file, of every file whose content entered
 * a key upstream (executables, argv files, files named in args or env: the
 * manifests' key_files), of each job's configure executable and of each
 * source file; the published run of each upstream partition; and the
 * catalog's last event sequence number. An open then asks witness_holds:
 * if no fingerprint moved and (the event sequence is unchanged, or every
 * upstream partition is still live with the same run) the partition is
 * fresh. Otherwise the mount plans again: the planner decides, with the
 * exact reason.
 *
 * When the catalog has had events since, witness_holds reads them (up to
 * WITNESS_EVENTS_MAX; beyond, it asks the catalog for each upstream
 * partition instead): an event about an upstream partition (published,
 * tainted, stale, failed, damaged) breaks the witness; others do not.
 *
 * A witness is immutable once taken, except for its event sequence, which
 * witness_holds advances (under the witness's own lock) when a check
 * through the catalog found nothing moved. Shared by reference counting:
 * witness_get/witness_put. Thread-safe.
 */
struct witness_file {
	char *path;
	struct fingerprint fp;
};

struct witness_ref {
	char *ref;
	char *run;
};

#define WITNESS_EVENTS_MAX 4096

struct witness {
	unsigned refs;            /* guarded by lock */
	pthread_mutex_t lock;
	char *run;                /* the published run of the partition it vouches for */
	int64_t seq;              /* the catalog's last event seq when it was last confirmed */
	struct witness_file *files;
	size_t files_nr, files_alloc;
	struct witness_ref *inputs;  /* upstream partitions (not the partition itself) */
	size_t inputs_nr, inputs_alloc;
	struct strmap input_set;     /* the refs of inputs (values unused) */
};

/*
 * Takes the witness of ref, a partition just found live in catalog c
 * under graph g. 1 with *out set (reference count 1); 0 with why when
 * ref or an upstream partition is not live, or a file it rests on changed
 * since it entered a key or too recently to be told from a later change
 * (no witness: the next open plans); -1 with err on a catalog error.
 */
int witness_take(const struct graph *g, struct catalog *c, const char *ref,
		 struct witness **out, struct strbuf *why, struct strbuf *err);

/*
 * Whether w still holds for partition row p (just read from c): p is live
 * with the run w vouches for, no fingerprint moved, and no upstream
 * partition changed. 1 holds, 0 does not, -1 with err (catalog error).
 * c must be the calling thread's own handle, open for the thread's life
 * (fs_catalog): the catalog's last event number is cached per thread and
 * asked again only when c's data version moved (catalog_data_version).
 */
int witness_holds(struct witness *w, struct catalog *c, const struct partition *p,
		  struct strbuf *err);

/*
 * The witness of ref's job alone: the graph file, the job's configure and
 * exec files (no run, no inputs), for a failed rebuild: taken when it
 * failed, it says whether anything that could fix it moved. Never NULL.
 */
struct witness *witness_take_job(const struct graph *g, const char *ref);
/* Whether no file of w moved: 1, or 0. */
int witness_files_hold(const struct witness *w);

void witness_get(struct witness *w);
void witness_put(struct witness *w);

#endif
