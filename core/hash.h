#ifndef DATABUILD_HASH_H
#define DATABUILD_HASH_H

#include <stddef.h>
#include "core/strbuf.h"

/* SHA-256 through OpenSSL EVP, rendered as 64 lowercase hex digits + NUL. */
#define SHA256_HEX_SIZE 65

struct sha256 {
	void *ctx;  /* EVP_MD_CTX, owned */
};

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
 * bytes hashed. 0, or -1 with "cannot read 'path': <strerror>" in err.
 */
int sha256_file(const char *path, char out[SHA256_HEX_SIZE], long long *size,
		struct strbuf *err);
int sha256_fd(int fd, const char *name, char out[SHA256_HEX_SIZE], long long *size,
	      struct strbuf *err);

#endif
