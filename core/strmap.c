#include "core/strmap.h"
#include "core/array.h"

#include <string.h>

char strmap_tombstone[1];

uint64_t strhash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	/* FNV-1a's low bits are weak for similar keys: finish with a mixer. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

void strmap_init(struct strmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->nr = 0;
	m->used = 0;
}

void strmap_clear(struct strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		char *k = m->slots[i].key;
		if (k && k != STRMAP_TOMBSTONE)
			free(k);
	}
	free(m->slots);
	strmap_init(m);
}

static struct strmap_entry *find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		struct strmap_entry *e = &m->slots[i];
		if (!e->key)
			return NULL;
		if (e->key != STRMAP_TOMBSTONE && e->hash == h && !strcmp(e->key, key))
			return e;
	}
}

static void rehash(struct strmap *m, size_t cap)
{
	struct strmap_entry *old = m->slots;
	size_t oldcap = m->cap, i;

	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->used = m->nr;
	for (i = 0; i < oldcap; i++) {
		struct strmap_entry *e = &old[i];
		size_t j;

		if (!e->key || e->key == STRMAP_TOMBSTONE)
			continue;
		for (j = e->hash & (cap - 1); m->slots[j].key; j = (j + 1) & (cap - 1))
			;
		m->slots[j] = *e;
	}
	free(old);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = find(m, key, strhash(key));
	return e ? e->value : NULL;
}

int strmap_contains(const struct strmap *m, const char *key)
{
	return find(m, key, strhash(key)) != NULL;
}

const char *strmap_key(const struct strmap *m, const char *key)
{
	struct strmap_entry *e = find(m, key, strhash(key));
	return e ? e->key : NULL;
}

/* A new entry for key (absent, hash h), value NULL. */
static struct strmap_entry *insert(struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_entry *e, *tomb = NULL;
	size_t mask, i;

	if ((m->used + 1) * 10 > m->cap * 7) {
		size_t cap = m->cap ? m->cap : 16;
		while ((m->nr + 1) * 2 > cap)
			cap *= 2;
		rehash(m, cap);
	}
	mask = m->cap - 1;
	for (i = h & mask; m->slots[i].key; i = (i + 1) & mask)
		if (!tomb && m->slots[i].key == STRMAP_TOMBSTONE)
			tomb = &m->slots[i];
	e = tomb ? tomb : &m->slots[i];
	if (!tomb)
		m->used++;
	e->key = xstrdup(key);
	e->hash = h;
	e->value = NULL;
	m->nr++;
	return e;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = strhash(key);
	struct strmap_entry *e = find(m, key, h);
	void *old = NULL;

	if (e)
		old = e->value;
	else
		e = insert(m, key, h);
	e->value = value;
	return old;
}

struct strmap_entry *strmap_find_or_add(struct strmap *m, const char *key, int *added)
{
	uint64_t h = strhash(key);
	struct strmap_entry *e = find(m, key, h);

	*added = !e;
	return e ? e : insert(m, key, h);
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct strmap_entry *e = find(m, key, strhash(key));
	void *old;

	if (!e)
		return NULL;
	old = e->value;
	free(e->key);
	e->key = STRMAP_TOMBSTONE;
	e->value = NULL;
	m->nr--;
	if (!m->nr) {
		/* nothing live: drop all tombstones at once */
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
		m->used = 0;
	}
	return old;
}

int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value)
{
	while (*iter < m->cap) {
		struct strmap_entry *e = &m->slots[(*iter)++];
		if (e->key && e->key != STRMAP_TOMBSTONE) {
			if (key)
				*key = e->key;
			if (value)
				*value = e->value;
			return 1;
		}
	}
	return 0;
}
