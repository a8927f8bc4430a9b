#include "core/array.h"
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *strvec_empty[] = { NULL };

static void oom(void)
{
	static const char msg[] = "databuild: out of memory\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (!nmemb || !size)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xstrfmt(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb, NULL);
}

void strvec_init(struct strvec *sv)
{
	sv->v = strvec_empty;
	sv->nr = 0;
	sv->alloc = 0;
}

void strvec_clear(struct strvec *sv)
{
	size_t i;

	if (sv->v != strvec_empty) {
		for (i = 0; i < sv->nr; i++)
			free((char *)sv->v[i]);
		free(sv->v);
	}
	strvec_init(sv);
}

void strvec_push_nodup(struct strvec *sv, char *s)
{
	if (sv->v == strvec_empty)
		sv->v = NULL;
	ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
	sv->v[sv->nr++] = s;
	sv->v[sv->nr] = NULL;
}

void strvec_push(struct strvec *sv, const char *s)
{
	strvec_push_nodup(sv, xstrdup(s));
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strvec_push_nodup(sv, strbuf_detach(&sb, NULL));
}

void strvec_pushv(struct strvec *sv, const char *const *v)
{
	for (; v && *v; v++)
		strvec_push(sv, *v);
}

void strvec_copy(struct strvec *dst, const struct strvec *src)
{
	size_t i;

	for (i = 0; i < src->nr; i++)
		strvec_push(dst, src->v[i]);
}

long strvec_find(const struct strvec *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->nr; i++)
		if (!strcmp(sv->v[i], s))
			return (long)i;
	return -1;
}

int strvec_equal(const struct strvec *a, const struct strvec *b)
{
	size_t i;

	if (a->nr != b->nr)
		return 0;
	for (i = 0; i < a->nr; i++)
		if (strcmp(a->v[i], b->v[i]))
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void strvec_sort(struct strvec *sv, int unique)
{
	size_t i, j;

	if (sv->nr < 2)
		return;
	qsort(sv->v, sv->nr, sizeof(*sv->v), cmp_str);
	if (!unique)
		return;
	for (i = 1, j = 1; i < sv->nr; i++) {
		if (!strcmp(sv->v[i], sv->v[j - 1]))
			free((char *)sv->v[i]);
		else
			sv->v[j++] = sv->v[i];
	}
	sv->nr = j;
	sv->v[j] = NULL;
}

int strs_have_duplicates(const char *const *v, size_t n)
{
	const char **sorted;
	int dup = 0;

	if (n <= 8) {  /* a few: compare every pair */
		for (size_t i = 1; i < n && !dup; i++)
			for (size_t k = 0; k < i && !dup; k++)
				dup = !strcmp(v[i], v[k]);
		return dup;
	}
	sorted = xmalloc(n * sizeof(*sorted));
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 1; i < n && !dup; i++)
		dup = !strcmp(sorted[i - 1], sorted[i]);
	free(sorted);
	return dup;
}
