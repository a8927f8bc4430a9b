#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "store/gc.h"
#include "store/object.h"

int64_t store_disk_bytes(const struct stat *st)
{
	return (int64_t)st->st_blocks * 512;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

/* What one directory level keeps, and the key it hands to the callback. */
enum walk_kind {
	WALK_OBJECT,   /* a file named by the other 62 hex digits: key hh + name */
	WALK_LOG,      /* <run_id>.log: key run_id */
	WALK_STAGING,  /* a directory: key its name */
	WALK_LOCK,     /* <64 hex>.lock: key the 64 hex */
};

/*
 * The entries of dir that kind keeps (prefix: the parent's two hex
 * digits for objects), each handed to fn. A missing dir is empty.
 */
static int walk_dir(const char *dir, const char *prefix, enum walk_kind kind,
		    store_walk_fn *fn, void *arg, struct strbuf *err)
{
	struct strbuf key = STRBUF_INIT;
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = -1;

	if (!d) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "cannot read directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct stat st;
		int keep = 0;

		strbuf_reset(&key);
		if (kind == WALK_OBJECT && n == 62 && is_hex(e->d_name, 62)) {
			strbuf_addf(&key, "%s%s", prefix, e->d_name);
			keep = 1;
		} else if (kind == WALK_LOG && n > 4 && !strcmp(e->d_name + n - 4, ".log") &&
			   e->d_name[0] != '.') {
			strbuf_add(&key, e->d_name, n - 4);
			keep = 1;
		} else if (kind == WALK_STAGING && e->d_name[0] != '.') {
			strbuf_addstr(&key, e->d_name);
			keep = 1;
		} else if (kind == WALK_LOCK && n == 69 && !strcmp(e->d_name + 64, ".lock") &&
			   !strncmp(e->d_name, prefix, 2)) {
			strbuf_add(&key, e->d_name, 64);
			keep = is_hex(key.buf, 64);
		}
		if (!keep)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			strbuf_addf(err, "cannot stat '%s/%s': %s", dir, e->d_name,
				    strerror(errno));
			goto out;
		}
		if (kind == WALK_STAGING ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
			continue;
		if (fn(key.buf, &st, arg, err) < 0)
			goto out;
	}
	if (errno) {
		strbuf_addf(err, "cannot read directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	strbuf_release(&key);
	return ret;
}

/* <root>/<top>/hh/ for every two-hex hh, walked as kind. */
static int walk_fanout(const struct store *s, const char *top, enum walk_kind kind,
		       store_walk_fn *fn, void *arg, struct strbuf *err)
{
	struct strbuf dir = STRBUF_INIT, sub = STRBUF_INIT;
	DIR *d;
	struct dirent *e;
	int ret = -1;

	store_path(s, top, &dir);
	d = opendir(dir.buf);
	if (!d) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "cannot read directory '%s': %s", dir.buf,
				    strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(d))) {
		if (strlen(e->d_name) != 2 || !is_hex(e->d_name, 2))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", dir.buf, e->d_name);
		if (walk_dir(sub.buf, e->d_name, kind, fn, arg, err) < 0)
			goto out;
	}
	if (errno) {
		strbuf_addf(err, "cannot read directory '%s': %s", dir.buf, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	strbuf_release(&dir);
	strbuf_release(&sub);
	return ret;
}

int store_walk_objects(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err)
{
	return walk_fanout(s, "objects", WALK_OBJECT, fn, arg, err);
}

int store_walk_locks(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err)
{
	return walk_fanout(s, "locks", WALK_LOCK, fn, arg, err);
}

static int walk_top(const struct store *s, const char *top, enum walk_kind kind,
		    store_walk_fn *fn, void *arg, struct strbuf *err)
{
	struct strbuf dir = STRBUF_INIT;
	int ret;

	store_path(s, top, &dir);
	ret = walk_dir(dir.buf, "", kind, fn, arg, err);
	strbuf_release(&dir);
	return ret;
}

int store_walk_logs(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err)
{
	return walk_top(s, "logs", WALK_LOG, fn, arg, err);
}

int store_walk_staging(const struct store *s, store_walk_fn *fn, void *arg, struct strbuf *err)
{
	return walk_top(s, "staging", WALK_STAGING, fn, arg, err);
}

/* flock(fd, op) through EINTR: 0, or -1 with errno (EWOULDBLOCK: held). */
static int flock_retry(int fd, int op)
{
	int rc;

	do
		rc = flock(fd, op);
	while (rc < 0 && errno == EINTR);
	return rc;
}

int store_object_held(const struct store *s, const char *sha256, struct strbuf *err)
{
	int fd = store_open_object(s, sha256, O_RDONLY);
	int ret = -1;

	if (fd < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "object '%s': cannot open: %s", sha256, strerror(errno));
		goto out;
	}
	if (flock_retry(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			ret = 1;
		else
			strbuf_addf(err, "object '%s': cannot lock: %s", sha256, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);  /* drops the lock */
	return ret;
}

int store_object_collect(const struct store *s, const char *sha256, int dry_run,
			 int64_t *bytes, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	struct stat fst, pst;
	int fd = store_open_object(s, sha256, O_RDONLY);
	int ret = -1;

	*bytes = 0;
	store_object_path(s, sha256, &path);
	if (fd < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "object '%s': cannot open: %s", path.buf, strerror(errno));
		goto out;
	}
	if (flock_retry(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			ret = 0;
		else
			strbuf_addf(err, "object '%s': cannot lock: %s", path.buf, strerror(errno));
		goto out;
	}
	if (fstat(fd, &fst) < 0 || lstat(path.buf, &pst) < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "object '%s': cannot stat: %s", path.buf, strerror(errno));
		goto out;
	}
	/* another name (data/<ref>) or another file at the path: not ours to remove */
	if (fst.st_nlink != 1 || fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino) {
		ret = 0;
		goto out;
	}
	if (!dry_run && unlink(path.buf) < 0) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		strbuf_addf(err, "object '%s': cannot remove: %s", path.buf, strerror(errno));
		goto out;
	}
	*bytes = store_disk_bytes(&fst);
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	return ret;
}

int64_t store_tree_bytes(const char *path)
{
	struct strbuf sub = STRBUF_INIT;
	struct stat st;
	int64_t total = 0;
	struct dirent *e;
	DIR *d = NULL;

	if (lstat(path, &st) < 0)
		goto out;
	total = store_disk_bytes(&st);
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		goto out;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s/%s", path, e->d_name);
		total += store_tree_bytes(sub.buf);
	}
out:
	if (d)
		closedir(d);
	strbuf_release(&sub);
	return total;
}

void store_lock_path(const struct store *s, const char *name, struct strbuf *out)
{
	strbuf_addf(out, "%s/locks/%.2s/%s.lock", s->root, name, name);
}

int store_lock_remove(const struct store *s, const char *name, int held_lease, int dry_run,
		      int64_t *bytes, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	struct stat fst, pst;
	int fd = -1, ret = -1;

	*bytes = 0;
	store_lock_path(s, name, &path);
	if (!held_lease) {
		fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT) {
			ret = 0;
			goto out;
		}
		if (fd < 0) {
			strbuf_addf(err, "lock file '%s': cannot open: %s", path.buf,
				    strerror(errno));
			goto out;
		}
		if (flock_retry(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				ret = 0;
			else
				strbuf_addf(err, "lock file '%s': cannot lock: %s", path.buf,
					    strerror(errno));
			goto out;
		}
		if (fstat(fd, &fst) < 0 || lstat(path.buf, &pst) < 0 ||
		    fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino) {
			ret = 0;  /* replaced or gone meanwhile: someone else's now */
			goto out;
		}
	} else if (lstat(path.buf, &pst) < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "lock file '%s': cannot stat: %s", path.buf,
				    strerror(errno));
		goto out;
	}
	if (!dry_run && unlink(path.buf) < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "lock file '%s': cannot remove: %s", path.buf,
				    strerror(errno));
		goto out;
	}
	*bytes = store_disk_bytes(&pst);
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	return ret;
}
