#ifndef DATABUILD_HASH_H
#define DATABUILD_HASH_H

#include <stddef.h>
#include "core/strbuf.h"

/*
 * SHA-256 through OpenSSL's libcrypto, rendered as 64 lowercase hex digits
 * + NUL.
 *
 * libcrypto is not linked: it is loaded with dlopen (its soname as the
 * build found it, HASH_CRYPTO_SONAME from meson.build) the first time a
 * process hashes, so that commands that hash nothing (`--version`, `ls`,
 * `status`, ...) do not load it; loading costs a hashing process about
 * 0.6 ms, as linking did. OpenSSL's assembly (SHA-NI where the CPU has it)
 * does the hashing; a portable C SHA-256 is about 4x slower. hash.c calls
 * SHA256_Init/Update/Final where libcrypto has them, EVP otherwise: same
 * speed, without EVP's 0.7 ms of set-up on a process's first digest.
 *
 * A libcrypto that cannot be loaded: sha256_load, sha256_fd and
 * sha256_file report it through err ("cannot load the SHA-256 library
 * 'libcrypto.so.3': <dlerror()>"); sha256_init (and so sha256_hex), which
 * has no error path and is called from many layers, prints that message
 * and aborts. That is deliberate: a process that cannot hash cannot name a
 * lease, key a build or check a publish, so there is nothing safe left
 * for it to do, and the condition (the library vanished after
 * installation) is as fatal as EVP failing, which aborted already. A
 * command that would rather exit cleanly calls sha256_load first. Loading
 * is thread-safe and happens once per process.
 */
#define SHA256_HEX_SIZE 65

struct sha256 {
	void *ctx;  /* SHA256_CTX or EVP_MD_CTX (core/hash.c), owned; NULL once final */
};

/* Loads libcrypto if not yet loaded: 0, or -1 with err (see above). */
int sha256_load(struct strbuf *err);

/* Aborts with a message if libcrypto cannot be loaded (see above). */
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
