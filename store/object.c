#include "store/object.h"
#include "core/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OBJECT_HEX 64

/* Whether sha256 is 64 lowercase hex digits. */
static int hex_valid(const char *sha256)
{
	size_t i;

	for (i = 0; i < OBJECT_HEX; i++) {
		char ch = sha256[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0;
	}
	return sha256[i] == '\0';
}

void store_object_path(const struct store *s, const char *sha256, struct strbuf *out)
{
	strbuf_addf(out, "%s/objects/%.2s/%s", s->root, sha256, sha256 + 2);
}

/*
 * Opens <root>/objects/ab for sha256 beneath the root (O_RDONLY |
 * O_DIRECTORY), making ab/ (mode 0755) first with create. -1 with errno.
 */
static int open_fanout(const struct store *s, const char *sha256, int create)
{
	char sub[3] = { sha256[0], sha256[1], '\0' };
	int root, objects = -1, fd = -1, e;

	root = open(s->root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return -1;
	objects = store_open_beneath(root, "objects", O_RDONLY | O_DIRECTORY);
	if (objects < 0)
		goto out;
	if (create && mkdirat(objects, sub, 0755) < 0 && errno != EEXIST)
		goto out;
	fd = store_open_beneath(objects, sub, O_RDONLY | O_DIRECTORY);
out:
	e = errno;
	if (objects >= 0)
		close(objects);
	close(root);
	errno = e;
	return fd;
}

int store_open_object(const struct store *s, const char *sha256, int flags)
{
	int fan, fd, e;

	if (!hex_valid(sha256)) {
		errno = EINVAL;
		return -1;
	}
	fan = open_fanout(s, sha256, 0);
	if (fan < 0)
		return -1;
	fd = store_open_beneath(fan, sha256 + 2, flags);
	e = errno;
	close(fan);
	errno = e;
	return fd;
}

/*
 * Whether the object name (below fan) holds the bytes sha256 names, size
 * of them, read-only (mode 0444: a writable object may change under its
 * readers): 1 yes, 0 no (a damaged object), -1 with errno (ENOENT: gone).
 */
static int object_intact(int fan, const char *name, const char *sha256, long long size,
			 struct strbuf *err)
{
	struct strbuf e = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE];
	struct stat st;
	long long got = -1;
	int fd, ret = -1;

	fd = store_open_beneath(fan, name, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EISDIR;
		goto out;
	}
	ret = 0;
	if ((size >= 0 && st.st_size != size) || (st.st_mode & 07777) != 0444)
		goto out;
	if (sha256_fd(fd, name, hex, &got, &e) < 0) {
		strbuf_addstr(err, e.buf);
		errno = EIO;
		ret = -1;
		goto out;
	}
	ret = !strcmp(hex, sha256);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&e);
	return ret;
}

int store_object_put(const struct store *s, int dirfd, const char *name, const char *sha256,
		     long long size, struct strbuf *err)
{
	static unsigned long counter;
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT, e = STRBUF_INIT;
	int fan = -1, ret = -1, r;

	if (!hex_valid(sha256)) {
		strbuf_addf(err, "cannot store '%s' as an object: '%s' is not a sha256", name,
			    sha256);
		goto out;
	}
	store_object_path(s, sha256, &path);
	fan = open_fanout(s, sha256, 1);
	if (fan < 0) {
		strbuf_addf(err, "cannot make the directory of object '%s': %s", path.buf,
			    strerror(errno));
		goto out;
	}
	/* twice: an object removed (gc) between the link and the check is made again */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!linkat(dirfd, name, fan, sha256 + 2, 0)) {
			ret = 1;
			goto out;
		}
		if (errno != EEXIST) {
			strbuf_addf(err, "cannot link '%s' as object '%s': %s", name, path.buf,
				    strerror(errno));
			goto out;
		}
		r = object_intact(fan, sha256 + 2, sha256, size, &e);
		if (r > 0) {
			ret = 0;
			goto out;
		}
		if (r < 0 && errno == ENOENT)
			continue;
		if (r < 0) {
			strbuf_addf(err, "cannot check object '%s': %s", path.buf,
				    errno == EISDIR ? "it is not a regular file (the object store "
				    "is damaged)" : e.len ? e.buf : strerror(errno));
			goto out;
		}
		/*
		 * Other bytes under this hash: the object was changed in place.
		 * The staged file takes its name; the names still on the
		 * changed inode are found damaged by their checks.
		 */
		strbuf_addf(&tmp, ".tmp-%ld-%lu", (long)getpid(),
			    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
		if (linkat(dirfd, name, fan, tmp.buf, 0) < 0 ||
		    renameat(fan, tmp.buf, fan, sha256 + 2) < 0) {
			strbuf_addf(err, "cannot replace the damaged object '%s': %s", path.buf,
				    strerror(errno));
			unlinkat(fan, tmp.buf, 0);
			goto out;
		}
		ret = 1;
		goto out;
	}
	strbuf_addf(err, "cannot link '%s' as object '%s': it keeps being removed", name,
		    path.buf);
out:
	if (fan >= 0)
		close(fan);
	strbuf_release(&path);
	strbuf_release(&tmp);
	strbuf_release(&e);
	return ret;
}

int store_object_install(const struct store *s, const char *sha256, const char *ref,
			 char ident[STORE_IDENT_MAX], struct strbuf *err)
{
	static unsigned long counter;
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT;
	const char *base;
	struct stat st;
	int fan = -1, pfd = -1, ret = -1, e = 0;

	if (!hex_valid(sha256)) {
		strbuf_addf(err, "cannot publish '%s': '%s' is not a sha256", ref, sha256);
		goto out;
	}
	store_object_path(s, sha256, &path);
	fan = open_fanout(s, sha256, 0);
	if (fan < 0) {
		strbuf_addf(err, "cannot publish '%s' from object '%s': %s", ref, path.buf,
			    strerror(errno));
		goto out;
	}
	pfd = store_open_data_parent(s, ref, &base);
	if (pfd < 0) {
		strbuf_addf(err, "cannot publish '%s' from object '%s': %s", ref, path.buf,
			    errno == ELOOP ? "a directory on the way is a symbolic link; "
			    "databuild follows no link in its store" : strerror(errno));
		goto out;
	}
	strbuf_addf(&tmp, ".databuild-%ld-%lu.obj", (long)getpid(),
		    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	if (linkat(fan, sha256 + 2, pfd, tmp.buf, 0) < 0) {
		e = errno;
		strbuf_addf(err, "cannot link object '%s' beside '%s/%s': %s", path.buf,
			    s->data_dir, ref, strerror(errno));
		goto out;
	}
	/* a rename between two names of one inode does nothing: the unlink then does */
	if (renameat(pfd, tmp.buf, pfd, base) < 0) {
		strbuf_addf(err, "cannot publish object '%s' as '%s/%s': %s", path.buf,
			    s->data_dir, ref, strerror(errno));
		unlinkat(pfd, tmp.buf, 0);
		goto out;
	}
	unlinkat(pfd, tmp.buf, 0);
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		strbuf_addf(err, "cannot stat '%s/%s': %s", s->data_dir, ref, strerror(errno));
		goto out;
	}
	store_ident_format(&st, ident);
	ret = 0;
out:
	if (pfd >= 0)
		close(pfd);
	if (fan >= 0)
		close(fan);
	strbuf_release(&path);
	strbuf_release(&tmp);
	if (e)
		errno = e;
	return ret;
}

int store_object_drop(const struct store *s, const char *sha256, const struct stat *st)
{
	struct stat o;
	int fan, ret = 0, e;

	if (!hex_valid(sha256)) {
		errno = EINVAL;
		return -1;
	}
	fan = open_fanout(s, sha256, 0);
	if (fan < 0)
		return errno == ENOENT ? 0 : -1;
	if (!fstatat(fan, sha256 + 2, &o, AT_SYMLINK_NOFOLLOW) && o.st_ino == st->st_ino &&
	    o.st_dev == st->st_dev && unlinkat(fan, sha256 + 2, 0) < 0 && errno != ENOENT)
		ret = -1;
	e = errno;
	close(fan);
	errno = e;
	return ret;
}

int store_remove_data(const struct store *s, const char *ref, struct strbuf *err)
{
	const char *slash = strrchr(ref, '/');
	struct strbuf dir = STRBUF_INIT;
	int pfd = -1, ret = -1;

	if (slash) {
		strbuf_add(&dir, ref, (size_t)(slash - ref));
		pfd = store_open_beneath(s->data_fd, dir.buf, O_RDONLY | O_DIRECTORY);
		if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
			ret = 0;
			goto out;
		}
		if (pfd < 0) {
			strbuf_addf(err, "cannot remove '%s/%s': %s", s->data_dir, ref,
				    errno == ELOOP ? "a directory on the way is a symbolic link"
				    : strerror(errno));
			goto out;
		}
	}
	if (unlinkat(slash ? pfd : s->data_fd, slash ? slash + 1 : ref, 0) < 0 &&
	    errno != ENOENT) {
		strbuf_addf(err, "cannot remove '%s/%s': %s", s->data_dir, ref, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (pfd >= 0)
		close(pfd);
	strbuf_release(&dir);
	return ret;
}
