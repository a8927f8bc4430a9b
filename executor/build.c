#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/strmap.h"
#include "executor/internal.h"

#define CONFIGURE_TIMEOUT_MS 120000

const char *node_state_name(enum node_state s)
{
	switch (s) {
	case NODE_PENDING: return "pending";
	case NODE_WAITING: return "waiting";
	case NODE_RUNNING: return "running";
	case NODE_BUILT: return "built";
	case NODE_UP_TO_DATE: return "up_to_date";
	case NODE_RESTORED: return "restored";
	case NODE_FAILED: return "failed";
	case NODE_SKIPPED: return "skipped";
	case NODE_CANCELLED: return "cancelled";
	}
	return "unknown";
}

void build_summary_init(struct build_summary *s)
{
	memset(s, 0, sizeof(*s));
	strbuf_init(&s->errors, 0);
}

void build_summary_release(struct build_summary *s)
{
	strbuf_release(&s->errors);
	build_summary_init(s);
}

/* Every ref of a request that could not start gets its answer. */
static void fail_refs(const struct executor_opts *o, const struct strvec *refs,
		      const struct strbuf *err)
{
	struct strmap seen = STRMAP_INIT;

	if (!o->on_partition)
		return;
	for (size_t i = 0; i < refs->nr; i++) {
		if (strmap_contains(&seen, refs->v[i]))
			continue;
		strmap_put(&seen, refs->v[i], (void *)1);
		o->on_partition(refs->v[i], 0, err->len ? err->buf : "build failed", o->arg);
	}
	strmap_clear(&seen);
}

/* plan's job_planned events, one per node, for build_id (0: set by the catalog). */
static struct event *planned_make(const struct job_graph *plan, int64_t build_id)
{
	struct event *es = xcalloc(plan->nodes_nr + 1, sizeof(*es));
	struct strbuf p = STRBUF_INIT;

	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];

		strbuf_reset(&p);
		job_payload(&p, (long)i, n->job, &n->config.outputs, n->reason ? n->reason : "");
		es[i].build_id = build_id;
		es[i].type = (char *)EV_JOB_PLANNED;
		es[i].ref = (char *)n->config.outputs.v[0];
		es[i].payload = xstrdup(p.buf);
	}
	strbuf_release(&p);
	return es;
}

static void planned_free(struct event *es, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(es[i].payload);
	free(es);
}

/*
 * The request's catalog record (begin_build appends EV_BUILD_REQUESTED),
 * with plan's job_planned events in the same transaction when a plan is
 * given (one made before the build is recorded: record_if_work); with
 * events_out, *after_seq is a seq at or before that event (the newest
 * one just before the build began), so reading from there finds all of
 * the build's events without scanning the whole log. -1 with err when the
 * catalog cannot even record the request (unusable: exit 2); every ref
 * is answered then.
 */
static int begin(struct catalog *c, const struct strvec *refs, const struct executor_opts *o,
		 const struct job_graph *plan, int64_t *build_id, int64_t *after_seq,
		 struct strbuf *err)
{
	const char *requester = o->requester ? o->requester : "cli";
	size_t n = plan ? plan->nodes_nr : 0;
	struct event *es = n ? planned_make(plan, 0) : NULL;
	int64_t last = 0;
	int ret = -1;

	*after_seq = -1;
	if ((o->events_out && catalog_last_event_seq(c, &last, err) < 0) ||
	    catalog_begin_build_events(c, refs, requester, es, n, build_id, err) < 0) {
		fail_refs(o, refs, err);
		goto out;
	}
	if (o->events_out)
		*after_seq = last;
	ret = 0;
out:
	planned_free(es, n);
	return ret;
}

static void planned_events(struct catalog *c, int64_t build_id, const struct job_graph *plan)
{
	struct event *es = planned_make(plan, build_id);
	struct strbuf err = STRBUF_INIT;

	catalog_append_events(c, es, plan->nodes_nr, &err);
	planned_free(es, plan->nodes_nr);
	strbuf_release(&err);
}

static const char *build_status(int ret)
{
	return ret == 0 ? "succeeded" : ret == 130 ? "cancelled" : "failed";
}

static int finish(struct catalog *c, const struct executor_opts *o, int64_t build_id,
		  int64_t *seq, int ret)
{
	struct strbuf err = STRBUF_INIT;

	catalog_finish_build(c, build_id, build_status(ret), &err);
	events_flush(c, o->events_out, build_id, NULL, seq);
	strbuf_release(&err);
	return ret;
}

/* Whether the planning error names ref ('ref' quoted, as planner errors do). */
static int names_ref(const char *error, const char *ref)
{
	size_t n = strlen(ref);

	for (const char *at = strchr(error, '\''); at; at = strchr(at + 1, '\''))
		if (!strncmp(at + 1, ref, n) && at[n + 1] == '\'')
			return 1;
	return 0;
}

/*
 * Records a planning failure (a configure that failed, hung or answered
 * nonsense) in the catalog like a failed run: each requested ref of the
 * graph that the error names (or the only one) becomes failed with the
 * error and an EV_PARTITION_FAILED event, unless it has data to keep
 * serving (live, stale, tainted): that one keeps its status and gets the
 * event alone. A ref no job produces is not recorded.
 */
static void record_plan_failure(const struct graph *g, struct catalog *c,
				const struct strvec *refs, int64_t build_id, const char *error)
{
	struct strbuf e = STRBUF_INIT;

	for (size_t i = 0; i < refs->nr; i++) {
		const char *ref = refs->v[i];
		struct partition p;
		struct event ev = { .build_id = build_id, .type = (char *)EV_PARTITION_FAILED };
		cJSON *payload;
		char *text;

		if ((refs->nr > 1 && !names_ref(error, ref)) || !graph_lookup(g, ref, &e)) {
			strbuf_reset(&e);
			continue;
		}
		partition_init(&p);
		if (catalog_get_partition(c, ref, &p, &e) < 0 ||
		    p.status == PART_LIVE || p.status == PART_STALE || p.status == PART_TAINTED) {
			payload = cJSON_CreateObject();
			cJSON_AddStringToObject(payload, "error", error);
			cJSON_AddStringToObject(payload, "kept", part_status_name(p.status));
			text = cJSON_PrintUnformatted(payload);
			cJSON_Delete(payload);
			ev.ref = (char *)ref;
			ev.payload = text;
			catalog_append_event(c, &ev, NULL, &e);
			free(text);
		} else {
			catalog_set_status(c, ref, PART_FAILED, error, &e);
		}
		partition_release(&p);
		strbuf_reset(&e);
	}
	strbuf_release(&e);
}

/*
 * Planning refs failed (err): answers every ref, records the failure and
 * closes the build; returns 130 if cancel_fd asked for it, else 2.
 */
static int plan_failed(const struct graph *g, struct catalog *c, const struct strvec *refs,
		       const struct executor_opts *o, int64_t build_id, int64_t *seq,
		       struct build_summary *sum, struct strbuf *err)
{
	int cancelled = planner_cancelled(o->cancel_fd);

	if (cancelled) {
		sum->cancelled_by_request = 1;
		strbuf_reset(err);
		strbuf_addstr(err, "cancelled while planning");
	} else {
		record_plan_failure(g, c, refs, build_id, err->buf);
	}
	fail_refs(o, refs, err);
	return finish(c, o, build_id, seq, cancelled ? 130 : 2);
}

/*
 * Runs a plan under a fresh build record (plan errors already handled),
 * appending its job_planned events first unless the record holds them.
 */
static int run_plan(const struct graph *g, struct catalog *c, const struct store *s,
		    const struct job_graph *plan, const struct executor_opts *opts,
		    int64_t build_id, int64_t seq, int recorded_plan, struct build_summary *sum,
		    struct strbuf *err)
{
	struct executor_opts o = *opts;
	int ret;

	o.build_id = build_id;
	if (!recorded_plan)
		planned_events(c, build_id, plan);
	ret = executor_run_from(g, c, s, plan, &o, &seq, sum, err);
	return finish(c, opts, build_id, &seq, ret);
}

/*
 * With record_if_work, a plan without nodes runs unrecorded: it only
 * answers the requested refs, which are live (0). Anything else (a
 * requested ref that is not live, yet no job was planned for it) is put
 * on record after the fact, as a failed build, its refs already answered.
 */
static int run_unrecorded(const struct graph *g, struct catalog *c, const struct store *s,
			  const struct job_graph *plan, const struct strvec *refs,
			  const struct executor_opts *opts, struct build_summary *sum,
			  struct strbuf *err)
{
	struct executor_opts o = *opts;
	int64_t build_id = 0, seq = -1;
	int ret;

	o.build_id = 0;
	o.events_out = NULL;
	ret = executor_run_from(g, c, s, plan, &o, &seq, sum, err);
	if (ret == 0)
		return 0;
	o = *opts;
	o.on_partition = NULL;  /* every ref has had its answer */
	if (begin(c, refs, &o, NULL, &build_id, &seq, err) < 0)
		return 2;
	return finish(c, opts, build_id, &seq, ret);
}

int executor_build(const struct graph *g, struct catalog *c, const struct store *s,
		   const struct strvec *refs, const struct executor_opts *opts,
		   struct build_summary *sum, struct strbuf *err)
{
	struct planner_opts po = PLANNER_OPTS_INIT;
	struct planner_stats stats;
	struct job_graph plan;
	struct strbuf rec = STRBUF_INIT;  /* recording's error, after a planning error */
	int64_t build_id = 0, seq = -1;
	int ret, planned;

	memset(&stats, 0, sizeof(stats));
	job_graph_init(&plan);
	if (!opts->record_if_work && begin(c, refs, opts, NULL, &build_id, &seq, err) < 0) {
		ret = 2;
		goto out;
	}
	po.freshness = opts->freshness;
	po.force = opts->force;
	po.cancel_fd = opts->cancel_fd;
	planned = planner_plan(g, c, refs, &po, &plan, &stats, err) == 0;
	if (planned && !plan.outputs.nr)
		strvec_copy(&plan.outputs, refs);
	if (planned && opts->record_if_work && !plan.nodes_nr) {
		ret = run_unrecorded(g, c, s, &plan, refs, opts, sum, err);
		goto out;
	}
	if (opts->record_if_work && begin(c, refs, opts, planned ? &plan : NULL, &build_id,
					  &seq, planned ? err : &rec) < 0) {
		ret = 2;
		goto out;
	}
	if (!planned)
		ret = plan_failed(g, c, refs, opts, build_id, &seq, sum, err);
	else
		ret = run_plan(g, c, s, &plan, opts, build_id, seq, opts->record_if_work, sum,
			       err);
out:
	strbuf_release(&rec);
	job_graph_release(&plan);
	return ret;
}

/* Configures refs' jobs (one configure per job) into a flat plan. */
static int exec_plan(const struct graph *g, struct catalog *c, const struct strvec *refs,
		     int cancel_fd, struct job_graph *plan, struct strbuf *err)
{
	const struct job **jobs = xcalloc(refs->nr + 1, sizeof(*jobs));
	struct strmap wanted = STRMAP_INIT;
	struct partition p;
	int ret = -1;

	partition_init(&p);
	for (size_t i = 0; i < refs->nr; i++)
		strmap_put(&wanted, refs->v[i], (void *)1);
	if (planner_lookup(g, refs, jobs, CONFIGURE_TIMEOUT_MS, cancel_fd, err) < 0)
		goto out;
	for (size_t i = 0; i < refs->nr; i++) {
		struct strvec jrefs = STRVEC_INIT;
		struct job_config_list list = JOB_CONFIG_LIST_INIT;
		int dup = 0;

		for (size_t k = 0; k < i; k++)
			if (jobs[k] == jobs[i])
				dup = 1;
		if (dup)
			continue;
		if (planner_cancelled(cancel_fd)) {
			strbuf_addstr(err, "planning cancelled");
			goto out;
		}
		for (size_t k = i; k < refs->nr; k++)
			if (jobs[k] == jobs[i] && strvec_find(&jrefs, refs->v[k]) < 0)
				strvec_push(&jrefs, refs->v[k]);
		if (planner_configure(g, jobs[i], &jrefs, CONFIGURE_TIMEOUT_MS, cancel_fd, &list,
				      err) < 0) {
			strvec_clear(&jrefs);
			job_config_list_release(&list);
			goto out;
		}
		for (size_t k = 0; k < list.nr; k++) {
			int asked = 0;

			for (size_t o = 0; o < list.items[k].outputs.nr; o++)
				if (strmap_contains(&wanted, list.items[k].outputs.v[o]))
					asked = 1;
			if (asked)
				job_graph_add_node(plan, jobs[i]->label, &list.items[k], "exec");
		}
		strvec_clear(&jrefs);
		job_config_list_release(&list);
	}
	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct job_config *cfg = &plan->nodes[i].config;

		for (size_t k = 0; k < cfg->inputs_nr; k++) {
			int r;

			partition_release(&p);
			partition_init(&p);
			r = catalog_get_partition(c, cfg->inputs[k].ref, &p, err);
			if (r < 0)
				goto out;
			if (p.status != PART_LIVE) {
				strbuf_addf(err, "input '%s' of job '%s' is not live (%s); "
					    "build it first (databuild build %s)", cfg->inputs[k].ref,
					    plan->nodes[i].job,
					    part_status_name(r ? p.status : PART_MISSING),
					    cfg->inputs[k].ref);
				goto out;
			}
		}
	}
	strvec_copy(&plan->outputs, refs);
	ret = 0;
out:
	partition_release(&p);
	strmap_clear(&wanted);
	free(jobs);
	return ret;
}

int executor_exec(const struct graph *g, struct catalog *c, const struct store *s,
		  const struct strvec *refs, const struct executor_opts *opts,
		  struct build_summary *sum, struct strbuf *err)
{
	struct executor_opts o = *opts;
	struct job_graph plan;
	int64_t build_id = 0, seq = -1;
	int ret;

	job_graph_init(&plan);
	o.force = 1;
	if (begin(c, refs, opts, NULL, &build_id, &seq, err) < 0) {
		ret = 2;
		goto out;
	}
	if (exec_plan(g, c, refs, opts->cancel_fd, &plan, err) < 0) {
		ret = plan_failed(g, c, refs, opts, build_id, &seq, sum, err);
		goto out;
	}
	ret = run_plan(g, c, s, &plan, &o, build_id, seq, 0, sum, err);
out:
	job_graph_release(&plan);
	return ret;
}
