#ifndef DATABUILD_STORE_GC_H
#define DATABUILD_STORE_GC_H

#include <stdint.h>
#include <sys/stat.h>

#include "store/store.h"

/*
 * The files that garbage collection walks and removes
 * (docs/design/history.md): objects, run logs, staging directories and
 * lock files. Which of them may go is decided above (scheduler/gc.h asks
 * the catalog); this module only walks, measures and removes, and
 * removes an object only when nobody holds it.
 *
 * Sizes are sizes on disk: st_blocks * 512 (a file of 10 bytes takes a
 * block, 4096 bytes on most file systems).
 */

/* The space st takes on disk: st_blocks * 512. */
int64_t store_disk_bytes(const struct stat *st);

/*
 * A walk's callback: name is the entry's key (an object's 64-hex hash, a
 * log's or a staging directory's run id, a lock file's 64-hex name), st
 * its lstat. Returns 0 to go on, or -1 with err to stop the walk (which
 * then returns -1).
 */
typedef int store_walk_fn(const char *name, const struct stat *st, void *arg,
			  struct strbuf *err);

/*
 * Walks <root>/objects/ab/cdef... (regular files with a hash name only;
 * anything else, such as a publish's temporary link, is skipped),
 * <root>/logs/<run_id>.log, the directories <root>/staging/<run_id>/ and
 * the files <root>/locks/hh/<64 hex>.lock. A missing directory is empty;
 * an entry that goes away during the walk is skipped. 0, or -1 with err
 * naming the directory.
 */
int store_walk_objects(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err);
int store_walk_logs(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err);
int store_walk_staging(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err);
int store_walk_locks(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err);

/*
 * Whether a process holds the object sha256 open with a flock (every
 * reader takes LOCK_SH): 1 held, 0 not held or absent, -1 with err.
 */
int store_object_held(const struct store *s, const char *sha256, struct strbuf *err);
/*
 * Removes the object sha256 when nobody holds it and it has no other
 * name: opens it, takes flock(LOCK_EX | LOCK_NB), checks that its link
 * count is 1 and that it is still the file at its path, and unlinks it
 * while holding the lock. With dry_run the checks are made and nothing
 * is removed. 1 removed (or would be), *bytes its size on disk; 0 kept
 * (held, linked from data/, absent); -1 with err naming the object.
 */
int store_object_collect(const struct store *s, const char *sha256, int dry_run,
			 int64_t *bytes, struct strbuf *err);

/* The bytes on disk of the tree at path (lstat, no link followed); 0 if absent. */
int64_t store_tree_bytes(const char *path);
/* Appends <root>/locks/<hh>/<name>.lock for a lock file's 64-hex name. */
void store_lock_path(const struct store *s, const char *name, struct strbuf *out);
/*
 * Removes the lock file name. held_lease: the caller holds the lease it
 * is the file of; else the file is locked here with flock(LOCK_EX |
 * LOCK_NB) (what the flock lease does, catalog/lease.c) and left when
 * that fails. With dry_run the lock is taken and nothing is removed.
 * 1 removed (or would be), *bytes its size on disk; 0 left (busy or
 * absent); -1 with err naming the file.
 */
int store_lock_remove(const struct store *s, const char *name, int held_lease, int dry_run,
		      int64_t *bytes, struct strbuf *err);

#endif
