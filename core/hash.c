#include "core/hash.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/array.h"

#define READ_CHUNK (128 * 1024)

#ifndef HASH_CRYPTO_SONAME
#error "HASH_CRYPTO_SONAME: set by core/meson.build"
#endif

/*
 * OpenSSL 3's low-level SHA256_Init/Update/Final, where the library has
 * them, run the same assembly as EVP (SHA-NI here: 1.7 GB/s either way)
 * but skip what EVP's first use costs a process: creating the library
 * context, reading openssl.cnf and loading the default provider, about
 * 0.7 ms against 6 us. They are deprecated in 3.0, not removed; a
 * libcrypto built without them (no-deprecated) is used through EVP.
 * crypto_load_once resolves one set or the other.
 */
#ifndef OPENSSL_NO_DEPRECATED_3_0
#include <openssl/sha.h>
#define HASH_LOW_LEVEL 1
#else
#define HASH_LOW_LEVEL 0
#endif

struct crypto_fns {
#if HASH_LOW_LEVEL
	int (*sha_init)(SHA256_CTX *);  /* NULL: EVP below */
	int (*sha_update)(SHA256_CTX *, const void *, size_t);
	int (*sha_final)(unsigned char *, SHA256_CTX *);
#endif
	EVP_MD_CTX *(*ctx_new)(void);
	void (*ctx_free)(EVP_MD_CTX *);
	const EVP_MD *(*sha256)(void);
	int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	int (*update)(EVP_MD_CTX *, const void *, size_t);
	int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
};

struct crypto_sym {
	const char *name;
	size_t offset;
};

#if HASH_LOW_LEVEL
static const struct crypto_sym crypto_low_syms[] = {
	{ "SHA256_Init", offsetof(struct crypto_fns, sha_init) },
	{ "SHA256_Update", offsetof(struct crypto_fns, sha_update) },
	{ "SHA256_Final", offsetof(struct crypto_fns, sha_final) },
};
#endif

static const struct crypto_sym crypto_evp_syms[] = {
	{ "EVP_MD_CTX_new", offsetof(struct crypto_fns, ctx_new) },
	{ "EVP_MD_CTX_free", offsetof(struct crypto_fns, ctx_free) },
	{ "EVP_sha256", offsetof(struct crypto_fns, sha256) },
	{ "EVP_DigestInit_ex", offsetof(struct crypto_fns, init) },
	{ "EVP_DigestUpdate", offsetof(struct crypto_fns, update) },
	{ "EVP_DigestFinal_ex", offsetof(struct crypto_fns, final) },
};

/* Written once by crypto_load_once, read-only afterwards. */
static struct crypto_fns crypto;
static int crypto_loaded;
static struct strbuf crypto_error = STRBUF_INIT;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

/* Fills fns from h with the n symbols of syms: 0, or -1 (see dlerror). */
static int crypto_resolve(void *h, const struct crypto_sym *syms, size_t n,
			  struct crypto_fns *fns)
{
	for (size_t i = 0; i < n; i++) {
		void *sym = dlsym(h, syms[i].name);

		if (!sym)
			return -1;
		/* POSIX: a data pointer from dlsym holds a function pointer */
		memcpy((char *)fns + syms[i].offset, &sym, sizeof(sym));
	}
	return 0;
}

static void crypto_load_once(void)
{
	struct crypto_fns fns = { 0 };
	void *h = dlopen(HASH_CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		strbuf_addf(&crypto_error, "cannot load the SHA-256 library '%s': %s",
			    HASH_CRYPTO_SONAME, dlerror());
		return;
	}
#if HASH_LOW_LEVEL
	if (crypto_resolve(h, crypto_low_syms,
			   sizeof(crypto_low_syms) / sizeof(crypto_low_syms[0]), &fns) < 0)
		memset(&fns, 0, sizeof(fns));  /* EVP, then */
#endif
	if (crypto_resolve(h, crypto_evp_syms,
			   sizeof(crypto_evp_syms) / sizeof(crypto_evp_syms[0]), &fns) < 0) {
		strbuf_addf(&crypto_error, "cannot load the SHA-256 library '%s': %s",
			    HASH_CRYPTO_SONAME, dlerror());
		dlclose(h);
		return;
	}
	crypto = fns;
	crypto_loaded = 1;  /* h stays open until the process ends */
}

int sha256_load(struct strbuf *err)
{
	pthread_once(&crypto_once, crypto_load_once);
	if (crypto_loaded)
		return 0;
	strbuf_addstr(err, crypto_error.buf);
	return -1;
}

/* 1 if the low-level functions were found (h->ctx is a SHA256_CTX), else 0. */
static int low_level(void)
{
#if HASH_LOW_LEVEL
	return crypto.sha_init != NULL;
#else
	return 0;
#endif
}

void sha256_init(struct sha256 *h)
{
	struct strbuf err = STRBUF_INIT;

	if (sha256_load(&err) < 0) {
		fprintf(stderr, "databuild: fatal: %s\n", err.buf);
		abort();
	}
#if HASH_LOW_LEVEL
	if (low_level()) {
		SHA256_CTX *c = xmalloc(sizeof(*c));

		if (crypto.sha_init(c) != 1)
			abort();
		h->ctx = c;
		return;
	}
#endif
	h->ctx = crypto.ctx_new();
	if (!h->ctx || crypto.init(h->ctx, crypto.sha256(), NULL) != 1)
		abort();
}

/* Frees h's context, final or not. */
static void sha256_free(struct sha256 *h)
{
	if (low_level())
		free(h->ctx);
	else
		crypto.ctx_free(h->ctx);
	h->ctx = NULL;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	int ok;

	if (!len)
		return;
#if HASH_LOW_LEVEL
	if (low_level())
		ok = crypto.sha_update(h->ctx, data, len);
	else
#endif
		ok = crypto.update(h->ctx, data, len);
	if (ok != 1)
		abort();
}

void sha256_update_field(struct sha256 *h, const void *data, size_t len)
{
	unsigned char n[8];
	uint64_t v = len;

	for (int i = 7; i >= 0; i--) {
		n[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	sha256_update(h, n, sizeof(n));
	sha256_update(h, data, len);
}

void sha256_update_str(struct sha256 *h, const char *s)
{
	sha256_update_field(h, s, strlen(s));
}

void sha256_final(struct sha256 *h, char out[SHA256_HEX_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 32;
	int ok;

#if HASH_LOW_LEVEL
	if (low_level())
		ok = crypto.sha_final(md, h->ctx);
	else
#endif
		ok = crypto.final(h->ctx, md, &n);
	if (ok != 1 || n != 32)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	sha256_free(h);
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, data, len);
	sha256_final(&h, out);
}

int sha256_fd(int fd, const char *name, char out[SHA256_HEX_SIZE], long long *size,
	      struct strbuf *err)
{
	unsigned char *buf;
	long long total = 0;
	struct sha256 h;
	int ret = -1;

	if (sha256_load(err) < 0)
		return -1;
	buf = xmalloc(READ_CHUNK);
	sha256_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			strbuf_addf(err, "cannot read '%s': %s", name, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		sha256_update(&h, buf, (size_t)n);
		total += n;
	}
	ret = 0;
out:
	if (ret) {
		sha256_free(&h);
	} else {
		sha256_final(&h, out);
		if (size)
			*size = total;
	}
	free(buf);
	return ret;
}

int sha256_file(const char *path, char out[SHA256_HEX_SIZE], long long *size,
		struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int ret;

	if (fd < 0) {
		strbuf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	ret = sha256_fd(fd, path, out, size, err);
	close(fd);
	return ret;
}
