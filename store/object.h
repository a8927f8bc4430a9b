#ifndef DATABUILD_STORE_OBJECT_H
#define DATABUILD_STORE_OBJECT_H

#include "store/store.h"

/*
 * The object store (docs/design/history.md): published bytes live once
 * per content hash as <root>/objects/<first 2 hex>/<other 62 hex>, mode
 * 0444, never written after they are linked there; <root>/data/<ref> is a
 * hard link to the object of the ref's current version. All opens resolve
 * beneath the root without following links.
 */

/* Appends <root>/objects/ab/cdef... for a 64-hex sha256. */
void store_object_path(const struct store *s, const char *sha256, struct strbuf *out);
/*
 * Opens the object sha256 with flags (O_CLOEXEC | O_NOFOLLOW added).
 * Returns the fd, or -1 with errno (ENOENT: no such object; EINVAL: not
 * a 64-hex hash).
 */
int store_open_object(const struct store *s, const char *sha256, int flags);
/*
 * Makes the staged file name (below dirfd, read-only already, its bytes
 * hashed to sha256 and size bytes) the object sha256 by linkat(2),
 * creating objects/ab/ as needed. Returns 1 if the staged file is now the
 * object, 0 if an object with that hash (and size) existed already (the
 * staged file is then not the object and can be dropped), -1 with err
 * naming the file. An existing object is rehashed before it is reused (one
 * read of it): one of another size or other bytes was changed in place,
 * and the staged file replaces it (1; the names left on the changed inode
 * are found damaged by their checks). One that is not a regular file is an
 * error (a damaged object store): err says which object.
 */
int store_object_put(const struct store *s, int dirfd, const char *name, const char *sha256,
		     long long size, struct strbuf *err);
/*
 * Makes <data>/<ref> a name of the object sha256, atomically (a link
 * beside it, then rename over it), creating ref's directories beneath
 * data/. ident gets the identity of the file now at data/<ref> (taken
 * after the rename). 0, or -1 with err naming the ref and the object
 * (errno ENOENT when the object is gone: removed by gc meanwhile).
 */
int store_object_install(const struct store *s, const char *sha256, const char *ref,
			 char ident[STORE_IDENT_MAX], struct strbuf *err);
/*
 * Removes the name of the object sha256 when it is the inode st (a data
 * file found changed in place: its bytes are no longer that hash), so that
 * no publish or restore reuses it. 0 (also when the object is another
 * inode, or absent), -1 with errno.
 */
int store_object_drop(const struct store *s, const char *sha256, const struct stat *st);
/* Unlinks <data>/<ref> (beneath data/): 0 (also if absent), -1 with err. */
int store_remove_data(const struct store *s, const char *ref, struct strbuf *err);

#endif
