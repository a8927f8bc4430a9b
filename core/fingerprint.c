#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "core/fingerprint.h"
#include "core/strmap.h"

struct cached {
	struct fingerprint fp;
	char hex[SHA256_HEX_SIZE];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strmap cache = STRMAP_INIT;   /* path -> struct cached */
static unsigned long hashed_nr, hits_nr;
static char *keep_dir;                      /* fingerprint_keep_in's, or NULL */
static char host[256];                      /* this host's name (host_init, once) */
static unsigned long tmp_seq;               /* temporary names of records, per process */

#define KEPT_MAGIC "databuild-hash-v1"

void fingerprint_from_stat(const struct stat *st, struct fingerprint *out)
{
	memset(out, 0, sizeof(*out));
	if (!S_ISREG(st->st_mode))
		return;
	out->exists = 1;
	out->dev = (unsigned long long)st->st_dev;
	out->ino = (unsigned long long)st->st_ino;
	out->size = (long long)st->st_size;
	out->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->ctime_ns = (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
}

void fingerprint_of(const char *path, struct fingerprint *out)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		memset(out, 0, sizeof(*out));
		return;
	}
	fingerprint_from_stat(&st, out);
}

int fingerprint_equal(const struct fingerprint *a, const struct fingerprint *b)
{
	if (!a->exists || !b->exists)
		return a->exists == b->exists;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int fingerprint_racy(const struct fingerprint *fp, long long now_ns)
{
	long long tick = fp->mtime_ns % 1000000000LL == 0 && fp->ctime_ns % 1000000000LL == 0 ?
		FINGERPRINT_COARSE_NS : FINGERPRINT_TICK_NS;

	return fp->exists && now_ns - fp->mtime_ns < tick;
}

static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_init(void)
{
	if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
		strcpy(host, "localhost");
}

void fingerprint_keep_in(const char *dir)
{
	pthread_once(&host_once, host_init);
	pthread_mutex_lock(&cache_lock);
	free(keep_dir);
	keep_dir = dir ? xstrdup(dir) : NULL;
	pthread_mutex_unlock(&cache_lock);
}

void fingerprint_forget(void)
{
	const char *key;
	void *value;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; strmap_next(&cache, &i, &key, &value);)
		free(value);
	strmap_clear(&cache);
	pthread_mutex_unlock(&cache_lock);
}

/* The record of path in dir: dir/<sha256(host NUL path)>. */
static void kept_name(const char *dir, const char *path, struct strbuf *out)
{
	struct sha256 h;
	char hex[SHA256_HEX_SIZE];

	sha256_init(&h);
	sha256_update(&h, host, strlen(host) + 1);
	sha256_update(&h, path, strlen(path));
	sha256_final(&h, hex);
	strbuf_addf(out, "%s/%s", dir, hex);
}

/* A record's text: the magic, the fingerprint and hash, then host and path. */
static void kept_format(const char *on, const char *path, const struct fingerprint *fp,
			const char *hex, struct strbuf *out)
{
	strbuf_addf(out, KEPT_MAGIC " %llu %llu %lld %lld %lld %s\n%s\n%s\n", fp->dev, fp->ino,
		    fp->size, fp->mtime_ns, fp->ctime_ns, hex, on, path);
}

/*
 * Parses text, a record, into its fingerprint, hash, host and path (both
 * pointing into text, which is cut at their ends): 0, or -1 if it is not
 * exactly what kept_format writes.
 */
static int kept_parse(struct strbuf *text, struct fingerprint *fp, char hex[SHA256_HEX_SIZE],
		      const char **on, const char **path)
{
	struct strbuf again = STRBUF_INIT;
	char *nl1, *nl2;
	int n = 0, ret = -1;

	memset(fp, 0, sizeof(*fp));
	fp->exists = 1;
	if (sscanf(text->buf, KEPT_MAGIC " %llu %llu %lld %lld %lld %64[0-9a-f]%n", &fp->dev,
		   &fp->ino, &fp->size, &fp->mtime_ns, &fp->ctime_ns, hex, &n) != 6 ||
	    strlen(hex) != SHA256_HEX_SIZE - 1 || text->buf[n] != '\n' ||
	    !(nl1 = strchr(text->buf + n + 1, '\n')) || !(nl2 = strchr(nl1 + 1, '\n')))
		return -1;
	/* written again from what was read, it must be the same bytes */
	*nl1 = *nl2 = '\0';
	*on = text->buf + n + 1;
	*path = nl1 + 1;
	kept_format(*on, *path, fp, hex, &again);
	*nl1 = *nl2 = '\n';
	if (again.len == text->len && !memcmp(again.buf, text->buf, text->len)) {
		*nl1 = *nl2 = '\0';
		ret = 0;
	}
	strbuf_release(&again);
	return ret;
}

/* 1 with the hash in out if dir holds a record of path whose fingerprint is fp, else 0. */
static int kept_read(const char *dir, const char *path, const struct fingerprint *fp,
		     char out[SHA256_HEX_SIZE])
{
	struct strbuf name = STRBUF_INIT, text = STRBUF_INIT;
	struct fingerprint kept;
	const char *on, *kept_path;
	int found = 0;

	kept_name(dir, path, &name);
	if (strbuf_read_file(&text, name.buf, 64 * 1024) < 0 ||
	    kept_parse(&text, &kept, out, &on, &kept_path) < 0)
		goto out;
	found = !strcmp(on, host) && !strcmp(kept_path, path) && fingerprint_equal(&kept, fp);
out:
	strbuf_release(&name);
	strbuf_release(&text);
	return found;
}

/* Writes the record of path (best effort: a failure leaves the old one or none). */
static void kept_write(const char *dir, const char *path, const struct fingerprint *fp,
		       const char *hex)
{
	struct strbuf name = STRBUF_INIT, tmp = STRBUF_INIT, text = STRBUF_INIT;
	const char *slash = strrchr(dir, '/');
	int fd, ok;

	kept_name(dir, path, &name);
	pthread_mutex_lock(&cache_lock);
	strbuf_addf(&tmp, "%s.tmp.%ld.%lu", name.buf, (long)getpid(), tmp_seq++);
	pthread_mutex_unlock(&cache_lock);
	kept_format(host, path, fp, hex, &text);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* first use: the directory and its parent (the store's cache/) */
		if (slash && slash > dir) {
			char *parent = xstrndup(dir, (size_t)(slash - dir));

			mkdir(parent, 0700);
			free(parent);
		}
		mkdir(dir, 0700);
		fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	}
	if (fd < 0)
		goto out;
	ok = write(fd, text.buf, text.len) == (ssize_t)text.len;
	if (close(fd) < 0 || !ok || rename(tmp.buf, name.buf) < 0)
		unlink(tmp.buf);
out:
	strbuf_release(&name);
	strbuf_release(&tmp);
	strbuf_release(&text);
}

/* Whether record name in dir no longer serves (see fingerprint_prune); st its stat. */
static int kept_stale(const char *dir, const char *name, const struct stat *st)
{
	struct strbuf file = STRBUF_INIT, text = STRBUF_INIT, want = STRBUF_INIT;
	struct fingerprint fp, now;
	char hex[SHA256_HEX_SIZE];
	const char *on, *path;
	int stale = 1;

	if (strstr(name, ".tmp.")) {
		stale = now_us() / 1000000 - (long long)st->st_mtime > 3600;
		goto out;
	}
	strbuf_addf(&file, "%s/%s", dir, name);
	if (strbuf_read_file(&text, file.buf, 64 * 1024) < 0) {
		stale = errno != ENOENT ? 1 : 0;  /* gone already: nothing to remove */
		goto out;
	}
	if (kept_parse(&text, &fp, hex, &on, &path) < 0)
		goto out;
	if (strcmp(on, host)) {
		stale = 0;                        /* another host's file: not ours to judge */
		goto out;
	}
	kept_name(dir, path, &want);
	if (strcmp(want.buf, file.buf))
		goto out;                         /* under another record's name */
	fingerprint_of(path, &now);
	stale = !fingerprint_equal(&fp, &now);
out:
	strbuf_release(&file);
	strbuf_release(&text);
	strbuf_release(&want);
	return stale;
}

int fingerprint_prune(const char *dir, int dry_run, uint64_t *count, int64_t *bytes,
		      struct strbuf *err)
{
	struct strbuf file = STRBUF_INIT;
	struct dirent *de;
	DIR *d;
	int ret = -1;

	*count = 0;
	*bytes = 0;
	pthread_once(&host_once, host_init);
	if (!(d = opendir(dir))) {
		if (errno == ENOENT)
			return 0;
		strbuf_addf(err, "kept hashes '%s': cannot open: %s", dir, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		strbuf_reset(&file);
		strbuf_addf(&file, "%s/%s", dir, de->d_name);
		if (lstat(file.buf, &st) < 0 || !S_ISREG(st.st_mode) ||
		    !kept_stale(dir, de->d_name, &st))
			continue;
		if (!dry_run && unlink(file.buf) < 0 && errno != ENOENT) {
			strbuf_addf(err, "kept hash '%s': cannot remove: %s", file.buf,
				    strerror(errno));
			goto out;
		}
		(*count)++;
		*bytes += (int64_t)st.st_blocks * 512;
	}
	if (errno) {
		strbuf_addf(err, "kept hashes '%s': cannot read: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	closedir(d);
	strbuf_release(&file);
	return ret;
}

/* Remembers path's hash for this process (taken of a file with fingerprint fp). */
static void remember(const char *path, const struct fingerprint *fp, const char *hex)
{
	struct cached *c;

	pthread_mutex_lock(&cache_lock);
	c = strmap_get(&cache, path);
	if (!c) {
		c = xmalloc(sizeof(*c));
		strmap_put(&cache, path, c);
	}
	c->fp = *fp;
	memcpy(c->hex, hex, SHA256_HEX_SIZE);
	pthread_mutex_unlock(&cache_lock);
}

int fingerprint_hash(const char *path, char out[SHA256_HEX_SIZE], struct strbuf *err)
{
	struct fingerprint before, after;
	struct cached *c;
	char *dir = NULL;
	long long t;
	int ret = -1;

	fingerprint_of(path, &before);
	pthread_mutex_lock(&cache_lock);
	c = before.exists ? strmap_get(&cache, path) : NULL;
	if (c && fingerprint_equal(&c->fp, &before)) {
		memcpy(out, c->hex, SHA256_HEX_SIZE);
		hits_nr++;
		pthread_mutex_unlock(&cache_lock);
		return 0;
	}
	if (before.exists && keep_dir)
		dir = xstrdup(keep_dir);
	pthread_mutex_unlock(&cache_lock);

	if (dir && kept_read(dir, path, &before, out)) {
		pthread_mutex_lock(&cache_lock);
		hits_nr++;
		pthread_mutex_unlock(&cache_lock);
		remember(path, &before, out);
		ret = 0;
		goto out;
	}
	pthread_mutex_lock(&cache_lock);
	hashed_nr++;
	pthread_mutex_unlock(&cache_lock);
	t = now_us() * 1000LL;
	if (sha256_file(path, out, NULL, err) < 0)
		goto out;
	ret = 0;
	fingerprint_of(path, &after);
	/* Only a hash taken of a file that held still and is not racy is kept. */
	if (!before.exists || !fingerprint_equal(&before, &after) || fingerprint_racy(&after, t))
		goto out;
	remember(path, &after, out);
	if (dir)
		kept_write(dir, path, &after, out);
out:
	free(dir);
	return ret;
}

void fingerprint_stats(unsigned long *hashed, unsigned long *hits)
{
	pthread_mutex_lock(&cache_lock);
	*hashed = hashed_nr;
	*hits = hits_nr;
	pthread_mutex_unlock(&cache_lock);
}
