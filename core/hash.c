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
#include <sys/stat.h>
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

/*
 * A built-in SHA-256 for the first SMALL_LIMIT bytes of every digest: most
 * digests of a request are small (a lease's ref, a build key's fields, a
 * job's executable, a one-byte output), and loading libcrypto costs a
 * process 1.2-3 ms of dynamic linking on a busy 2-core machine against a
 * few microseconds of portable C for them. A digest that grows past the
 * limit hands its state to OpenSSL's SHA256_CTX (whose layout openssl/sha.h
 * publishes) and goes on at OpenSSL's speed; sha256_fd starts a file known
 * to be larger on OpenSSL at once. Where libcrypto has only EVP (no state
 * to hand over), a streamed digest stays built-in to its end.
 */
#define SMALL_LIMIT (64 * 1024)

struct small_sha {
	uint32_t st[8];
	uint64_t blocks;          /* 64-byte blocks compressed */
	unsigned char buf[64];
	size_t buf_nr;
};

/* What h->ctx points to. */
struct hash_ctx {
	int mode;                 /* MODE_* */
	struct small_sha small;   /* MODE_SMALL */
#if HASH_LOW_LEVEL
	SHA256_CTX low;           /* MODE_LOW */
#endif
	EVP_MD_CTX *evp;          /* MODE_EVP */
};
enum { MODE_SMALL, MODE_LOW, MODE_EVP };

static const uint32_t small_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void small_block(uint32_t st[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = st[0], b = st[1], c = st[2], d = st[3];
	e = st[4], f = st[5], g = st[6], hh = st[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      small_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		hh = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	st[0] += a, st[1] += b, st[2] += c, st[3] += d;
	st[4] += e, st[5] += f, st[6] += g, st[7] += hh;
}

static void small_init(struct small_sha *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(s->st, iv, sizeof(iv));
	s->blocks = 0;
	s->buf_nr = 0;
}

static void small_update(struct small_sha *s, const unsigned char *p, size_t len)
{
	if (s->buf_nr) {
		size_t n = 64 - s->buf_nr < len ? 64 - s->buf_nr : len;

		memcpy(s->buf + s->buf_nr, p, n);
		s->buf_nr += n, p += n, len -= n;
		if (s->buf_nr < 64)
			return;
		small_block(s->st, s->buf);
		s->blocks++;
		s->buf_nr = 0;
	}
	for (; len >= 64; p += 64, len -= 64, s->blocks++)
		small_block(s->st, p);
	memcpy(s->buf, p, len);
	s->buf_nr = len;
}

static void small_final(struct small_sha *s, unsigned char md[32])
{
	uint64_t bits = (s->blocks * 64 + s->buf_nr) * 8;
	unsigned char pad[72] = { 0x80 };
	size_t n = (s->buf_nr < 56 ? 56 : 120) - s->buf_nr;

	for (int i = 0; i < 8; i++)
		pad[n + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	small_update(s, pad, n + 8);
	for (int i = 0; i < 8; i++) {
		md[4 * i] = (unsigned char)(s->st[i] >> 24);
		md[4 * i + 1] = (unsigned char)(s->st[i] >> 16);
		md[4 * i + 2] = (unsigned char)(s->st[i] >> 8);
		md[4 * i + 3] = (unsigned char)s->st[i];
	}
}

#if HASH_LOW_LEVEL
/* 1 if the low-level functions were found (MODE_LOW is possible), else 0. */
static int low_level(void)
{
	return crypto.sha_init != NULL;
}
#endif

/* Loads libcrypto, or prints why it cannot and aborts (see hash.h). */
static void crypto_require(void)
{
	struct strbuf err = STRBUF_INIT;

	if (sha256_load(&err) < 0) {
		fprintf(stderr, "databuild: fatal: %s\n", err.buf);
		abort();
	}
	strbuf_release(&err);
}

/* Starts c on libcrypto: MODE_LOW where it has SHA256_Init, else MODE_EVP. */
static void crypto_start(struct hash_ctx *c)
{
	crypto_require();
#if HASH_LOW_LEVEL
	if (low_level()) {
		if (crypto.sha_init(&c->low) != 1)
			abort();
		c->mode = MODE_LOW;
		return;
	}
#endif
	c->evp = crypto.ctx_new();
	if (!c->evp || crypto.init(c->evp, crypto.sha256(), NULL) != 1)
		abort();
	c->mode = MODE_EVP;
}

/* A new context: built-in, or on libcrypto at once if big. */
static struct hash_ctx *ctx_new(int big)
{
	struct hash_ctx *c = xmalloc(sizeof(*c));

	c->mode = MODE_SMALL;
	c->evp = NULL;
	small_init(&c->small);
	if (big)
		crypto_start(c);
	return c;
}

void sha256_init(struct sha256 *h)
{
	h->ctx = ctx_new(0);
}

/*
 * Moves c's built-in state into a SHA256_CTX: 1, or 0 if libcrypto has no
 * low-level functions (c stays built-in). Aborts if it cannot be loaded.
 */
static int small_handoff(struct hash_ctx *c)
{
#if HASH_LOW_LEVEL
	struct small_sha s = c->small;
	uint64_t bits = s.blocks * 512;

	crypto_require();
	if (!low_level())
		return 0;
	if (crypto.sha_init(&c->low) != 1)
		abort();
	for (int i = 0; i < 8; i++)
		c->low.h[i] = (SHA_LONG)s.st[i];
	c->low.Nl = (SHA_LONG)(bits & 0xffffffffu);
	c->low.Nh = (SHA_LONG)(bits >> 32);
	c->low.num = 0;
	c->mode = MODE_LOW;
	if (s.buf_nr && crypto.sha_update(&c->low, s.buf, s.buf_nr) != 1)
		abort();
	return 1;
#else
	(void)c;
	return 0;
#endif
}

/* Frees h's context, final or not. */
static void sha256_free(struct sha256 *h)
{
	struct hash_ctx *c = h->ctx;

	if (c->mode == MODE_EVP)
		crypto.ctx_free(c->evp);
	free(c);
	h->ctx = NULL;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	struct hash_ctx *c = h->ctx;
	int ok;

	if (!len)
		return;
	if (c->mode == MODE_SMALL) {
		uint64_t seen = c->small.blocks * 64 + c->small.buf_nr;

		if (seen + len <= SMALL_LIMIT || !small_handoff(c)) {
			small_update(&c->small, data, len);
			return;
		}
	}
#if HASH_LOW_LEVEL
	if (c->mode == MODE_LOW)
		ok = crypto.sha_update(&c->low, data, len);
	else
#endif
		ok = crypto.update(c->evp, data, len);
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
	struct hash_ctx *c = h->ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 32;
	int ok = 1;

	if (c->mode == MODE_SMALL)
		small_final(&c->small, md);
#if HASH_LOW_LEVEL
	else if (c->mode == MODE_LOW)
		ok = crypto.sha_final(md, &c->low);
#endif
	else
		ok = crypto.final(c->evp, md, &n);
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
	struct stat st;
	int ret = -1, big;

	/* a file known to outgrow the built-in digest starts on libcrypto */
	big = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > SMALL_LIMIT;
	if (big && sha256_load(err) < 0)
		return -1;
	buf = xmalloc(READ_CHUNK);
	h.ctx = ctx_new(big);
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
