#ifndef DATABUILD_HASH_H
#define DATABUILD_HASH_H

#include <stddef.h>
#include "core/strbuf.h"

/*
 * SHA-256, rendered as 64 lowercase hex digits + NUL.
 *
 * The first 64 KiB of every digest are hashed by a built-in portable
 * SHA-256 (a few microseconds for the small digests of a request: a lease's
 * ref, a build key's fields, a job's executable, a small output). A digest
 * that grows past 64 KiB is handed over, state and all, to OpenSSL's
 * libcrypto (SHA256_Init/Update/Final, whose assembly uses SHA-NI where
 * the CPU has it; the portable C is about 4x slower), and sha256_fd starts
 * a regular file larger than that on libcrypto at once. Where libcrypto
 * has only EVP (built without the deprecated low-level functions), a
 * streamed digest cannot be handed over and stays built-in; sha256_fd of a
 * large file uses EVP from the start.
 *
 * libcrypto is not linked: it is loaded with dlopen (its soname as the
 * build found it, HASH_CRYPTO_SONAME from meson.build) the first time a
 * process needs it, so that a process that hashes only small inputs (a
 * cold `databuild cat` of a small partition, `--version`, `ls`, ...) never
 * loads it: loading costs 1.2-3 ms on a busy 2-core machine.
 *
 * A libcrypto that cannot be loaded: sha256_load, and sha256_fd and
 * sha256_file of a file larger than 64 KiB, report it through err
 * ("cannot load the SHA-256 library 'libcrypto.so.3': <dlerror()>");
 * sha256_update (and so sha256_hex), which has no error path and is called
 * from many layers, prints that message and aborts when a digest grows
 * past 64 KiB. That is deliberate: a process that cannot hash cannot key a
 * build or check a publish, so there is nothing safe left for it to do,
 * and the condition (the library vanished after installation) is as fatal
 * as EVP failing, which aborts too. A command that would rather exit
 * cleanly calls sha256_load first. Loading is thread-safe and happens once
 * per process.
 */
#define SHA256_HEX_SIZE 65

struct sha256 {
	void *ctx;  /* the built-in state or libcrypto's (core/hash.c), owned; NULL once final */
};

/* Loads libcrypto if not yet loaded: 0, or -1 with err (see above). */
int sha256_load(struct strbuf *err);

/* Starts a digest (built-in: never loads libcrypto itself). */
void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Adds len as 8 bytes then the bytes: unambiguous framing of fields. */
void sha256_update_field(struct sha256 *h, const void *data, size_t len);
void sha256_update_str(struct sha256 *h, const char *s);  /* framed */
/* Writes the hex digest and releases the context. */
void sha256_final(struct sha256 *h, char out[SHA256_HEX_SIZE]);

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE]);
/*
 * Hashes the file at path (or the open fd, from its current offset to EOF,
 * `name` naming it in messages); size (may be NULL) receives the number of
 * bytes hashed. 0, or -1 with "cannot read 'path': <strerror>" (or the
 * load error of sha256_load) in err.
 */
int sha256_file(const char *path, char out[SHA256_HEX_SIZE], long long *size,
		struct strbuf *err);
int sha256_fd(int fd, const char *name, char out[SHA256_HEX_SIZE], long long *size,
	      struct strbuf *err);

#endif
