#include "core/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/array.h"

#define READ_CHUNK (128 * 1024)

void sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	h->ctx = ctx;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
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
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		abort();
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
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
	unsigned char *buf = xmalloc(READ_CHUNK);
	long long total = 0;
	struct sha256 h;
	int ret = -1;

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
		EVP_MD_CTX_free(h.ctx);
		h.ctx = NULL;
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
