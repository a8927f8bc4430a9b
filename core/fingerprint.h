#ifndef DATABUILD_CORE_FINGERPRINT_H
#define DATABUILD_CORE_FINGERPRINT_H

#include <stdint.h>
#include <sys/stat.h>
#include "core/hash.h"
#include "core/strbuf.h"

/*
 * Fingerprints: a file's stat identity (device, inode, size, mtime and
 * ctime in nanoseconds) stands for its content while it does not move.
 * Build keys hash executables, argv files and files named in args; with
 * fingerprints a long-lived process (the mount, the service) rehashes a
 * file only when its fingerprint moved, and a freshness check that nothing
 * changed costs one stat per file.
 *
 * Racy fingerprints (as in git's index): a file whose mtime is within one
 * timestamp tick of the moment it was looked at may be written again
 * without moving it, so it is not trusted (fingerprint_racy). (A write
 * always sets mtime to the current time, so an older mtime, even one set
 * back by touch, moves on the next write.)
 * The tick is taken as FINGERPRINT_TICK_NS (kernel timestamps advance by
 * the coarse clock, a few milliseconds), or FINGERPRINT_COARSE_NS when
 * the file's times have no sub-second part (a filesystem that keeps
 * seconds).
 *
 * Thread-safe: one process-wide cache, guarded by a mutex. Entries are
 * never evicted (the files a graph names are few).
 */
#define FINGERPRINT_TICK_NS 50000000LL
#define FINGERPRINT_COARSE_NS 2000000000LL

struct fingerprint {
	int exists;          /* 0: the path did not name a regular file */
	unsigned long long dev, ino;
	long long size;
	long long mtime_ns, ctime_ns;
};

/* The fingerprint of path now (stat, links followed). Never fails: a path
 * that cannot be stat'ed or is not a regular file gives exists == 0. */
void fingerprint_of(const char *path, struct fingerprint *out);
void fingerprint_from_stat(const struct stat *st, struct fingerprint *out);
/* Whether fp, taken at now_ns (CLOCK_REALTIME), may miss a change to come. */
int fingerprint_racy(const struct fingerprint *fp, long long now_ns);
/* 1 if a and b are the same identity (both absent counts as the same). */
int fingerprint_equal(const struct fingerprint *a, const struct fingerprint *b);

/*
 * The content SHA-256 of the regular file at path, from the cache when its
 * fingerprint has not moved since it was hashed. Writes 64 hex digits to
 * out. 0, or -1 with "cannot read 'path': ..." in err.
 */
int fingerprint_hash(const char *path, char out[SHA256_HEX_SIZE], struct strbuf *err);

/* Counters for tests and benchmarks: files hashed and cache hits so far. */
void fingerprint_stats(unsigned long *hashed, unsigned long *hits);

/*
 * Hashes kept across processes. With a directory set (a store's
 * cache/hashes/, made on first use), fingerprint_hash also looks for a
 * hash an earlier process took, so that a one-shot command does not read
 * an unchanged interpreter or script again (hashing python3, 7 MB, costs
 * milliseconds on every `databuild cat`). One file per host and path,
 * named by the SHA-256 of both and holding the fingerprint, the hash, the
 * host and the path, is written to a temporary name and renamed over the
 * old one. A record is used only when its host and path are this host's
 * and the file's, and its fingerprint equals the file's now: the rule of
 * the process cache, so a record never stands for bytes the file no longer
 * has. Only hashes the process cache keeps (the file held still and is not
 * racy) are written. A record that cannot be read, parsed or written costs
 * a rehash, never an error. dir NULL turns it off; the call copies dir.
 */
void fingerprint_keep_in(const char *dir);
/* Empties the process cache (tests: what a new process sees). */
void fingerprint_forget(void);
/*
 * Removes (unless dry_run) the files of dir, fingerprint_keep_in's
 * directory, that no longer serve: a record of this host whose file is
 * gone or has another fingerprint now, one that is not exactly a record
 * or lies under another record's name, and a temporary file older than an
 * hour (its writer died). Records of other hosts are left. *count and
 * *bytes (blocks on disk) get what was, or would be, removed. A directory
 * that does not exist holds nothing. 0, or -1 with err naming the
 * directory or the file.
 */
int fingerprint_prune(const char *dir, int dry_run, uint64_t *count, int64_t *bytes,
		      struct strbuf *err);

#endif
