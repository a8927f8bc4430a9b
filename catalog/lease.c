#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/*
 * Opens and flocks path into *fd. 1: locked, and *fd is the file now at
 * path; 0: locked, but the file was unlinked or replaced meanwhile (the
 * caller closes *fd and tries again); -1 with errno (*fd -1 if the open
 * failed; EWOULDBLOCK: held, without wait).
 */
static int open_and_lock(const char *path, int wait, int *fd)
{
	struct stat fst, pst;
	int rc;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return -1;
	do
		rc = flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	while (rc < 0 && errno == EINTR);
	if (rc < 0 || fstat(*fd, &fst) < 0)
		return -1;
	if (stat(path, &pst) < 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	return fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino;
}

int flock_lease_acquire(const char *root, const char *ref, int wait,
			struct lease **out, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	char pid[32];
	int fd = -1, rc, ret = -1;

	*out = NULL;
	flock_lease_path(root, ref, &path);
	/*
	 * gc unlinks the lock files of idle partitions while it holds their
	 * lease. A descriptor opened before that unlink locks a file nobody
	 * else will open again, so after flock the holder checks that its
	 * descriptor is still the file at the path, and otherwise opens anew.
	 */
	for (;;) {
		rc = open_and_lock(path.buf, wait, &fd);
		if (rc < 0 && fd < 0 && errno == ENOENT) {
			/* the first lease of a ref in its locks/<hh>/ (or gc removed it) */
			if (mkdir_parents(path.buf, 0700) < 0) {
				strbuf_addf(err, "lease of '%s': cannot create the directory of "
					    "'%s': %s", ref, path.buf, strerror(errno));
				goto out;
			}
			rc = open_and_lock(path.buf, wait, &fd);
		}
		if (rc < 0 && errno == EWOULDBLOCK) {
			ret = 0;
			goto out;
		}
		if (rc < 0) {
			strbuf_addf(err, "lease of '%s': cannot %s '%s': %s", ref,
				    fd < 0 ? "open" : "lock", path.buf, strerror(errno));
			goto out;
		}
		if (rc == 1)
			break;
		close(fd);
		fd = -1;
	}
	/*
	 * The holder's pid, for humans looking at a lock file; failures do not
	 * matter. Right-aligned in a fixed width, so that it overwrites an
	 * earlier holder's without a truncate: on ext4 a truncate to 0 makes
	 * the close write the file out (auto_da_alloc), an I/O per lease.
	 */
	rc = snprintf(pid, sizeof(pid), "%*ld\n", LEASE_PID_WIDTH, (long)getpid());
	if (pwrite(fd, pid, (size_t)rc, 0) < 0)
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
