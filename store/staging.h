#ifndef DATABUILD_STORE_STAGING_H
#define DATABUILD_STORE_STAGING_H

#include "core/array.h"
#include "core/strbuf.h"
#include "store/store.h"

/*
 * A run's staging tree: <root>/staging/<run_id>/ and its out/, the job's
 * DATABUILD_OUTPUT_DIR, in which the parent directories of every declared
 * output exist when the job starts (as ninja creates an edge's output
 * directories): a job may write <out>/<ref> without creating directories,
 * and one that creates them must tolerate their existing (mkdir -p).
 *
 * Trees are reused. A finished run's tree that holds nothing but
 * directories is renamed to <root>/staging/.spare-<k> (at most
 * STAGING_SPARES of them); the next run, in this process or another, takes
 * one over by renaming it to its own name. Renames are atomic, so two
 * processes never share a tree, and neither allocates nor frees an inode:
 * on ext4 without a journal every inode freed in the last seconds makes the
 * allocation of each new one slower, which made the per-run mkdir and rmdir
 * of staging the largest cost of a trivial job. Spare trees are dot names,
 * which gc, du and the staging walk skip; a crash leaves at most a spare
 * (harmless) or a run's tree (removed by gc once the run is finished).
 */
enum { STAGING_SPARES = 16 };

/*
 * Makes the tree of run_id for outputs (refs, relative to out/) and appends
 * its path (<root>/staging/<run_id>) to path. Whatever is in out/ that is
 * not a parent directory of an output is removed. 0, or -1 with err naming
 * the directory that could not be made.
 */
int store_staging_make(const struct store *s, const char *run_id,
		       const struct strvec *outputs, struct strbuf *path, struct strbuf *err);

/*
 * Gives back the tree at path (made by store_staging_make): kept as a
 * spare when it holds only directories and a spare name is free, removed
 * otherwise. 0, or -1 with errno when it could not be removed (a missing
 * tree is not an error).
 */
int store_staging_retire(const char *path);

#endif
