#ifndef DATABUILD_STORE_H
#define DATABUILD_STORE_H

#include <sys/stat.h>

#include "core/strbuf.h"

/*
 * The store: one directory holding everything databuild keeps.
 *
 *   <root>/catalog.db          the SQLite catalog (default backend)
 *   <root>/data/<ref>          published partitions, mode 0444, immutable
 *   <root>/staging/<run_id>/   a run's private DATABUILD_OUTPUT_DIR (store/staging.h)
 *   <root>/staging/.spare-<k>/ an empty tree kept for the next run
 *   <root>/logs/<run_id>.log   stdout+stderr of each run
 *   <root>/locks/<hh>/<sha256(ref)>.lock  per-partition lease files
 *   <root>/manifests/<run_id>.json  the manifest of every publish, written
 *                              before its data is renamed into data/, so
 *                              the catalog can be rebuilt from the store
 *   <root>/store.id            the store's id (32 hex digits), which its
 *                              catalog carries too
 *   <root>/daemon.log          the mount daemon's log
 *   <root>/objects/ab/cdef...  published bytes, once per sha256 (store/object.h);
 *                              data/<ref> is a hard link to one of them
 *   <root>/store.format        "objects\n" once the store keeps its bytes in
 *                              objects/ (written at creation, or by the
 *                              migration of an older store, catalog.h)
 *   <root>/cache/hashes/<sha256(host, path)>  the content hash of an
 *                              executable or a file a job names, with the
 *                              file's fingerprint, kept between commands
 *                              (core/fingerprint.h); made on first use, and
 *                              safe to delete at any time
 *
 * The root, staging/, logs/, locks/ and manifests/ are created mode 0700 and data/
 * and objects/ mode 0755 (an existing root keeps its mode). Published files are
 * replaced only by rename(2), so a reader holding one never sees it
 * change.
 */
struct store {
	char *root;      /* absolute */
	char *data_dir;  /* <root>/data, the DATABUILD_INPUT_DIR */
	int data_fd;     /* O_PATH descriptor of data/, for opens beneath it (store_open) */
};

/*
 * Creates the root (and its missing parents) and the missing
 * subdirectories, then resolves the root to an absolute, symlink-free path
 * and checks that it can be trusted: the root and data/ must be
 * directories (data/ not a symbolic link), owned by the caller or root,
 * and not group- or world-writable unless the sticky bit is set. A store
 * without store.format that holds nothing published is new: it gets
 * "objects" there. 0, or -1
 * with "store '<root>': ..." in err naming the path, its owner and mode and
 * the fix (s is then left released). store_release frees the strings and
 * closes data_fd (safe on a released store).
 */
int store_open(struct store *s, const char *root, struct strbuf *err);
void store_release(struct store *s);

/*
 * Opens <data>/<ref> with flags (O_RDONLY, O_PATH, ...; O_NOFOLLOW and
 * O_CLOEXEC are added) resolving beneath data/ without following any
 * symbolic link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or one
 * O_NOFOLLOW component at a time where openat2 is missing). A link on the
 * way or at the end fails with ELOOP. Returns the fd, or -1 with errno.
 */
int store_open_data(const struct store *s, const char *ref, int flags);
/* As store_open_data, beneath any directory dirfd (path relative to it). */
int store_open_beneath(int dirfd, const char *path, int flags);
/*
 * Opens the directory that holds <data>/<ref> beneath data/, creating the
 * missing directories (mode 0755) one component at a time without
 * following links. Sets *base to ref's last segment. Returns an
 * O_DIRECTORY fd, or -1 with errno (ELOOP: a link on the way; ENOTDIR: a
 * file where a directory should be).
 */
int store_open_data_parent(const struct store *s, const char *ref, const char **base);

/*
 * A published file's identity, recorded when it is published and checked
 * by fstat on every open (never a rehash on that path): the text
 * "DEV:INO:SIZE:MTIME_NS:CTIME_NS" in decimal. Any write, truncation,
 * chmod, replacement or timestamp change moves at least one of them
 * (restoring mtime moves ctime).
 */
#define STORE_IDENT_MAX 112
void store_ident_format(const struct stat *st, char out[STORE_IDENT_MAX]);

/* What store_check_data found. */
enum store_damage {
	STORE_INTACT = 0,
	STORE_MISSING,      /* no file at <data>/<ref> */
	STORE_LINK,         /* a symbolic link on the way or at the end */
	STORE_NOT_FILE,     /* a directory, FIFO, device... */
	STORE_CHANGED,      /* identity or size differs from the record */
	STORE_RELINKED,     /* device, inode, size and mtime as recorded, ctime not:
			       a link was added or removed (docs/design/history.md,
			       "ctime and links"); not damage, but the bytes must be
			       rehashed (off any FUSE handler) before they are served */
};

/*
 * Checks <data>/<ref> against what was recorded when it was published:
 * its identity (NULL or "": unknown, for partitions published before
 * identities were recorded; then only the size is compared) and size
 * (< 0: unknown). One open beneath data/ and one fstat; nothing is read.
 * With fdp non-NULL an intact file is opened O_RDONLY and its descriptor
 * handed over in *fdp (-1 otherwise), so what was checked is what is
 * served. STORE_RELINKED opens nothing either. Returns STORE_INTACT, a damage kind with why saying what is
 * wrong ("its data file is missing", "its data file changed since it was
 * published (size 10 -> 12 bytes)"), or -1 with errno and why on other
 * errors (EACCES, EIO...).
 */
int store_check_data(const struct store *s, const char *ref, const char *ident,
		     long long size, int *fdp, struct strbuf *why);

/* Appends <root>/manifests/<run_id>.json. */
void store_manifest_path(const struct store *s, const char *run_id, struct strbuf *out);
/*
 * Writes text as <root>/manifests/<run_id>.json (mode 0600, through a
 * temporary file and a rename, so it is whole or absent); its path is
 * appended to path. Not synced: the caller syncs it with the data. 0, or
 * -1 with err naming the file.
 */
int store_put_manifest(const struct store *s, const char *run_id, const char *text,
		       size_t len, struct strbuf *path, struct strbuf *err);
/* 1 if the store holds published data or manifests, 0 if none, -1 (errno). */
int store_has_published(const struct store *s);

/*
 * The store's id, the text of <root>/store.id. Returns 1 with out filled;
 * 0 if there is none and create is 0; -1 with err. With create, a missing
 * id is made (random) and written whole; two processes making one at
 * once end up with the same.
 */
#define STORE_ID_LEN 32
int store_id(const struct store *s, int create, char out[STORE_ID_LEN + 1], struct strbuf *err);

/*
 * <root>/store.format: 1 if it names feature (a line of its own, e.g.
 * "objects"), 0 if not or absent, -1 with err naming the file.
 * store_format_set writes text as the whole file, through a temporary
 * file and a rename (synced): 0, or -1 with err naming the file.
 */
#define STORE_FORMAT_OBJECTS "objects"
int store_format_has(const struct store *s, const char *feature, struct strbuf *err);
int store_format_set(const struct store *s, const char *text, struct strbuf *err);

/* Appends <root>/data/<ref>. */
void store_data_path(const struct store *s, const char *ref, struct strbuf *out);
/* Appends <root>/staging/<run_id>. */
void store_staging_path(const struct store *s, const char *run_id, struct strbuf *out);
/* Appends <root>/logs/<run_id>.log. */
void store_log_path(const struct store *s, const char *run_id, struct strbuf *out);
/* Appends <root>/<name>. */
void store_path(const struct store *s, const char *name, struct strbuf *out);
/* The name (for store_path) of the directory of kept file hashes. */
#define STORE_HASHES_DIR "cache/hashes"

/*
 * Creates every missing parent directory of path (not path itself) with
 * the given mode (callers pass 0755 under data/ so that published data stays
 * readable by the mount's users, else 0700). Existing directories are left
 * alone. 0 or -1 with errno.
 */
int mkdir_parents(const char *path, int mode);
/*
 * rm -rf path, never following symbolic links (a symlink is removed, not
 * its target); directories without write permission are made writable
 * first. 0 or -1 with errno (a missing path is not an error).
 */
int remove_tree(const char *path);
/* remove_tree of name in the directory open at dfd. */
int remove_tree_at(int dfd, const char *name);

#endif
