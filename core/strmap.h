#ifndef DATABUILD_STRMAP_H
#define DATABUILD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * A hash map from strings to pointers (open addressing, linear probing,
 * FNV-1a, power-of-two capacity, tombstones, rebuilt at 70% load). Keys
 * are copied and owned by the map; values are borrowed (the map never
 * frees them). Lookup, insert and delete are O(1) expected. Iteration
 * order is unspecified. Not thread-safe: callers lock.
 */
struct strmap_entry {
	char *key;          /* NULL: empty slot; STRMAP_TOMBSTONE: deleted */
	uint64_t hash;
	void *value;
};

struct strmap {
	struct strmap_entry *slots;
	size_t cap;         /* power of two, or 0 */
	size_t nr;          /* live entries */
	size_t used;        /* live + tombstones */
};

#define STRMAP_INIT { .slots = NULL, .cap = 0, .nr = 0, .used = 0 }

/* The marker of a deleted slot (only strmap.c and strmap_next look at it). */
extern char strmap_tombstone[];
#define STRMAP_TOMBSTONE strmap_tombstone

void strmap_init(struct strmap *m);
/* Frees keys and the table (m stays usable, empty); values are the caller's. */
void strmap_clear(struct strmap *m);
/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
int strmap_contains(const struct strmap *m, const char *key);
/* Sets key to value; returns the previous value (or NULL). */
void *strmap_put(struct strmap *m, const char *key, void *value);
/*
 * The entry of key, inserted with value NULL if absent (*added is then 1,
 * else 0): one hash and one probe where strmap_get then strmap_put take
 * two. The caller may set entry->value; entry->key is the map's own copy
 * (as strmap_key). The pointer is valid until the next insertion or removal.
 */
struct strmap_entry *strmap_find_or_add(struct strmap *m, const char *key, int *added);
/* Removes key; returns its value (or NULL). */
void *strmap_remove(struct strmap *m, const char *key);
/*
 * The map's own copy of key (stable until removal or clear), or NULL:
 * lets callers intern strings.
 */
const char *strmap_key(const struct strmap *m, const char *key);

/*
 * Iterate: for (size_t i = 0; strmap_next(m, &i, &k, &v); ) ...
 * key and value may be NULL. strmap_put of an existing key and
 * strmap_remove of the current key are safe during iteration; inserting
 * new keys is not (the table may be rebuilt).
 */
int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value);

uint64_t strhash(const char *s);

#endif
