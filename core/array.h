#ifndef DATABUILD_ARRAY_H
#define DATABUILD_ARRAY_H

#include <stddef.h>
#include <stdlib.h>

/* Allocation helpers: they abort on allocation failure (never return NULL). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2)))
char *xstrfmt(const char *fmt, ...);

/*
 * ALLOC_GROW(items, nr_wanted, alloc): make room for nr_wanted elements in
 * the heap array `items` whose capacity is `alloc` (git's idiom). Growth is
 * geometric, so appends are amortised O(1).
 */
#define alloc_nr(x) (((x) + 16) * 3 / 2)
#define ALLOC_GROW(x, nr, alloc) \
	do { \
		if ((nr) > (alloc)) { \
			if (alloc_nr(alloc) < (nr)) \
				(alloc) = (nr); \
			else \
				(alloc) = alloc_nr(alloc); \
			(x) = xrealloc((x), sizeof(*(x)) * (alloc)); \
		} \
	} while (0)

/*
 * An owned, NULL-terminated vector of owned strings (an argv or envp).
 * Invariant: v is never NULL; v[nr] == NULL. STRVEC_INIT / strvec_clear.
 */
struct strvec {
	const char **v;
	size_t nr;
	size_t alloc;
};

extern const char *strvec_empty[];
#define STRVEC_INIT { .v = strvec_empty, .nr = 0, .alloc = 0 }

void strvec_init(struct strvec *sv);
void strvec_clear(struct strvec *sv);
/* Appends a copy of s. */
void strvec_push(struct strvec *sv, const char *s);
/* Takes ownership of s (heap string). */
void strvec_push_nodup(struct strvec *sv, char *s);
__attribute__((format(printf, 2, 3)))
void strvec_pushf(struct strvec *sv, const char *fmt, ...);
void strvec_pushv(struct strvec *sv, const char *const *v);
/* Appends copies of src's strings to dst. */
void strvec_copy(struct strvec *dst, const struct strvec *src);
/* Index of s in sv, or -1. Linear: use a hash map for large sets. */
long strvec_find(const struct strvec *sv, const char *s);
int strvec_equal(const struct strvec *a, const struct strvec *b);
/* Sorts in strcmp order; optionally drops duplicates. */
void strvec_sort(struct strvec *sv, int unique);
/* 1 if two of the n strings v[0..n-1] are equal (n log n; v is not changed). */
int strs_have_duplicates(const char *const *v, size_t n);

#endif
