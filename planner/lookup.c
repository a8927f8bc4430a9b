#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "core/proc.h"
#include "core/strmap.h"
#include "planner/internal.h"
#include "planner/planner.h"

#define LOOKUP_TIMEOUT_MS 120000
#define LOOKUP_MAX_OUTPUT ((size_t)256 << 20)
#define REFS_SHOWN 5
#define ERRORS_SHOWN 10

static int lookup_patterns(const struct graph *g, const struct strvec *refs,
			   const struct job **jobs_out, struct strbuf *err)
{
	size_t failed = 0;

	for (size_t i = 0; i < refs->nr; i++) {
		struct strbuf why = STRBUF_INIT;

		jobs_out[i] = graph_lookup(g, refs->v[i], &why);
		if (!jobs_out[i]) {
			if (failed < ERRORS_SHOWN)
				strbuf_addf(err, "%s%s", failed ? "\n" : "", why.buf);
			failed++;
		}
		strbuf_release(&why);
	}
	if (failed > ERRORS_SHOWN)
		strbuf_addf(err, "\n(and %zu more refs without a job)", failed - ERRORS_SHOWN);
	return failed ? -1 : 0;
}

/* Decodes the object {"label": [refs...]} into assigned (ref -> job). */
static int decode_answer(const struct graph *g, const cJSON *root,
			 const struct strmap *wanted, struct strmap *assigned,
			 struct strbuf *why)
{
	struct jpath rp = JPATH_ROOT;

	for (const cJSON *m = root->child; m; m = m->next) {
		struct jpath mp = { &rp, m->string ? m->string : "", 0 };
		const struct job *job = graph_job(g, m->string ? m->string : "");
		size_t i = 0;

		if (!job)
			return json_fail(why, &mp, "no job is labelled '%s'", mp.key);
		if (!cJSON_IsArray(m))
			return json_fail(why, &mp, "expected an array of refs, got %s",
					 json_type_name(m));
		for (const cJSON *e = m->child; e; e = e->next, i++) {
			struct jpath ep = { &mp, NULL, i };
			const struct job *prev;

			if (!cJSON_IsString(e))
				return json_fail(why, &ep, "expected a ref string, got %s",
						 json_type_name(e));
			if (!strmap_contains(wanted, e->valuestring))
				return json_fail(why, &ep, "'%s' was not asked for",
						 e->valuestring);
			prev = strmap_get(assigned, e->valuestring);
			if (prev == job)
				return json_fail(why, &ep, "'%s' is listed twice", e->valuestring);
			if (prev)
				return json_fail(why, &ep, "'%s' is assigned to both '%s' and '%s'",
						 e->valuestring, prev->label, job->label);
			strmap_put(assigned, e->valuestring, (void *)job);
		}
	}
	return 0;
}

static int lookup_exec(const struct graph *g, const struct strvec *refs,
		       const struct job **jobs_out, long timeout_ms, int cancel_fd,
		       struct strbuf *err)
{
	struct strvec argv = STRVEC_INIT;
	struct strvec unique = STRVEC_INIT;
	struct strvec missing = STRVEC_INIT;
	struct strmap wanted = STRMAP_INIT;
	struct strmap assigned = STRMAP_INIT;
	struct proc_result res = PROC_RESULT_INIT;
	struct strbuf what = STRBUF_INIT;
	struct strbuf why = STRBUF_INIT;
	cJSON *root = NULL;
	int ret = -1;

	for (size_t i = 0; i < refs->nr; i++) {
		if (strmap_contains(&wanted, refs->v[i]))
			continue;
		strmap_put(&wanted, refs->v[i], NULL);
		strvec_push(&unique, refs->v[i]);
	}
	strbuf_addstr(&what, "lookup for ");
	refs_describe(unique.v, unique.nr, REFS_SHOWN, &what);
	strvec_pushv(&argv, g->lookup.v);
	strvec_pushv(&argv, unique.v);
	if (helper_run(g, (const char *const *)argv.v, timeout_ms, cancel_fd, LOOKUP_MAX_OUTPUT,
		       what.buf, &res, err) < 0)
		goto out;
	if (json_parse_object(res.out.buf, res.out.len, "an object {\"job label\": [refs...]}",
			      &root, &why) < 0 ||
	    decode_answer(g, root, &wanted, &assigned, &why) < 0) {
		strbuf_addf(err, "%s printed an invalid answer: %s", what.buf, why.buf);
		goto tail;
	}
	for (size_t i = 0; i < unique.nr; i++)
		if (!strmap_contains(&assigned, unique.v[i]))
			strvec_push(&missing, unique.v[i]);
	if (missing.nr) {
		strbuf_addf(err, "%s: no job was assigned to ", what.buf);
		refs_describe(missing.v, missing.nr, REFS_SHOWN, err);
		goto tail;
	}
	for (size_t i = 0; i < refs->nr; i++)
		jobs_out[i] = strmap_get(&assigned, refs->v[i]);
	ret = 0;
	goto out;
tail:
	helper_add_stderr_tail(err, &res);
out:
	cJSON_Delete(root);
	proc_result_release(&res);
	strmap_clear(&wanted);
	strmap_clear(&assigned);
	strvec_clear(&argv);
	strvec_clear(&unique);
	strvec_clear(&missing);
	strbuf_release(&what);
	strbuf_release(&why);
	return ret;
}

int planner_lookup(const struct graph *g, const struct strvec *refs,
		   const struct job **jobs_out, long timeout_ms, int cancel_fd,
		   struct strbuf *err)
{
	for (size_t i = 0; i < refs->nr; i++)
		jobs_out[i] = NULL;
	if (!refs->nr)
		return 0;
	if (!g->lookup.nr)
		return lookup_patterns(g, refs, jobs_out, err);
	if (timeout_ms == 0)
		timeout_ms = LOOKUP_TIMEOUT_MS;
	return lookup_exec(g, refs, jobs_out, timeout_ms, cancel_fd, err);
}
