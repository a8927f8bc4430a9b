#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "core/proc.h"
#include "core/strmap.h"
#include "planner/internal.h"
#include "planner/planner.h"

#define CONFIGURE_TIMEOUT_MS 120000
#define CONFIGURE_MAX_OUTPUT ((size_t)256 << 20)
#define REFS_SHOWN 5
#define STDERR_LINES 10
#define STDERR_BYTES 4096

void helper_add_stderr_tail(struct strbuf *err, const struct proc_result *res)
{
	if (!res->err.len)
		return;
	strbuf_addstr(err, "\n  stderr:\n");
	strbuf_add_tail(err, res->err.buf, res->err.len, STDERR_LINES, STDERR_BYTES, "    ");
}

int helper_run(const struct graph *g, const char *const *argv, long timeout_ms,
	       int cancel_fd, size_t max_output, const char *what, struct proc_result *res,
	       struct strbuf *err)
{
	struct proc_opts opts = { 0 };
	struct strbuf why = STRBUF_INIT;
	int ret = -1;

	opts.argv = argv;
	opts.cwd = g->dir;
	opts.timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
	opts.max_output = max_output;
	opts.cancel_fd = cancel_fd;
	if (proc_run(&opts, res, &why) < 0) {
		strbuf_addf(err, "%s: %s", what, why.buf);
		goto out;
	}
	if (!proc_ok(res)) {
		strbuf_addf(err, "%s ", what);
		proc_describe(res, opts.timeout_ms, err);
		helper_add_stderr_tail(err, res);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

static void add_patterns(struct strbuf *err, const struct job *job)
{
	for (size_t i = 0; i < job->outputs_nr; i++)
		strbuf_addf(err, "%s%s", i ? ", " : "", job->outputs[i].text);
}

/* A set of borrowed strings (open addressing, linear probing), sized once. */
struct refset {
	const char **slots;
	size_t mask;
};

static void refset_init(struct refset *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	s->slots = xcalloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
}

/* The slot of ref: where it is, or the empty one where it would go. */
static const char **refset_slot(const struct refset *s, const char *ref)
{
	size_t i = strhash(ref) & s->mask;

	while (s->slots[i] && strcmp(s->slots[i], ref))
		i = (i + 1) & s->mask;
	return &s->slots[i];
}

/*
 * 1 if check_answer would find nothing wrong, decided with a set of
 * borrowed refs rather than a map of copies. 0: let check_answer say what
 * is wrong.
 */
static int answer_ok(const struct graph *g, const struct job *job, const struct strvec *refs,
		     const struct job_config_list *l)
{
	struct refset outs;
	size_t n = 0;
	int ok = 1;

	for (size_t i = 0; i < l->nr; i++)
		n += l->items[i].outputs.nr;
	refset_init(&outs, n);
	for (size_t i = 0; ok && i < l->nr; i++) {
		const struct strvec *o = &l->items[i].outputs;

		for (size_t k = 0; ok && k < o->nr; k++) {
			const char **slot = refset_slot(&outs, o->v[k]);

			ok = !*slot && (g->lookup.nr || job_match(job, o->v[k]));
			*slot = o->v[k];
		}
	}
	for (size_t i = 0; ok && i < refs->nr; i++)
		ok = *refset_slot(&outs, refs->v[i]) != NULL;
	free(outs.slots);
	return ok;
}

/* Every output in one config only; every requested ref covered; outputs match the job. */
static int check_answer(const struct graph *g, const struct job *job,
			const struct strvec *refs, const struct job_config_list *l,
			struct strbuf *why)
{
	struct strmap owner = STRMAP_INIT;
	struct strvec missing = STRVEC_INIT;
	int ret = -1;

	for (size_t i = 0; i < l->nr; i++) {
		const struct strvec *outs = &l->items[i].outputs;

		for (size_t k = 0; k < outs->nr; k++) {
			void *prev = strmap_get(&owner, outs->v[k]);

			if (prev) {
				strbuf_addf(why, "[%zu].outputs[%zu]: '%s' is also an output of "
					    "config [%zu]: two configs claim one ref", i, k,
					    outs->v[k], (size_t)(uintptr_t)prev - 1);
				goto out;
			}
			if (!g->lookup.nr && !job_match(job, outs->v[k])) {
				strbuf_addf(why, "[%zu].outputs[%zu]: '%s' matches none of the "
					    "job's output patterns (", i, k, outs->v[k]);
				add_patterns(why, job);
				strbuf_addch(why, ')');
				goto out;
			}
			strmap_put(&owner, outs->v[k], (void *)(uintptr_t)(i + 1));
		}
	}
	for (size_t i = 0; i < refs->nr; i++)
		if (!strmap_contains(&owner, refs->v[i]) && strvec_find(&missing, refs->v[i]) < 0)
			strvec_push(&missing, refs->v[i]);
	if (missing.nr) {
		strbuf_addstr(why, "no config produces ");
		refs_describe(missing.v, missing.nr, REFS_SHOWN, why);
		goto out;
	}
	ret = 0;
out:
	strmap_clear(&owner);
	strvec_clear(&missing);
	return ret;
}

/*
 * A source job is configured here, without a process: one config per
 * ref, whose args are the file, the ref and the file's identity (size,
 * mtime in ns, inode), so that a changed file changes the import's build
 * key. A missing file is an error naming it.
 */
static int configure_source(const struct job *job, const struct strvec *refs,
			    struct job_config_list *out, struct strbuf *err)
{
	struct strbuf path = STRBUF_INIT, ident = STRBUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < refs->nr; i++) {
		struct job_config *c;
		struct stat st;

		strbuf_reset(&path);
		errno = 0;
		if (job_source_path(job, refs->v[i], &path) < 0) {
			strbuf_addf(err, "job '%s': '%s' is not one of its partitions", job->label,
				    refs->v[i]);
			goto out;
		}
		if (stat(path.buf, &st) < 0 || !S_ISREG(st.st_mode)) {
			strbuf_addf(err, "source job '%s': the file of '%s', '%s', %s", job->label,
				    refs->v[i], path.buf, errno == ENOENT ? "does not exist" :
				    !errno ? "is not a regular file" : strerror(errno));
			goto out;
		}
		strbuf_reset(&ident);
		strbuf_addf(&ident, "size=%lld mtime_ns=%lld ino=%llu", (long long)st.st_size,
			    (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
			    (unsigned long long)st.st_ino);
		c = job_config_list_append(out);
		strvec_push(&c->outputs, refs->v[i]);
		strvec_push(&c->args, path.buf);
		strvec_push(&c->args, refs->v[i]);
		strvec_push(&c->args, ident.buf);
	}
	ret = 0;
out:
	if (ret < 0)
		job_config_list_release(out);
	strbuf_release(&path);
	strbuf_release(&ident);
	return ret;
}

int planner_configure(const struct graph *g, const struct job *job,
		      const struct strvec *refs, long timeout_ms, int cancel_fd,
		      struct job_config_list *out, struct strbuf *err)
{
	struct strvec argv = STRVEC_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct strbuf what = STRBUF_INIT;
	struct strbuf why = STRBUF_INIT;
	struct job_config_list empty = JOB_CONFIG_LIST_INIT;
	int ret = -1;

	*out = empty;
	if (job_is_source(job)) {
		ret = configure_source(job, refs, out, err);
		goto out;
	}
	if (job->configure_timeout_s > 0)
		timeout_ms = job->configure_timeout_s * 1000;
	else if (timeout_ms == 0)
		timeout_ms = CONFIGURE_TIMEOUT_MS;
	strbuf_addf(&what, "job '%s': configure for ", job->label);
	refs_describe(refs->v, refs->nr, REFS_SHOWN, &what);

	strvec_pushv(&argv, job->configure.v);
	strvec_pushv(&argv, refs->v);
	if (helper_run(g, (const char *const *)argv.v, timeout_ms, cancel_fd, CONFIGURE_MAX_OUTPUT,
		       what.buf, &res, err) < 0)
		goto out;
	ALLOC_GROW(out->items, refs->nr, out->alloc);  /* usually one config per ref */
	if (job_config_list_parse(out, res.out.buf, res.out.len, &why) < 0) {
		strbuf_addf(err, "%s printed an invalid answer: %s", what.buf, why.buf);
		helper_add_stderr_tail(err, &res);
		goto out;
	}
	if (!answer_ok(g, job, refs, out) && check_answer(g, job, refs, out, &why) < 0) {
		strbuf_addf(err, "%s: %s", what.buf, why.buf);
		helper_add_stderr_tail(err, &res);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		job_config_list_release(out);
	proc_result_release(&res);
	strvec_clear(&argv);
	strbuf_release(&what);
	strbuf_release(&why);
	return ret;
}
