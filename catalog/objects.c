#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/array.h"
#include "core/hash.h"
#include "store/object.h"

/*
 * The migration of a store made before objects/ (docs/design/history.md,
 * "The object store"; docs/operations.md, "Upgrading").
 */

#define MIGRATE_PAGE 1000

/*
 * Opens the directory holding data/<ref> (beneath data/, no link
 * followed, nothing created); *base gets ref's last segment. -1 with errno.
 */
static int open_parent(const struct store *s, const char *ref, const char **base)
{
	const char *slash = strrchr(ref, '/');
	char *dir;
	int fd;

	*base = slash ? slash + 1 : ref;
	if (!slash)
		return store_open_beneath(s->data_fd, ".", O_RDONLY | O_DIRECTORY);
	dir = xstrndup(ref, (size_t)(slash - ref));
	fd = store_open_beneath(s->data_fd, dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	return fd;
}

/*
 * Links the data file of p into objects/ when its bytes are its manifest's
 * and records its identity taken after the link. A file that is missing,
 * not a regular file, unreadable or of other bytes is left alone (its
 * check finds it damaged). 0, or -1 with err.
 */
static int migrate_one(struct catalog *c, const struct partition *p, struct strbuf *err)
{
	const struct store *s = c->store;
	struct strbuf e = STRBUF_INIT;
	char hex[SHA256_HEX_SIZE], ident[STORE_IDENT_MAX];
	const char *base;
	struct stat st, at;
	long long size = -1;
	int fd, pfd = -1, r, ret = -1;

	fd = store_open_data(s, p->ref, O_RDONLY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (p->size >= 0 && st.st_size != p->size) ||
	    sha256_fd(fd, p->ref, hex, &size, &e) < 0 || strcmp(hex, p->sha256)) {
		ret = 0;
		goto out;
	}
	pfd = open_parent(s, p->ref, &base);
	/* still the file hashed: nothing else is linked under its hash */
	if (pfd < 0 || fstatat(pfd, base, &at, AT_SYMLINK_NOFOLLOW) < 0 ||
	    at.st_ino != st.st_ino || at.st_dev != st.st_dev) {
		ret = 0;
		goto out;
	}
	r = store_object_put(s, pfd, base, p->sha256, size, err);
	if (r < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		strbuf_addf(err, "cannot stat '%s/%s': %s", s->data_dir, p->ref, strerror(errno));
		goto out;
	}
	store_ident_format(&st, ident);
	if ((!p->ident || strcmp(p->ident, ident)) &&
	    catalog_set_ident(c, p->ref, p->published_run, ident, err) < 0)
		goto out;
	ret = 0;
out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	strbuf_release(&e);
	return ret;
}

int catalog_migrate_objects(struct catalog *c, struct strbuf *err)
{
	const unsigned mask = 1u << PART_LIVE | 1u << PART_STALE | 1u << PART_TAINTED;
	struct partition_list page = PARTITION_LIST_INIT;
	struct strbuf e = STRBUF_INIT;
	char *after = NULL;
	int r, ret = -1;

	r = store_format_has(c->store, STORE_FORMAT_OBJECTS, err);
	if (r)
		return r < 0 ? -1 : 0;
	for (;;) {
		size_t i;

		partition_list_release(&page);
		if (catalog_list_partitions(c, "", after, MIGRATE_PAGE, mask, &page, err) < 0)
			goto out;
		for (i = 0; i < page.nr; i++) {
			const struct partition *p = &page.items[i];

			if (p->sha256[0] && p->published_run && migrate_one(c, p, &e) < 0) {
				strbuf_addf(err, "store '%s': cannot move partition '%s' into "
					    "objects/: %s", c->store->root, p->ref, e.buf);
				goto out;
			}
		}
		if (page.nr < MIGRATE_PAGE)
			break;
		free(after);
		after = xstrdup(page.items[page.nr - 1].ref);
	}
	if (store_format_set(c->store, STORE_FORMAT_OBJECTS "\n", err) < 0)
		goto out;
	ret = 0;
out:
	partition_list_release(&page);
	strbuf_release(&e);
	free(after);
	return ret;
}
