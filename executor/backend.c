#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "executor/backend.h"
#include "executor/executor.h"

/* Runs in flight under Slurm by default: each is one light local srun. */
#define SLURM_DEFAULT_JOBS 32

int executor_kind_parse(const char *name)
{
	if (!strcmp(name, "local"))
		return EXECUTOR_LOCAL;
	if (!strcmp(name, "slurm"))
		return EXECUTOR_SLURM;
	return -1;
}

const char *executor_kind_name(enum executor_kind k)
{
	return k == EXECUTOR_SLURM ? "slurm" : "local";
}

int executor_check(enum executor_kind k, struct strbuf *err)
{
	return k == EXECUTOR_SLURM ? slurm_check(err) : 0;
}

int executor_default_jobs(enum executor_kind k)
{
	long n;

	if (k == EXECUTOR_SLURM)
		return SLURM_DEFAULT_JOBS;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
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
