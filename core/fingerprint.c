#include <pthread.h>
#include <string.h>

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

int fingerprint_hash(const char *path, char out[SHA256_HEX_SIZE], struct strbuf *err)
{
	struct fingerprint before, after;
	struct cached *c;
	long long t;

	fingerprint_of(path, &before);
	pthread_mutex_lock(&cache_lock);
	c = before.exists ? strmap_get(&cache, path) : NULL;
	if (c && fingerprint_equal(&c->fp, &before)) {
		memcpy(out, c->hex, SHA256_HEX_SIZE);
		hits_nr++;
		pthread_mutex_unlock(&cache_lock);
		return 0;
	}
	hashed_nr++;
	pthread_mutex_unlock(&cache_lock);

	t = now_us() * 1000LL;
	if (sha256_file(path, out, NULL, err) < 0)
		return -1;
	fingerprint_of(path, &after);
	/* Only a hash taken of a file that held still and is not racy is kept. */
	if (!before.exists || !fingerprint_equal(&before, &after) || fingerprint_racy(&after, t))
		return 0;
	pthread_mutex_lock(&cache_lock);
	c = strmap_get(&cache, path);
	if (!c) {
		c = xmalloc(sizeof(*c));
		strmap_put(&cache, path, c);
	}
	c->fp = after;
	memcpy(c->hex, out, SHA256_HEX_SIZE);
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

void fingerprint_stats(unsigned long *hashed, unsigned long *hits)
{
	pthread_mutex_lock(&cache_lock);
	*hashed = hashed_nr;
	*hits = hits_nr;
	pthread_mutex_unlock(&cache_lock);
}
