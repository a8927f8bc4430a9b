#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "catalog/lease.h"
#include "core/array.h"
#include "core/hash.h"

struct lease {
	int fd;
	char *ref;
};

void flock_lease_path(const char *root, const char *ref, struct strbuf *out)
{
	char hex[SHA256_HEX_SIZE];

	sha256_hex(ref, strlen(ref), hex);
	strbuf_addf(out, "%s/locks/%.2s/%s.lock", root, hex, hex);
}

int flock_lease_acquire(const char *root, const char *ref, int wait,
			struct lease **out, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	char pid[32];
	int fd = -1, rc, ret = -1;

	*out = NULL;
	flock_lease_path(root, ref, &path);
	if (mkdir_parents(path.buf, 0700) < 0) {
		strbuf_addf(err, "lease of '%s': cannot create the directory of '%s': %s",
			    ref, path.buf, strerror(errno));
		goto out;
	}
	fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		strbuf_addf(err, "lease of '%s': cannot open '%s': %s", ref, path.buf,
			    strerror(errno));
		goto out;
	}
	do
		rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	while (rc < 0 && errno == EINTR);
	if (rc < 0 && errno == EWOULDBLOCK) {
		ret = 0;
		goto out;
	}
	if (rc < 0) {
		strbuf_addf(err, "lease of '%s': cannot lock '%s': %s", ref, path.buf,
			    strerror(errno));
		goto out;
	}
	/* The holder's pid, for humans looking at a lock file; failures do not matter. */
	rc = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)rc, 0) < 0)
		(void)0;
	*out = xmalloc(sizeof(**out));
	(*out)->fd = fd;
	(*out)->ref = xstrdup(ref);
	fd = -1;
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	return ret;
}

void flock_lease_release(struct lease *l)
{
	if (!l)
		return;
	close(l->fd);  /* drops the flock: this descriptor is its only owner */
	free(l->ref);
	free(l);
}
