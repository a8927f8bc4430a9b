/* renameat2 comes from _GNU_SOURCE, which meson defines for every file */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/strmap.h"
#include "store/staging.h"

/* <dir of the tree>/.spare-<k>: path is <root>/staging/<name>. */
static void spare_path(const char *path, unsigned k, struct strbuf *out)
{
	const char *slash = strrchr(path, '/');

	strbuf_reset(out);
	strbuf_add(out, path, slash ? (size_t)(slash - path) + 1 : 0);
	strbuf_addf(out, ".spare-%u", k);
}

/* Whether the entry de of d is a directory (not a link to one). */
static int entry_is_dir(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

/* Every parent directory of every output, relative to out/. */
static void parents_of(const struct strvec *outputs, struct strmap *dirs)
{
	struct strbuf dir = STRBUF_INIT;

	for (size_t i = 0; i < outputs->nr; i++) {
		const char *ref = outputs->v[i];

		for (const char *p = strchr(ref, '/'); p; p = strchr(p + 1, '/')) {
			strbuf_reset(&dir);
			strbuf_add(&dir, ref, (size_t)(p - ref));
			strmap_put(dirs, dir.buf, NULL);
		}
	}
	strbuf_release(&dir);
}

/*
 * Removes from the directory open at dfd (rel: its path under out/, "" for
 * out/ itself) everything that is not one of dirs; closes dfd. 0 or -1.
 */
static int prune(int dfd, const char *rel, const struct strmap *dirs)
{
	struct strbuf sub = STRBUF_INIT;
	struct dirent *de;
	DIR *d = fdopendir(dfd);
	int ret = -1;

	if (!d) {
		close(dfd);
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strbuf_reset(&sub);
		strbuf_addf(&sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (entry_is_dir(d, de) && strmap_contains(dirs, sub.buf)) {
			fd = openat(dirfd(d), de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 && prune(fd, sub.buf, dirs) == 0)
				continue;
		}
		if (remove_tree_at(dirfd(d), de->d_name) < 0)
			goto out;
	}
	ret = errno ? -1 : 0;
out:
	closedir(d);
	strbuf_release(&sub);
	return ret;
}

/* Takes over a spare tree as path: 1 done, 0 none spare. */
static int claim_spare(const char *path)
{
	struct strbuf spare = STRBUF_INIT;
	int ret = 0;

	for (unsigned k = 0; k < STAGING_SPARES && !ret; k++) {
		spare_path(path, k, &spare);
		if (rename(spare.buf, path) == 0)
			ret = 1;
		else if (errno != ENOENT && remove_tree(path) == 0 && rename(spare.buf, path) == 0)
			ret = 1;  /* path was left by a crashed run of this id */
	}
	strbuf_release(&spare);
	return ret;
}

int store_staging_make(const struct store *s, const char *run_id,
		       const struct strvec *outputs, struct strbuf *path, struct strbuf *err)
{
	struct strmap dirs = STRMAP_INIT;
	struct strbuf out = STRBUF_INIT, dir = STRBUF_INIT;
	struct strvec sorted = STRVEC_INIT;
	const char *name;
	void *unused;
	int fd, ret = -1;

	store_staging_path(s, run_id, path);
	strbuf_addf(&out, "%s/out", path->buf);
	parents_of(outputs, &dirs);
	if (claim_spare(path->buf)) {
		fd = open(out.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && prune(fd, "", &dirs) == 0)
			goto parents;
		remove_tree(path->buf);  /* a damaged spare: start afresh */
	}
	if (mkdir(path->buf, 0700) < 0 && errno == EEXIST) {
		remove_tree(path->buf);  /* left by a crashed run of this id */
		errno = 0;
		mkdir(path->buf, 0700);
	}
	if (mkdir(out.buf, 0700) < 0) {
		strbuf_addf(err, "cannot create '%s': %s", out.buf, strerror(errno));
		goto done;
	}
parents:
	/* sorted, a parent comes before its children (its name is their prefix) */
	for (size_t k = 0; strmap_next(&dirs, &k, &name, &unused);)
		strvec_push(&sorted, name);
	strvec_sort(&sorted, 1);
	for (size_t j = 0; j < sorted.nr; j++) {
		strbuf_reset(&dir);
		strbuf_addf(&dir, "%s/%s", out.buf, sorted.v[j]);
		if (mkdir(dir.buf, 0755) < 0 && errno != EEXIST) {
			strbuf_addf(err, "cannot create '%s': %s", dir.buf, strerror(errno));
			goto done;
		}
	}
	ret = 0;
done:
	if (ret < 0)
		remove_tree(path->buf);  /* nothing half-made is left behind */
	strmap_clear(&dirs);
	strvec_clear(&sorted);
	strbuf_release(&out);
	strbuf_release(&dir);
	return ret;
}

/* Whether the directory open at dfd holds directories only; closes dfd. */
static int only_dirs(int dfd)
{
	struct dirent *de;
	DIR *d = fdopendir(dfd);
	int ok = 1;

	if (!d) {
		close(dfd);
		return 0;
	}
	while (ok && (errno = 0, de = readdir(d))) {
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!entry_is_dir(d, de)) {
			ok = 0;
			break;
		}
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		ok = fd >= 0 && only_dirs(fd);
	}
	if (ok && errno)
		ok = 0;
	closedir(d);
	return ok;
}

int store_staging_retire(const char *path)
{
	struct strbuf spare = STRBUF_INIT;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret;

	if (fd < 0 && errno == ENOENT) {
		ret = 0;
		goto out;
	}
	if (fd >= 0 && only_dirs(fd)) {
		for (unsigned k = 0; k < STAGING_SPARES; k++) {
			spare_path(path, k, &spare);
			if (renameat2(AT_FDCWD, path, AT_FDCWD, spare.buf, RENAME_NOREPLACE) == 0) {
				ret = 0;
				goto out;
			}
			if (errno != EEXIST)
				break;
		}
	}
	ret = remove_tree(path);
out:
	strbuf_release(&spare);
	return ret;
}
