#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fd.h"
#include "service/token.h"

/* Creates path with a fresh token: 0, 1 if it exists already, -1 (err). */
static int token_create(const char *path, struct strbuf *err)
{
	unsigned char raw[TOKEN_HEX_LEN / 2];
	char hex[TOKEN_HEX_LEN + 2];
	size_t got = 0;
	int fd = -1, ret = -1;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno != EINTR) {
			strbuf_addf(err, "token '%s': no random bytes: %s", path, strerror(errno));
			goto out;
		}
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		hex[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
	}
	hex[TOKEN_HEX_LEN] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		ret = 1;
		goto out;
	}
	if (fd < 0 || write_all(fd, hex, TOKEN_HEX_LEN + 1) < 0 || fsync(fd) < 0) {
		strbuf_addf(err, "token '%s': cannot create it: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(raw, sizeof(raw));
	return ret;
}

/* Reads the token of an existing file, after checking who may read it. */
static int token_read(const char *path, char *out, struct strbuf *err)
{
	struct strbuf text = STRBUF_INIT;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret = -1;

	if (fd < 0) {
		strbuf_addf(err, "token '%s': cannot open it: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		strbuf_addf(err, "token '%s': not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		strbuf_addf(err, "token '%s': owned by uid %ld, not by the caller (uid %ld)",
			    path, (long)st.st_uid, (long)geteuid());
		goto out;
	}
	if (st.st_mode & 077) {
		strbuf_addf(err, "token '%s': mode %04o gives group or others access; refused "
			    "(chmod 600 it, or remove it to make a new token)", path,
			    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (strbuf_read_fd(&text, fd, 4096) < 0) {
		strbuf_addf(err, "token '%s': cannot read it: %s", path, strerror(errno));
		goto out;
	}
	strbuf_rtrim(&text);
	if (text.len != TOKEN_HEX_LEN ||
	    strspn(text.buf, "0123456789abcdef") != TOKEN_HEX_LEN) {
		strbuf_addf(err, "token '%s': expected %d lowercase hex digits (remove it to make "
			    "a new token)", path, TOKEN_HEX_LEN);
		goto out;
	}
	memcpy(out, text.buf, TOKEN_HEX_LEN + 1);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(text.buf, text.len);
	strbuf_release(&text);
	return ret;
}

int token_load(const struct store *s, char *out, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	int ret = -1;

	store_path(s, "serve.token", &path);
	if (token_create(path.buf, err) < 0)
		goto out;
	ret = token_read(path.buf, out, err);
out:
	strbuf_release(&path);
	return ret;
}

int token_equal(const char *token, const char *given, size_t len)
{
	unsigned char diff = len != TOKEN_HEX_LEN;

	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		diff |= (unsigned char)(token[i] ^ (i < len ? given[i] : 0));
	return diff == 0;
}
