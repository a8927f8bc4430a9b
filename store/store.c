#include "store/store.h"
#include "core/array.h"
#include "core/fd.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	mode_t mode;
} store_dirs[] = {
	{ "data", 0755 },
	{ "staging", 0700 },
	{ "logs", 0700 },
	{ "locks", 0700 },
	{ "manifests", 0700 },
	{ "objects", 0755 },
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

int remove_tree_at(int dfd, const char *name)
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
		if (remove_tree_at(dirfd(d), de->d_name))
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
	return remove_tree_at(AT_FDCWD, path);
}

void store_release(struct store *s)
{
	free(s->root);
	free(s->data_dir);
	if (s->data_fd >= 0)
		close(s->data_fd);
	s->root = NULL;
	s->data_dir = NULL;
	s->data_fd = -1;
}

static void add_owner(struct strbuf *out, uid_t uid)
{
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &found) && found)
		strbuf_addf(out, "%s (uid %u)", found->pw_name, (unsigned)uid);
	else
		strbuf_addf(out, "uid %u", (unsigned)uid);
}

/*
 * Whether the directory at path (st from lstat) may hold a store: 0, or -1
 * with what is wrong and how to fix it in err.
 */
static int check_trusted(const char *root, const char *path, const struct stat *st,
			 struct strbuf *err)
{
	uid_t me = geteuid();

	if (S_ISLNK(st->st_mode)) {
		strbuf_addf(err, "store '%s': '%s' is a symbolic link; databuild follows no link "
			    "inside its store (replace it with a directory)", root, path);
		return -1;
	}
	if (!S_ISDIR(st->st_mode)) {
		strbuf_addf(err, "store '%s': '%s' is not a directory", root, path);
		return -1;
	}
	if (st->st_uid != me && st->st_uid != 0) {
		strbuf_addf(err, "store '%s': '%s' is owned by ", root, path);
		add_owner(err, st->st_uid);
		strbuf_addf(err, ", not by you (uid %u) or root; another user could change what "
			    "it serves: use a store of your own, or 'chown' it", (unsigned)me);
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		strbuf_addf(err, "store '%s': '%s' is %s-writable (mode %04o, owner ", root, path,
			    (st->st_mode & S_IWOTH) ? "world" : "group",
			    (unsigned)(st->st_mode & 07777));
		add_owner(err, st->st_uid);
		strbuf_addf(err, "), so others could replace what it serves: run 'chmod go-w %s'",
			    path);
		return -1;
	}
	return 0;
}

/* A store without store.format and without published data is new: it keeps objects. */
static int mark_new(const struct store *s, const char *root, struct strbuf *err)
{
	int r = store_format_has(s, STORE_FORMAT_OBJECTS, err), used;

	if (r)
		return r < 0 ? -1 : 0;
	used = store_has_published(s);
	if (used < 0) {
		strbuf_addf(err, "store '%s': cannot list it: %s", root, strerror(errno));
		return -1;
	}
	if (used)
		return 0;  /* from before objects/: the catalog migrates it */
	return store_format_set(s, STORE_FORMAT_OBJECTS "\n", err);
}

int store_open(struct store *s, const char *root, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT;
	char *real = NULL;
	int ret = -1;

	struct stat st;

	s->root = NULL;
	s->data_dir = NULL;
	s->data_fd = -1;
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
	if (lstat(real, &st) < 0) {
		strbuf_addf(err, "store '%s': cannot stat '%s': %s", root, real, strerror(errno));
		goto out;
	}
	if (check_trusted(root, real, &st, err) < 0)
		goto out;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/data", real);
	if (lstat(path.buf, &st) < 0) {
		strbuf_addf(err, "store '%s': cannot stat '%s': %s", root, path.buf,
			    strerror(errno));
		goto out;
	}
	if (check_trusted(root, path.buf, &st, err) < 0)
		goto out;
	s->data_fd = open(path.buf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->data_fd < 0) {
		strbuf_addf(err, "store '%s': cannot open '%s': %s", root, path.buf,
			    strerror(errno));
		goto out;
	}
	s->root = real;
	real = NULL;
	s->data_dir = strbuf_detach(&path, NULL);
	if (mark_new(s, root, err) < 0) {
		store_release(s);
		goto out;
	}
	ret = 0;
out:
	free(real);
	strbuf_release(&path);
	return ret;
}

int store_format_has(const struct store *s, const char *feature, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	size_t flen = strlen(feature);
	int fd, ret = -1;

	store_path(s, "store.format", &path);
	fd = open(path.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			strbuf_addf(err, "store '%s': cannot read '%s': %s", s->root, path.buf,
				    strerror(errno));
		goto out;
	}
	if (strbuf_read_fd(&text, fd, 4096) < 0) {
		strbuf_addf(err, "store '%s': cannot read '%s': %s", s->root, path.buf,
			    strerror(errno));
		goto out;
	}
	ret = 0;
	for (const char *p = text.buf; p < text.buf + text.len;) {
		size_t len = strcspn(p, "\n");

		if (len == flen && !memcmp(p, feature, flen))
			ret = 1;
		p += len + (p[len] == '\n');
	}
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

int store_format_set(const struct store *s, const char *text, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, tmp = STRBUF_INIT;
	int fd = -1, ret = -1;

	store_path(s, "store.format", &path);
	strbuf_addf(&tmp, "%s.%ld.tmp", path.buf, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 ||
	    rename(tmp.buf, path.buf) < 0) {
		strbuf_addf(err, "store '%s': cannot write '%s': %s", s->root, path.buf,
			    strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&tmp);
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

/* One component at a time, for kernels without openat2 (before 5.6). */
static int open_walk(int dirfd, const char *ref, int flags)
{
	struct strbuf part = STRBUF_INIT;
	const char *p = ref;
	int fd = -1, cur = dirfd, e;

	for (;;) {
		const char *slash = strchr(p, '/');

		strbuf_reset(&part);
		if (!slash) {
			fd = openat(cur, p, flags | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
		strbuf_add(&part, p, (size_t)(slash - p));
		fd = openat(cur, part.buf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cur != dirfd)
			close(cur);
		if (fd < 0) {
			if (errno == ENOTDIR) {
				struct stat st;

				/* a link where a directory should be: say so */
				if (!fstatat(dirfd, ref, &st, AT_SYMLINK_NOFOLLOW) ||
				    errno != ENOENT)
					errno = ELOOP;
			}
			cur = dirfd;
			break;
		}
		cur = fd;
		fd = -1;
		p = slash + 1;
	}
	e = errno;
	if (cur != dirfd)
		close(cur);
	strbuf_release(&part);
	errno = e;
	return fd;
}

int store_open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_walk(dirfd, path, flags);
	return fd;
}

int store_open_data(const struct store *s, const char *ref, int flags)
{
	return store_open_beneath(s->data_fd, ref, flags);
}

int store_open_data_parent(const struct store *s, const char *ref, const char **base)
{
	struct strbuf part = STRBUF_INIT;
	const char *p = ref;
	int cur, e;

	cur = openat(s->data_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (cur >= 0) {
		const char *slash = strchr(p, '/');
		int next;

		if (!slash)
			break;
		strbuf_reset(&part);
		strbuf_add(&part, p, (size_t)(slash - p));
		if (mkdirat(cur, part.buf, 0755) < 0 && errno != EEXIST) {
			e = errno;
			close(cur);
			cur = -1;
			errno = e;
			break;
		}
		next = openat(cur, part.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		if (next < 0 && e == ENOTDIR) {
			struct stat st;

			if (!fstatat(cur, part.buf, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
				e = ELOOP;
		}
		close(cur);
		cur = next;
		errno = e;
		p = slash + 1;
	}
	*base = p;
	strbuf_release(&part);
	return cur;
}

void store_ident_format(const struct stat *st, char out[STORE_IDENT_MAX])
{
	snprintf(out, STORE_IDENT_MAX, "%llu:%llu:%lld:%lld:%lld",
		 (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		 (long long)st->st_size,
		 (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
		 (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec);
}

/* Says which part of the identity moved, for the damage message. */
static void ident_diff(const char *was, const char *now, struct strbuf *why)
{
	static const char *const what[] = { "device", "inode", "size", "mtime", "ctime" };
	const char *a = was, *b = now;
	int first = 1;

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]) && *a && *b; i++) {
		size_t la = strcspn(a, ":"), lb = strcspn(b, ":");

		if (la != lb || memcmp(a, b, la)) {
			strbuf_addf(why, "%s%s", first ? "" : ", ", what[i]);
			first = 0;
		}
		a += la + (a[la] == ':');
		b += lb + (b[lb] == ':');
	}
}

/*
 * Whether identities was and now (both well formed) differ in their last
 * field, the ctime, alone: a link of the inode was added or removed.
 */
static int ident_relinked(const char *was, const char *now)
{
	const char *a = strrchr(was, ':'), *b = strrchr(now, ':');
	int fields = 0;

	if (!a || !b || a - was != b - now || memcmp(was, now, (size_t)(a - was)))
		return 0;
	for (const char *p = was; *p; p++)
		fields += *p == ':';
	return fields == 4;
}

int store_check_data(const struct store *s, const char *ref, const char *ident,
		     long long size, int *fdp, struct strbuf *why)
{
	char now[STORE_IDENT_MAX];
	struct stat st;
	int fd, ret = -1;

	if (fdp)
		*fdp = -1;
	fd = store_open_beneath(s->data_fd, ref, fdp ? O_RDONLY : O_PATH);
	if (fd < 0) {
		switch (errno) {
		case ENOENT:
			strbuf_addstr(why, "its data file is missing");
			return STORE_MISSING;
		case ELOOP:
			strbuf_addstr(why, "its data file is a symbolic link (or one is on its way)");
			return STORE_LINK;
		case ENOTDIR:
			strbuf_addstr(why, "a directory on the way to its data file is not a directory");
			return STORE_NOT_FILE;
		default:
			strbuf_addf(why, "cannot open its data file: %s", strerror(errno));
			return -1;
		}
	}
	if (fstat(fd, &st) < 0) {
		strbuf_addf(why, "cannot stat its data file: %s", strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {  /* O_PATH | O_NOFOLLOW opens the link itself */
		strbuf_addstr(why, "its data file is a symbolic link (or one is on its way)");
		ret = STORE_LINK;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		strbuf_addstr(why, "its data file is not a regular file");
		ret = STORE_NOT_FILE;
		goto out;
	}
	if (size >= 0 && st.st_size != size) {
		strbuf_addf(why, "its data file changed since it was published (size %lld -> %lld "
			    "bytes)", size, (long long)st.st_size);
		ret = STORE_CHANGED;
		goto out;
	}
	store_ident_format(&st, now);
	if (ident && *ident && strcmp(ident, now) && ident_relinked(ident, now)) {
		strbuf_addstr(why, "its data file gained or lost a link since it was published "
			      "(ctime differs)");
		ret = STORE_RELINKED;
		goto out;
	}
	if (ident && *ident && strcmp(ident, now)) {
		strbuf_addstr(why, "its data file changed since it was published (");
		ident_diff(ident, now, why);
		strbuf_addstr(why, " differ)");
		ret = STORE_CHANGED;
		goto out;
	}
	ret = STORE_INTACT;
	if (fdp) {
		*fdp = fd;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Fills buf with random bytes: 0, or -1 with errno. */
static int getrandom_all(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom((char *)buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

void store_manifest_path(const struct store *s, const char *run_id, struct strbuf *out)
{
	strbuf_addf(out, "%s/manifests/%s.json", s->root, run_id);
}

int store_put_manifest(const struct store *s, const char *run_id, const char *text,
		       size_t len, struct strbuf *path, struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	int fd, ret = -1;

	store_manifest_path(s, run_id, path);
	strbuf_addf(&tmp, "%s/manifests/.%s.json.tmp", s->root, run_id);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		strbuf_addf(err, "cannot write manifest '%s': %s", tmp.buf, strerror(errno));
		goto out;
	}
	if (write_all(fd, text, len) < 0 || close(fd) < 0) {
		strbuf_addf(err, "cannot write manifest '%s': %s", tmp.buf, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp.buf);
		goto out;
	}
	if (rename(tmp.buf, path->buf) < 0) {
		strbuf_addf(err, "cannot publish manifest '%s': %s", path->buf, strerror(errno));
		unlink(tmp.buf);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

/* 1 if directory <root>/name holds an entry not starting with '.', 0 if not, -1. */
static int dir_used(const struct store *s, const char *name)
{
	struct strbuf path = STRBUF_INIT;
	struct dirent *de;
	DIR *d;
	int used = 0;

	store_path(s, name, &path);
	d = opendir(path.buf);
	strbuf_release(&path);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while (!used && (de = readdir(d)))
		used = de->d_name[0] != '.';
	closedir(d);
	return used;
}

int store_has_published(const struct store *s)
{
	int m = dir_used(s, "manifests"), d = m > 0 ? 1 : dir_used(s, "data");

	return m < 0 || d < 0 ? -1 : (m > 0 || d > 0);
}

/* Whether text is STORE_ID_LEN lowercase hex digits (and a newline or not). */
static int id_valid(const char *text, size_t len)
{
	if (len == STORE_ID_LEN + 1 && text[STORE_ID_LEN] == '\n')
		len--;
	if (len != STORE_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)text[i]) || isupper((unsigned char)text[i]))
			return 0;
	return 1;
}

int store_id(const struct store *s, int create, char out[STORE_ID_LEN + 1], struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT, tmp = STRBUF_INIT;
	unsigned char raw[STORE_ID_LEN / 2];
	int fd = -1, ret = -1;

	store_path(s, "store.id", &path);
	for (int attempt = 0; attempt < 2; attempt++) {
		fd = open(path.buf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != ENOENT) {
			strbuf_addf(err, "store '%s': cannot read '%s': %s", s->root, path.buf,
				    strerror(errno));
			goto out;
		}
		if (!create) {
			ret = 0;
			goto out;
		}
		/* a new id, made whole before it appears: link(2) never replaces */
		if (getrandom_all(raw, sizeof(raw)) < 0) {
			strbuf_addf(err, "store '%s': cannot make an id: %s", s->root,
				    strerror(errno));
			goto out;
		}
		strbuf_reset(&text);
		for (size_t i = 0; i < sizeof(raw); i++)
			strbuf_addf(&text, "%02x", raw[i]);
		strbuf_addch(&text, '\n');
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "%s.%ld.tmp", path.buf, (long)getpid());
		fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, text.buf, text.len) < 0 || fsync(fd) < 0 ||
		    (link(tmp.buf, path.buf) < 0 && errno != EEXIST)) {
			strbuf_addf(err, "store '%s': cannot write '%s': %s", s->root, path.buf,
				    strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(tmp.buf);
			fd = -1;
			goto out;
		}
		close(fd);
		fd = -1;
		unlink(tmp.buf);
	}
	strbuf_reset(&text);
	if (fd < 0 || strbuf_read_fd(&text, fd, 256) < 0) {
		strbuf_addf(err, "store '%s': cannot read '%s': %s", s->root, path.buf,
			    strerror(errno));
		goto out;
	}
	if (!id_valid(text.buf, text.len)) {
		strbuf_addf(err, "store '%s': '%s' does not hold a store id (%d hex digits)",
			    s->root, path.buf, STORE_ID_LEN);
		goto out;
	}
	memcpy(out, text.buf, STORE_ID_LEN);
	out[STORE_ID_LEN] = '\0';
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	strbuf_release(&text);
	strbuf_release(&tmp);
	return ret;
}
