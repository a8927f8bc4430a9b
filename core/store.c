#include "core/store.h"
#include "core/array.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *name;
	mode_t mode;
} store_dirs[] = {
	{ "data", 0755 },
	{ "staging", 0700 },
	{ "logs", 0700 },
	{ "locks", 0700 },
};

static int make_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (!mkdir(path, mode))
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int mkdir_parents(const char *path, int mode)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	char *slash;
	int ret = -1;

	strbuf_addstr(&sb, path);
	while (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		strbuf_setlen(&sb, sb.len - 1);
	slash = strrchr(sb.buf, '/');
	if (!slash || slash == sb.buf) {
		ret = 0;
		goto out;
	}
	*slash = '\0';
	if (!stat(sb.buf, &st) && S_ISDIR(st.st_mode)) {
		ret = 0;
		goto out;
	}
	for (char *p = sb.buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (make_dir(sb.buf, (mode_t)mode))
			goto out;
		*p = '/';
	}
	if (make_dir(sb.buf, (mode_t)mode))
		goto out;
	ret = 0;
out:
	strbuf_release(&sb);
	return ret;
}

static int clear_dir(int dfd);

static int remove_at(int dfd, const char *name)
{
	struct stat st;
	int fd, ret;

	if (!unlinkat(dfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = EPERM;
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EACCES || fchmodat(dfd, name, st.st_mode | 0700, 0))
			return -1;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	ret = clear_dir(fd);
	if (ret)
		return -1;
	if (unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT)
		return -1;
	return 0;
}

/* Empties the directory open at dfd and closes dfd. */
static int clear_dir(int dfd)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int ret = -1, e = 0;

	if (!fstat(dfd, &st) && (st.st_mode & 0700) != 0700)
		fchmod(dfd, st.st_mode | 0700);
	d = fdopendir(dfd);
	if (!d) {
		e = errno;
		close(dfd);
		errno = e;
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				goto out;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name))
			goto out;
	}
	ret = 0;
out:
	e = errno;
	closedir(d);
	errno = e;
	return ret;
}

int remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path);
}

void store_release(struct store *s)
{
	free(s->root);
	free(s->data_dir);
	s->root = NULL;
	s->data_dir = NULL;
}

int store_open(struct store *s, const char *root, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	char *real = NULL;
	int ret = -1;

	s->root = NULL;
	s->data_dir = NULL;
	if (!*root) {
		strbuf_addstr(err, "store '': empty path");
		goto out;
	}
	if (mkdir_parents(root, 0755) || make_dir(root, 0700)) {
		strbuf_addf(err, "store '%s': cannot create directory: %s", root, strerror(errno));
		goto out;
	}
	real = realpath(root, NULL);
	if (!real) {
		strbuf_addf(err, "store '%s': cannot resolve path: %s", root, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(store_dirs) / sizeof(store_dirs[0]); i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", real, store_dirs[i].name);
		if (make_dir(path.buf, store_dirs[i].mode)) {
			strbuf_addf(err, "store '%s': cannot create directory '%s': %s",
				    root, path.buf, strerror(errno));
			goto out;
		}
	}
	s->root = real;
	real = NULL;
	s->data_dir = xstrfmt("%s/data", s->root);
	ret = 0;
out:
	free(real);
	strbuf_release(&path);
	return ret;
}

void store_path(const struct store *s, const char *name, struct strbuf *out)
{
	strbuf_addf(out, "%s/%s", s->root, name);
}

void store_data_path(const struct store *s, const char *ref, struct strbuf *out)
{
	strbuf_addf(out, "%s/%s", s->data_dir, ref);
}

void store_staging_path(const struct store *s, const char *run_id, struct strbuf *out)
{
	strbuf_addf(out, "%s/staging/%s", s->root, run_id);
}

void store_log_path(const struct store *s, const char *run_id, struct strbuf *out)
{
	strbuf_addf(out, "%s/logs/%s.log", s->root, run_id);
}
