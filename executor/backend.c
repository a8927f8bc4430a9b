#include <ctype.h>
#include <string.h>

#include "executor/backend.h"
#include "executor/executor.h"

/* Every backend, by name; the first is the default. */
static const struct backend *const backends[] = {
	&backend_local,
	&backend_slurm,
};
#define BACKENDS_NR (sizeof(backends) / sizeof(backends[0]))

void backend_opts_release(struct backend_opts *b)
{
	strvec_clear(&b->opts);
	b->name = NULL;
}

const char *backend_opts_name(const struct backend_opts *b)
{
	return b && b->name ? b->name : backends[0]->name;
}

static const struct backend *backend_find(const char *name)
{
	for (size_t i = 0; i < BACKENDS_NR; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const struct backend *backend_get(const struct backend_opts *b)
{
	const struct backend *be = backend_find(backend_opts_name(b));

	return be ? be : backends[0];
}

int executor_backend_known(const char *name, struct strbuf *err)
{
	if (backend_find(name))
		return 0;
	strbuf_addf(err, "unknown executor '%s' (expected ", name);
	for (size_t i = 0; i < BACKENDS_NR; i++)
		strbuf_addf(err, "%s'%s'", !i ? "" : i + 1 < BACKENDS_NR ? ", " : " or ",
			    backends[i]->name);
	strbuf_addch(err, ')');
	return -1;
}

int executor_check(const struct backend_opts *b, struct strbuf *err)
{
	const struct backend *be = backend_get(b);

	return be->check ? be->check(b, err) : 0;
}

int executor_default_jobs(const struct backend_opts *b)
{
	return backend_get(b)->default_jobs();
}

void executor_split_opts(const char *text, struct strvec *out)
{
	const char *p = text;

	while (p && *p) {
		const char *start;

		while (*p && isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (p > start)
			strvec_push_nodup(out, xstrndup(start, (size_t)(p - start)));
	}
}
