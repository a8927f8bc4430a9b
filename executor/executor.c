#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "store/staging.h"
#include "store/store.h"
#include "executor/backend.h"
#include "executor/internal.h"

#define LEASE_BACKOFF_MIN_MS 2
#define LEASE_BACKOFF_MAX_MS 100
/* with catalog_watch: a notification wakes waiters; this only covers dead holders */
#define LEASE_BACKOFF_WATCHED_MS 1000
#define CANCEL_GRACE_MS 300
/* after STOP_KILL, a run whose child still runs this long later gets STOP_KILL_CHILD */
#define STOP_FORCE_MS 10000
#define LOG_READ_BYTES 8192
#define LOG_TAIL_LINES 10
#define LOG_TAIL_BYTES 4096
#define DISK_FULL_BYTES 65536

static int is_final(enum node_state s)
{
	return s == NODE_BUILT || s == NODE_UP_TO_DATE || s == NODE_RESTORED || s == NODE_FAILED ||
	       s == NODE_SKIPPED || s == NODE_CANCELLED;
}


struct flush_ctx {
	FILE *f;
	int64_t build_id;
	const struct strmap *runs;
	int64_t *seq;
	struct strbuf line;
};

static int flush_one(const struct event *e, void *arg)
{
	struct flush_ctx *fc = arg;

	*fc->seq = e->seq;
	if (e->build_id != fc->build_id &&
	    !(fc->runs && e->run_id && strmap_contains(fc->runs, e->run_id)))
		return 0;
	strbuf_reset(&fc->line);
	event_to_jsonl(e, &fc->line);
	fwrite(fc->line.buf, 1, fc->line.len, fc->f);
	return 0;
}

void events_flush(struct catalog *c, FILE *f, int64_t build_id, const struct strmap *runs,
		  int64_t *seq)
{
	struct flush_ctx fc = { .f = f, .build_id = build_id, .runs = runs, .seq = seq,
				.line = STRBUF_INIT };
	struct strbuf err = STRBUF_INIT;

	if (!f || *seq < 0)
		return;
	catalog_read_events(c, *seq, 0, flush_one, &fc, &err);
	fflush(f);
	strbuf_release(&fc.line);
	strbuf_release(&err);
}

void xrun_event(struct xrun *x, const char *type, const char *ref, const char *run_id,
		const char *payload)
{
	struct event e = { .build_id = x->build_id, .type = (char *)type, .ref = (char *)ref,
			   .run_id = (char *)run_id, .payload = (char *)payload };
	struct strbuf err = STRBUF_INIT;
	int64_t seq = 0;

	if (catalog_append_event(x->c, &e, &seq, &err) == 0 && x->event_seq < 0)
		x->event_seq = seq - 1;
	strbuf_release(&err);
}

void job_payload(struct strbuf *out, long node, const char *job, const struct strvec *outputs,
		 const char *reason)
{
	strbuf_addch(out, '{');
	if (node >= 0)
		strbuf_addf(out, "\"node\":%ld,", node);
	strbuf_addstr(out, "\"job\":\"");
	strbuf_addquoted(out, job);
	strbuf_addstr(out, "\",\"outputs\":[");
	for (size_t i = 0; i < outputs->nr; i++) {
		strbuf_addstr(out, i ? ",\"" : "\"");
		strbuf_addquoted(out, outputs->v[i]);
		strbuf_addch(out, '"');
	}
	strbuf_addch(out, ']');
	if (reason) {
		strbuf_addstr(out, ",\"reason\":\"");
		strbuf_addquoted(out, reason);
		strbuf_addch(out, '"');
	}
	strbuf_addch(out, '}');
}

static void events_settle(struct xrun *x, int all);

static void node_event(struct xrun *x, struct xnode *n, const char *type, const char *reason)
{
	struct strbuf p = STRBUF_INIT;

	if (n->after_deferred)
		events_settle(x, 1);
	job_payload(&p, -1, n->gn->job, &n->gn->config.outputs, reason);
	xrun_event(x, type, n->gn->config.outputs.v[0], n->run_id, p.buf);
	strbuf_release(&p);
}

/*
 * Cut-offs and lease waits come in numbers where builders share a catalog
 * (a partition that several builders ask for is cut off by all but the
 * one that built it; a builder a few partitions behind another waits on
 * one lease after the other), and their events need not reach the
 * catalog at once: each is kept and appended with the others in one write
 * transaction (on PostgreSQL a round trip and the writers' lock each
 * otherwise), once EVENTS_DEFER_MAX are kept or the oldest is
 * EVENTS_DEFER_MS old, and always before the loop ends. A node with a kept
 * event, or whose input's event is kept, appends them before anything of
 * its own (node_try, node_event), so no event of a node precedes its
 * inputs' or its own earlier ones.
 */
#define EVENTS_DEFER_MAX 64
#define EVENTS_DEFER_MS 200

static void event_defer(struct xrun *x, struct xnode *n, const char *type, const char *ref)
{
	struct strbuf p = STRBUF_INIT;
	struct event *e;

	if (!x->deferred_nr)
		x->deferred_ms = mono_ms();
	ALLOC_GROW(x->deferred, x->deferred_nr + 1, x->deferred_alloc);
	e = &x->deferred[x->deferred_nr++];
	memset(e, 0, sizeof(*e));
	e->build_id = x->build_id;
	e->type = (char *)type;
	e->ref = (char *)ref;
	if (!strcmp(type, EV_JOB_CUTOFF)) {
		job_payload(&p, -1, n->gn->job, &n->gn->config.outputs, NULL);
		e->payload = strbuf_detach(&p, NULL);
	}
	n->after_deferred = 1;
}

/* Appends the kept events: all of them, or only when it is time (above). */
static void events_settle(struct xrun *x, int all)
{
	struct strbuf err = STRBUF_INIT;
	int64_t last;

	if (!x->deferred_nr || (!all && x->deferred_nr < EVENTS_DEFER_MAX &&
				mono_ms() - x->deferred_ms < EVENTS_DEFER_MS))
		return;
	/* events_out is written from the first event of this run on */
	if (x->o->events_out && x->event_seq < 0 && catalog_last_event_seq(x->c, &last, &err) == 0)
		x->event_seq = last;
	catalog_append_events(x->c, x->deferred, x->deferred_nr, &err);
	for (size_t i = 0; i < x->deferred_nr; i++)
		free(x->deferred[i].payload);
	x->deferred_nr = 0;
	strbuf_release(&err);
}

static void report(struct xrun *x, struct xnode *n)
{
	struct node_report r;

	if (!x->o->on_node)
		return;
	r.node = (size_t)(n - x->nodes);
	r.job = n->gn->job;
	r.outputs = &n->gn->config.outputs;
	r.state = n->state;
	r.run_id = n->run_id;
	r.log_path = n->log_path;
	r.error = n->error.len ? n->error.buf : NULL;
	r.duration_us = n->duration_us;
	r.attempt = n->attempt ? n->attempt : 1;
	x->o->on_node(&r, x->o->arg);
}

static void leases_drop(struct xrun *x, struct xnode *n)
{
	while (n->leases_held)
		catalog_lease_release(x->c, n->leases[--n->leases_held]);
}

static void push(size_t *q, size_t *tail, size_t i)
{
	q[(*tail)++] = i;
}

static void skip_downstream(struct xrun *x, struct xnode *failed);

/* n reached a final state: count it, tell the callbacks, release its users. */
static void node_finish(struct xrun *x, struct xnode *n, enum node_state state)
{
	const struct strvec *o = &n->gn->config.outputs;
	int ok = state == NODE_BUILT || state == NODE_UP_TO_DATE || state == NODE_RESTORED;

	n->state = state;
	leases_drop(x, n);
	x->finished++;
	switch (state) {
	case NODE_BUILT: x->sum->built++; break;
	case NODE_UP_TO_DATE: x->sum->up_to_date++; break;
	case NODE_RESTORED: x->sum->restored++; break;
	case NODE_FAILED:
		x->sum->failed++;
		if (x->sum->errors.len)
			strbuf_addch(&x->sum->errors, '\n');
		strbuf_addbuf(&x->sum->errors, &n->error);
		strbuf_addch(&x->sum->errors, '\n');
		break;
	case NODE_SKIPPED: x->sum->skipped++; break;
	case NODE_CANCELLED: x->sum->cancelled++; break;
	default: break;
	}
	report(x, n);
	if (x->o->on_partition)
		for (size_t i = 0; i < o->nr; i++)
			x->o->on_partition(o->v[i], ok, ok ? NULL : n->error.buf, x->o->arg);
	if (ok) {
		size_t i = (size_t)(n - x->nodes);

		for (size_t k = x->users_off[i]; k < x->users_off[i + 1]; k++) {
			struct xnode *u = &x->nodes[x->users[k]];

			if (state == NODE_UP_TO_DATE && x->deferred_nr)
				u->after_deferred = 1;
			if (u->unfinished && !--u->unfinished && u->state == NODE_PENDING &&
			    !u->queued) {
				u->queued = 1;
				push(x->ready, &x->ready_tail, x->users[k]);
			}
		}
	} else if (state == NODE_FAILED) {
		skip_downstream(x, n);
		if (!x->o->keep_going)
			x->stopping = 1;
	}
}

static void skip_downstream(struct xrun *x, struct xnode *failed)
{
	size_t *stack = NULL, nr = 0, alloc = 0;

	ALLOC_GROW(stack, nr + 1, alloc);
	stack[nr++] = (size_t)(failed - x->nodes);
	while (nr) {
		size_t i = stack[--nr];

		for (size_t k = x->users_off[i]; k < x->users_off[i + 1]; k++) {
			struct xnode *u = &x->nodes[x->users[k]];

			if (is_final(u->state) || u->state == NODE_RUNNING)
				continue;
			strbuf_reset(&u->error);
			strbuf_addf(&u->error, "job '%s' for '%s' skipped: its input from job '%s' "
				    "(%s) did not build", u->gn->job, u->gn->config.outputs.v[0],
				    failed->gn->job, failed->gn->config.outputs.v[0]);
			node_event(x, u, EV_JOB_SKIPPED, u->error.buf);
			u->state = NODE_SKIPPED;
			x->finished++;
			x->sum->skipped++;
			leases_drop(x, u);
			report(x, u);
			if (x->o->on_partition)
				for (size_t j = 0; j < u->gn->config.outputs.nr; j++)
					x->o->on_partition(u->gn->config.outputs.v[j], 0,
							   u->error.buf, x->o->arg);
			ALLOC_GROW(stack, nr + 1, alloc);
			stack[nr++] = x->users[k];
		}
	}
	free(stack);
}

/* The last lines of the run's log, indented, after a newline (none: nothing). */
static void log_tail(const char *log_path, struct strbuf *out)
{
	struct strbuf data = STRBUF_INIT;

	log_end(log_path, LOG_READ_BYTES, &data);
	if (data.len) {
		strbuf_addch(out, '\n');
		strbuf_add_tail(out, data.buf, data.len, LOG_TAIL_LINES, LOG_TAIL_BYTES, "    ");
	}
	strbuf_release(&data);
}

/*
 * 1 if the file system holding path has (almost) no space left: a job that
 * failed then could not even log why.
 */
static int disk_full(const char *path)
{
	struct statvfs st;

	return path && statvfs(path, &st) == 0 &&
	       (unsigned long long)st.f_bavail * st.f_frsize < DISK_FULL_BYTES;
}

/* The error paragraph of a failed run: label, run, how it ended, log, tail. */
static void fail_text(struct xrun *x, struct xnode *n, const char *how)
{
	strbuf_reset(&n->error);
	strbuf_addf(&n->error, "job '%s' (run %s) %s", n->gn->job, n->run_id ? n->run_id : "-",
		    how);
	if (disk_full(n->staging ? n->staging : x->s->root))
		strbuf_addf(&n->error, " (the store's file system is full: no space left on "
			    "device in '%s')", x->s->root);
	strbuf_addf(&n->error, "\n  log: %s", n->log_path ? n->log_path : "-");
	if (n->log_path)
		log_tail(n->log_path, &n->error);
}

static void run_forget(struct xrun *x, struct xnode *n)
{
	if (n->staging)
		syncer_trash(&x->syncer, n->staging);
	n->staging = NULL;
	if (n->m) {
		manifest_release(n->m);
		free(n->m);
		n->m = NULL;
	}
}

/* Fails n before or without a run of its own (catalog trouble, a bad input). */
static void node_fail_early(struct xrun *x, struct xnode *n, const struct strbuf *why)
{
	strbuf_reset(&n->error);
	strbuf_addf(&n->error, "job '%s' for '%s': ", n->gn->job, n->gn->config.outputs.v[0]);
	strbuf_addbuf(&n->error, why);
	strbuf_rtrim(&n->error);
	if (n->run_id) {
		struct strbuf e2 = STRBUF_INIT;

		catalog_finish_run(x->c, n->run_id, RUN_FAILED, -1, n->error.buf, &e2);
		strbuf_release(&e2);
	} else {
		node_event(x, n, EV_JOB_FAILED, n->error.buf);
	}
	run_forget(x, n);
	node_finish(x, n, NODE_FAILED);
}

/* 1 all leases held, 0 someone else holds one (none held then), -1 error. */
static int leases_take(struct xrun *x, struct xnode *n, const char **busy, struct strbuf *err)
{
	size_t nout = n->gn->config.outputs.nr;

	while (n->leases_held < nout) {
		struct lease *l = NULL;
		const char *ref = n->sorted_outputs[n->leases_held];
		int r = catalog_lease_acquire(x->c, ref, 0, &l, err);

		if (r <= 0) {
			leases_drop(x, n);
			*busy = ref;
			n->lease_busy = ref;
			x->contended = 1;
			return r;
		}
		n->leases[n->leases_held++] = l;
	}
	return 1;
}

int xnode_key(struct xrun *x, struct xnode *n, struct strbuf *err)
{
	const char **hashes = xcalloc(n->m->inputs_nr + 1, sizeof(*hashes));
	int ret = -1;

	for (size_t i = 0; i < n->m->inputs_nr; i++)
		hashes[i] = n->m->inputs[i].sha256;
	if (keyer_compute(&x->keyer, n->job, &n->gn->config, hashes, n->m->build_key, err) < 0) {
		n->m->build_key[0] = '\0';
		goto out;
	}
	strvec_clear(&n->m->key_files);
	strvec_copy(&n->m->key_files, &x->keyer.files);
	ret = 0;
out:
	free(hashes);
	return ret;
}

/*
 * The inputs of n into its manifest (once per node): 0, 1 if one is not
 * live (the run cannot start; why in err), -1 with err on catalog trouble.
 */
static int node_inputs(struct xrun *x, struct xnode *n, struct strbuf *err)
{
	const struct job_config *cfg = &n->gn->config;
	struct partition p;
	int ret = 0;

	if (n->m)
		return 0;
	n->m = xmalloc(sizeof(*n->m));
	manifest_init(n->m);
	partition_init(&p);
	for (size_t i = 0; i < cfg->inputs_nr && !ret; i++) {
		struct manifest_input *in;
		int r;

		partition_release(&p);
		r = catalog_get_partition(x->c, cfg->inputs[i].ref, &p, err);
		if (r < 0) {
			ret = -1;
		} else if (p.status != PART_LIVE) {
			strbuf_addf(err, "input '%s' is not live (%s)", cfg->inputs[i].ref,
				    part_status_name(r ? p.status : PART_MISSING));
			ret = 1;
		} else {
			in = manifest_add_input(n->m, cfg->inputs[i].ref);
			in->type = cfg->inputs[i].type;
			memcpy(in->sha256, p.sha256, sizeof(in->sha256));
			in->run_id = p.run_id ? xstrdup(p.run_id) : NULL;
		}
	}
	partition_release(&p);
	if (ret)
		run_forget(x, n);
	return ret;
}

/*
 * Leases held: settle the past, cut off or spawn. The build key is
 * computed before the spawn only when an output could be cut off (every
 * output live, freshness comparing keys: publish_reconcile); otherwise
 * only the manifest needs it, and it is computed while the job runs
 * (hashing the executable and the files named on its command line). A
 * key that cannot be computed then fails the run at its reap
 * (n->key_failed).
 */
static void node_start(struct xrun *x, struct xnode *n)
{
	struct strbuf err = STRBUF_INIT;
	int fresh = 0, rc;

	n->key_failed = 0;
	if (!n->job) {
		strbuf_addf(&err, "no job '%s' in the graph", n->gn->job);
		goto fail;
	}
	if (node_inputs(x, n, &err))
		goto fail;
	if (publish_reconcile(x, n, &fresh, &err) < 0)
		goto fail;
	if (fresh && !(x->o->force && n->requested)) {
		x->contended = 1;  /* planned, yet live now: another builder is at work */
		event_defer(x, n, EV_JOB_CUTOFF, n->gn->config.outputs.v[0]);
		run_forget(x, n);
		node_finish(x, n, NODE_UP_TO_DATE);
		goto out;
	}
	if (!fresh && (rc = xnode_restore(x, n, &err)) != 0) {
		if (rc < 0)
			goto fail;
		node_event(x, n, EV_JOB_RESTORED, NULL);
		run_forget(x, n);
		node_finish(x, n, NODE_RESTORED);
		goto out;
	}
	if (xrun_spawn(x, n, &err) < 0)
		goto fail;
	x->running[x->running_nr++] = (size_t)(n - x->nodes);
	report(x, n);
	if (!n->m->build_key[0] && xnode_key(x, n, &n->error) < 0)
		n->key_failed = 1;
	goto out;
fail:
	node_fail_early(x, n, &err);
out:
	strbuf_release(&err);
}

static void node_wait(struct xrun *x, struct xnode *n, const char *busy)
{
	n->lease_backoff_ms = LEASE_BACKOFF_MIN_MS;
	n->lease_retry_ms = mono_ms() + n->lease_backoff_ms;
	if (n->state == NODE_WAITING)
		return;
	n->state = NODE_WAITING;
	x->sum->waited++;
	event_defer(x, n, EV_LEASE_WAIT, busy);
	x->waiting[x->waiting_nr++] = (size_t)(n - x->nodes);
	report(x, n);
}

static void node_try(struct xrun *x, struct xnode *n)
{
	struct strbuf err = STRBUF_INIT;
	const char *busy = NULL;
	int r = 1;

	if (n->after_deferred) {
		events_settle(x, 1);
		n->after_deferred = 0;
	}
	if (n->leases_held < n->gn->config.outputs.nr)
		r = leases_take(x, n, &busy, &err);
	if (r < 0)
		node_fail_early(x, n, &err);
	else if (r == 0)
		node_wait(x, n, busy);
	else
		node_start(x, n);
	strbuf_release(&err);
}

/*
 * How many ready nodes precheck_ready looks up in one catalog call, from
 * the front of the queues, and how soon it looks one up again.
 */
#define PRECHECK_MAX 256
#define PRECHECK_AGAIN_MS 250

/*
 * On a catalog that answers many lookups in one round trip (PostgreSQL),
 * before the ready nodes at the front of the queues take leases: their
 * outputs in one call, and a node whose outputs are all live and fresh
 * (its build key, with FRESH_KEYS) is up to date without a lease —
 * another builder built it since the plan. What a lease would add,
 * nobody building it at this moment, does not change that answer: a live
 * row is a finished publish. Every other node goes on as before (lease,
 * then node_start checks again under it); a node is looked up again once
 * its last look-up is PRECHECK_AGAIN_MS old. Once another builder has
 * shown itself (x->contended: a lease was busy, or a planned node was
 * found live), the nodes about to take the free slots are looked up now
 * however recently they were, and start_ready calls this again when a
 * node waits and the next one was not looked up in this round: a builder
 * following another a few partitions behind otherwise finds each one
 * built only under its lease. A builder alone on its catalog pays no
 * look-up per start. The job_up_to_date events are kept and appended
 * together (event_defer). Where each lookup is a local read (SQLite),
 * node_start's under the lease costs as little and this is skipped.
 */
static void precheck_ready(struct xrun *x)
{
	size_t idx[PRECHECK_MAX], nidx = 0, nrefs = 0, free_slots;
	const char **refs = NULL;
	struct partition *rows = NULL;
	struct strbuf err = STRBUF_INIT;
	size_t *queues[2] = { x->prio, x->ready };
	size_t heads[2] = { x->prio_head, x->ready_head }, tails[2] = { x->prio_tail, x->ready_tail };
	long long now;

	if (x->stopping || x->cancelling || !catalog_lookups_batched(x->c))
		return;
	now = mono_ms();
	free_slots = !x->contended ? 0 :
		     x->running_nr < (size_t)x->jobs ? (size_t)x->jobs - x->running_nr : 0;
	for (int q = 0; q < 2; q++)
		for (size_t k = heads[q]; k < tails[q] && k - heads[q] < PRECHECK_MAX &&
					   nidx < PRECHECK_MAX; k++) {
			struct xnode *n = &x->nodes[queues[q][k]];
			int next = 0;

			if (n->state != NODE_PENDING || n->leases_held || !n->job)
				continue;
			/* the nodes that take the free slots now are looked up now */
			if (free_slots) {
				free_slots--;
				next = 1;
			}
			if (!next && n->prechecked_ms && now - n->prechecked_ms < PRECHECK_AGAIN_MS)
				continue;
			n->prechecked_ms = now;
			n->precheck_round = x->precheck_round;
			if (x->o->force && n->requested)
				continue;
			idx[nidx++] = queues[q][k];
			nrefs += n->gn->config.outputs.nr;
		}
	if (!nidx)
		goto out;
	refs = xcalloc(nrefs, sizeof(*refs));
	rows = xcalloc(nrefs, sizeof(*rows));
	nrefs = 0;
	for (size_t j = 0; j < nidx; j++) {
		const struct strvec *o = &x->nodes[idx[j]].gn->config.outputs;

		for (size_t i = 0; i < o->nr; i++)
			refs[nrefs++] = o->v[i];
	}
	if (catalog_get_partitions(x->c, refs, nrefs, rows, &err) < 0)
		goto out_rows;
	nrefs = 0;
	for (size_t j = 0; j < nidx; j++) {
		struct xnode *n = &x->nodes[idx[j]];
		size_t nout = n->gn->config.outputs.nr, first = nrefs;
		int fresh = 1;

		nrefs += nout;
		for (size_t i = first; i < nrefs && fresh; i++)
			fresh = rows[i].status == PART_LIVE;
		if (!fresh || node_inputs(x, n, &err))
			goto next;
		if (x->o->freshness == FRESH_KEYS) {
			if (!n->m->build_key[0] && xnode_key(x, n, &err) < 0)
				goto next;
			for (size_t i = first; i < nrefs && fresh; i++)
				fresh = !strcmp(rows[i].build_key, n->m->build_key);
		}
		if (!fresh)
			goto next;
		x->contended = 1;
		event_defer(x, n, EV_JOB_CUTOFF, n->gn->config.outputs.v[0]);
		run_forget(x, n);
		node_finish(x, n, NODE_UP_TO_DATE);
		goto done;
next:
		/* node_start reads the inputs again once it holds the leases */
		run_forget(x, n);
done:
		strbuf_reset(&err);
	}
out_rows:
	for (size_t i = 0; i < nrefs; i++)
		partition_release(&rows[i]);
out:
	free(refs);
	free(rows);
	strbuf_release(&err);
}

/*
 * Starts ready nodes while slots are free. A node that does not take a
 * slot (its lease is busy: it waits) lets the loop go on to the next one,
 * which precheck_ready has not looked up in this round: where builders
 * contend, it looks again.
 */
static void start_ready(struct xrun *x)
{
	x->precheck_round++;
	precheck_ready(x);
	while (!x->stopping && !x->cancelling && x->running_nr < (size_t)x->jobs) {
		size_t i;

		if (x->prio_head < x->prio_tail)
			i = x->prio[x->prio_head];
		else if (x->ready_head < x->ready_tail)
			i = x->ready[x->ready_head];
		else
			break;
		if (x->contended && x->nodes[i].state == NODE_PENDING &&
		    !x->nodes[i].leases_held && x->nodes[i].precheck_round != x->precheck_round)
			precheck_ready(x);
		if (x->prio_head < x->prio_tail)
			x->prio_head++;
		else
			x->ready_head++;
		x->nodes[i].queued = 0;
		if (x->nodes[i].state == NODE_PENDING || x->nodes[i].state == NODE_WAITING)
			node_try(x, &x->nodes[i]);
	}
}

static void leases_tick(struct xrun *x, long long now)
{
	for (size_t k = 0; k < x->waiting_nr; ) {
		struct xnode *n = &x->nodes[x->waiting[k]];
		struct strbuf err = STRBUF_INIT;
		const char *busy = NULL;
		int r;

		if (n->state != NODE_WAITING) {
			x->waiting[k] = x->waiting[--x->waiting_nr];
			continue;
		}
		if (now < n->lease_retry_ms || x->stopping || x->cancelling) {
			k++;
			continue;
		}
		r = leases_take(x, n, &busy, &err);
		if (r == 0) {
			n->lease_backoff_ms *= 2;
			if (n->lease_backoff_ms > x->lease_backoff_max_ms)
				n->lease_backoff_ms = x->lease_backoff_max_ms;
			n->lease_retry_ms = now + n->lease_backoff_ms;
			k++;
		} else {
			x->waiting[k] = x->waiting[--x->waiting_nr];
			if (r < 0) {
				node_fail_early(x, n, &err);
			} else {
				n->queued = 1;
				push(x->prio, &x->prio_tail, (size_t)(n - x->nodes));
			}
		}
		strbuf_release(&err);
	}
}

static void running_remove(struct xrun *x, size_t i)
{
	for (size_t k = 0; k < x->running_nr; k++)
		if (x->running[k] == i) {
			x->running[k] = x->running[--x->running_nr];
			return;
		}
}

/* A run that did not publish: retry it, or fail the node. */
static void run_failed(struct xrun *x, struct xnode *n, const char *how, int exit_status)
{
	struct strbuf err = STRBUF_INIT;
	char *line = xstrfmt("%s (log: %s)", how, n->log_path ? n->log_path : "-");

	fail_text(x, n, how);
	/* at once, not on the syncer: a job that filled the disk leaves the
	 * catalog no room to record its failure */
	if (n->staging) {
		store_staging_retire(n->staging);
		free(n->staging);
		n->staging = NULL;
	}
	catalog_finish_run(x->c, n->run_id, RUN_FAILED, exit_status, line, &err);
	free(line);
	run_forget(x, n);
	if (n->job && n->attempt <= n->job->retries && !x->cancelling) {
		strbuf_reset(&err);
		report(x, n);  /* the failed attempt, still NODE_RUNNING */
		strbuf_reset(&n->error);
		free(n->run_id);
		free(n->log_path);
		n->run_id = n->log_path = NULL;
		n->timed_out = 0;
		node_start(x, n);
	} else {
		node_finish(x, n, NODE_FAILED);
	}
	strbuf_release(&err);
}

static void node_reap(struct xrun *x, struct xnode *n)
{
	struct strbuf why = STRBUF_INIT;
	struct run_end end = RUN_END_INIT;
	char *how = NULL;
	int exit_status;

	x->backend->reap(x, n, &end);
	close(n->pidfd);
	n->pidfd = -1;
	running_remove(x, (size_t)(n - x->nodes));
	n->duration_us = now_us() - n->start_us;
	exit_status = end.status;
	if (end.timed_out && n->job->timeout_s > 0)
		n->timed_out = 1;

	if (x->cancelling) {
		catalog_finish_run(x->c, n->run_id, RUN_CANCELLED, exit_status, "cancelled", &why);
		strbuf_reset(&n->error);
		strbuf_addf(&n->error, "job '%s' (run %s) cancelled", n->gn->job, n->run_id);
		run_forget(x, n);
		node_finish(x, n, NODE_CANCELLED);
		goto out;
	}
	if (n->timed_out)
		how = xstrfmt("timed out after %ld s", n->job->timeout_s);
	else if (end.why.len)
		how = strbuf_detach(&end.why, NULL);
	else if (exit_status < 0)
		how = xstrfmt("was killed by signal %d (%s)", -exit_status,
			     sigdescr_np(-exit_status) ? sigdescr_np(-exit_status) : "unknown");
	else if (exit_status)
		how = xstrfmt("exited with status %d", exit_status);
	else if (n->key_failed)
		how = xstrfmt("exited 0 but its build key cannot be computed: %s", n->error.buf);
	else if (publish_stage(x, n, &why) < 0)
		how = strbuf_detach(&why, NULL);
	if (how) {
		run_failed(x, n, how, exit_status);
		goto out;
	}
	x->staged[x->staged_nr++] = (size_t)(n - x->nodes);
out:
	free(how);
	strbuf_release(&why);
	strbuf_release(&end.why);
}

/* The sync covering nodes[0..nr) ended with errno `synced`: publish them. */
static void commit(struct xrun *x, const size_t *nodes, size_t nr, int synced)
{
	struct strbuf err = STRBUF_INIT;
	int batched = 0;

	if (synced)
		strbuf_addf(&err, "cannot sync the store '%s': %s", x->s->data_dir,
			    strerror(synced));
	else if (nr > 1)
		batched = publish_commit_batch(x, nodes, nr, &err) == 0;
	if (!synced)
		strbuf_reset(&err);
	for (size_t k = 0; k < nr; k++) {
		struct xnode *n = &x->nodes[nodes[k]];

		if (synced || (!batched && publish_commit(x, n, &err) < 0)) {
			strbuf_rtrim(&err);
			run_failed(x, n, err.buf, 0);
			continue;
		}
		/* readers are answered first, then the staging tree is given back */
		node_finish(x, n, NODE_BUILT);
		run_forget(x, n);
	}
	strbuf_release(&err);
}

/* Starts the sync of every staged run (inline if there is no sync thread). */
static void sync_begin(struct xrun *x)
{
	size_t *t;
	int r;

	if (x->syncing || !x->staged_nr)
		return;
	t = x->inflight;
	x->inflight = x->staged;
	x->inflight_nr = x->staged_nr;
	x->staged = t;
	x->staged_nr = 0;
	x->syncing = 1;
	if (x->syncer.running) {
		syncer_request(&x->syncer, &x->sync_files);
		return;
	}
	x->syncing = 0;
	r = sync_paths(x->data_fd, &x->sync_files);
	strvec_clear(&x->sync_files);
	commit(x, x->inflight, x->inflight_nr, r);
	x->inflight_nr = 0;
}

static void sync_end(struct xrun *x)
{
	int r = syncer_collect(&x->syncer);
	size_t nr = x->inflight_nr;

	x->syncing = 0;
	x->inflight_nr = 0;
	commit(x, x->inflight, nr, r);
}

/*
 * Asks n's run to end at level (see enum stop_level); each level is sent
 * once, and never after a higher one. STOP_KILL arms STOP_KILL_CHILD for
 * STOP_FORCE_MS later, in case the backend's stop does not end the child.
 */
static void run_stop(struct xrun *x, struct xnode *n, enum stop_level level)
{
	if (n->stop_level >= level)
		return;
	n->stop_level = level;
	x->backend->stop(x, n, level);
	if (level == STOP_KILL)
		n->force_ms = mono_ms() + STOP_FORCE_MS;
	else if (level == STOP_KILL_CHILD)
		n->force_ms = 0;
}

/* Asks every run in flight to end at level. */
static void runs_stop(struct xrun *x, enum stop_level level)
{
	for (size_t k = 0; k < x->running_nr; k++)
		run_stop(x, &x->nodes[x->running[k]], level);
}

static void cancel_begin(struct xrun *x)
{
	x->cancelling = 1;
	x->sum->cancelled_by_request = 1;
	x->kill_ms = mono_ms() + CANCEL_GRACE_MS;
	runs_stop(x, STOP_TERM);
}

/* What a slot of the loop's poll set watches. */
enum slot_kind {
	SLOT_RUN,       /* a run's pidfd: its child exited */
	SLOT_CANCEL,    /* opts->cancel_fd: cancel the build */
	SLOT_SYNC,      /* the syncer's done[0]: a sync finished */
	SLOT_CATALOG,   /* catalog_watch's descriptor: leases may have been released */
};

struct slot {
	enum slot_kind kind;
	size_t node;          /* SLOT_RUN: the run's node */
};

/* One turn of the loop: what it polls and until when. */
struct pollset {
	struct pollfd *pfd;
	struct slot *slot;    /* slot[k] owns pfd[k] */
	size_t nr;
	long long wake;       /* mono_ms of the earliest deadline; -1: none */
};

/* Room for max slots: every run, the cancel fd, the syncer and the catalog. */
static void pollset_init(struct pollset *ps, size_t max)
{
	ps->pfd = xcalloc(max, sizeof(*ps->pfd));
	ps->slot = xcalloc(max, sizeof(*ps->slot));
	ps->nr = 0;
	ps->wake = -1;
}

static void pollset_release(struct pollset *ps)
{
	free(ps->pfd);
	free(ps->slot);
}

static void pollset_add(struct pollset *ps, int fd, enum slot_kind kind, size_t node)
{
	ps->pfd[ps->nr].fd = fd;
	ps->pfd[ps->nr].events = POLLIN;
	ps->pfd[ps->nr].revents = 0;
	ps->slot[ps->nr].kind = kind;
	ps->slot[ps->nr].node = node;
	ps->nr++;
}

static void pollset_wake(struct pollset *ps, long long t)
{
	if (ps->wake < 0 || t < ps->wake)
		ps->wake = t;
}

/*
 * Lease waiters and catalog notifications: catalog_watch right before
 * poll; pending notifications re-try every waiting node now, and the
 * descriptor (a catalog that can notify) joins the poll set as SLOT_CATALOG.
 */
static void lease_watch(struct xrun *x, struct pollset *ps)
{
	struct strbuf err = STRBUF_INIT;
	struct strvec released = STRVEC_INIT;
	int fd = -1, r = catalog_watch_leases(x->c, &fd, &released, &err);

	if (r > 0 && released.nr) {
		long long now = mono_ms();
		struct strmap refs = STRMAP_INIT;
		int any = 0;

		for (size_t i = 0; i < released.nr; i++) {
			any |= !released.v[i][0];
			strmap_put(&refs, released.v[i], NULL);
		}
		/* only the waiters on a released lease: other commits change nothing for them */
		for (size_t k = 0; k < x->waiting_nr; k++) {
			struct xnode *n = &x->nodes[x->waiting[k]];

			if (any || !n->lease_busy || strmap_contains(&refs, n->lease_busy))
				n->lease_retry_ms = now;
		}
		strmap_clear(&refs);
	}
	strvec_clear(&released);
	if (r >= 0 && fd >= 0) {
		x->lease_backoff_max_ms = LEASE_BACKOFF_WATCHED_MS;
		pollset_add(ps, fd, SLOT_CATALOG, 0);
	} else {
		x->lease_backoff_max_ms = LEASE_BACKOFF_MAX_MS;
	}
	strbuf_release(&err);
}

/* Nothing runs, syncs or can still start: the loop is over. */
static int loop_done(const struct xrun *x)
{
	if (x->running_nr || x->staged_nr || x->syncing)
		return 0;
	return x->stopping || x->cancelling ||
	       (x->prio_head == x->prio_tail && x->ready_head == x->ready_tail &&
		!x->waiting_nr);
}

/* What the next poll watches, and the earliest deadline, timeout or retry. */
static void pollset_fill(struct xrun *x, struct pollset *ps)
{
	int starting = !x->stopping && !x->cancelling;

	ps->nr = 0;
	ps->wake = -1;
	if (x->o->cancel_fd >= 0 && !x->cancelling)
		pollset_add(ps, x->o->cancel_fd, SLOT_CANCEL, 0);
	if (x->syncing)
		pollset_add(ps, x->syncer.done[0], SLOT_SYNC, 0);
	for (size_t k = 0; k < x->running_nr; k++) {
		struct xnode *n = &x->nodes[x->running[k]];

		pollset_add(ps, n->pidfd, SLOT_RUN, x->running[k]);
		if (n->deadline_ms && !n->timed_out)
			pollset_wake(ps, n->deadline_ms);
		if (n->force_ms)
			pollset_wake(ps, n->force_ms);
	}
	if (starting && x->waiting_nr)
		lease_watch(x, ps);
	if (starting)
		for (size_t k = 0; k < x->waiting_nr; k++)
			pollset_wake(ps, x->nodes[x->waiting[k]].lease_retry_ms);
	if (x->cancelling && !x->killed)
		pollset_wake(ps, x->kill_ms);
	if (x->deferred_nr)
		pollset_wake(ps, x->deferred_ms + EVENTS_DEFER_MS);
}

/* Polls until a descriptor is ready or ps->wake. 0, or -1 with err. */
static int pollset_wait(struct pollset *ps, struct strbuf *err)
{
	long long now = mono_ms();
	int timeout = ps->wake < 0 ? -1 : ps->wake <= now ? 0 : (int)(ps->wake - now);

	if (poll(ps->pfd, ps->nr, timeout) >= 0 || errno == EINTR)
		return 0;
	strbuf_addf(err, "poll: %s", strerror(errno));
	return -1;
}

static void pollset_dispatch(struct xrun *x, struct pollset *ps)
{
	for (size_t k = 0; k < ps->nr; k++) {
		if (!ps->pfd[k].revents)
			continue;
		switch (ps->slot[k].kind) {
		case SLOT_RUN:
			node_reap(x, &x->nodes[ps->slot[k].node]);
			break;
		case SLOT_CANCEL:
			cancel_begin(x);
			break;
		case SLOT_SYNC:
			sync_end(x);
			break;
		case SLOT_CATALOG:
			break;  /* the catalog changed: lease_watch re-tries */
		}
	}
}

/* Time limits, forced ends and the end of a cancel's grace, as of now. */
static void limits_enforce(struct xrun *x, long long now)
{
	for (size_t k = 0; k < x->running_nr; k++) {
		struct xnode *n = &x->nodes[x->running[k]];

		if (n->deadline_ms && !n->timed_out && now >= n->deadline_ms) {
			n->timed_out = 1;
			run_stop(x, n, STOP_KILL);
		}
		if (n->force_ms && now >= n->force_ms)
			run_stop(x, n, STOP_KILL_CHILD);
	}
	if (x->cancelling && !x->killed && now >= x->kill_ms) {
		x->killed = 1;
		runs_stop(x, STOP_KILL);
	}
}

static int loop(struct xrun *x, struct strbuf *err)
{
	struct pollset ps;
	int ret = -1;

	pollset_init(&ps, (size_t)x->jobs + 3);
	for (;;) {
		long long now;

		start_ready(x);
		if (loop_done(x))
			break;
		events_settle(x, 0);
		pollset_fill(x, &ps);
		if (pollset_wait(&ps, err) < 0)
			goto out;
		now = mono_ms();
		pollset_dispatch(x, &ps);
		limits_enforce(x, now);
		sync_begin(x);
		leases_tick(x, now);
		events_flush(x->c, x->o->events_out, x->build_id, &x->abandoned, &x->event_seq);
	}
	ret = 0;
out:
	pollset_release(&ps);
	return ret;
}

/* After the loop failed: ends every run and settles every staged one. */
static void loop_abort(struct xrun *x)
{
	if (x->running_nr) {
		cancel_begin(x);
		runs_stop(x, STOP_KILL_CHILD);
		while (x->running_nr)
			node_reap(x, &x->nodes[x->running[0]]);
	}
	while (x->syncing || x->staged_nr) {
		if (x->syncing)
			sync_end(x);
		else
			sync_begin(x);
	}
}

/* Nodes that never reached a final state (stopped, cancelled). */
static void sweep(struct xrun *x)
{
	for (size_t i = 0; i < x->nr; i++) {
		struct xnode *n = &x->nodes[i];

		if (is_final(n->state))
			continue;
		strbuf_reset(&n->error);
		if (x->cancelling) {
			strbuf_addf(&n->error, "job '%s' for '%s' cancelled before it started",
				    n->gn->job, n->gn->config.outputs.v[0]);
			node_event(x, n, EV_JOB_CANCELLED, n->error.buf);
			node_finish(x, n, NODE_CANCELLED);
		} else if (x->stopping) {
			strbuf_addf(&n->error, "job '%s' for '%s' not started: an earlier job failed "
				    "(--keep-going builds what does not depend on it)",
				    n->gn->job, n->gn->config.outputs.v[0]);
			node_event(x, n, EV_JOB_SKIPPED, n->error.buf);
			node_finish(x, n, NODE_SKIPPED);
		} else {
			strbuf_addf(&n->error, "job '%s' for '%s' never became ready (a cycle in "
				    "the plan?)", n->gn->job, n->gn->config.outputs.v[0]);
			node_finish(x, n, NODE_FAILED);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How many refs report_pruned looks up in one catalog call. */
#define PRUNED_LOOKUP_MAX 512

/* Requested refs that no node produces: live (pruned) or not; looked up together. */
static void report_pruned(struct xrun *x, struct strmap *produced)
{
	const struct strvec *refs = &x->plan->outputs;
	const char **want = xcalloc(refs->nr + 1, sizeof(*want));
	struct partition *rows;
	struct strbuf err = STRBUF_INIT;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < refs->nr; i++)
		if (!strmap_contains(produced, refs->v[i])) {
			strmap_put(produced, refs->v[i], (void *)1);
			want[n++] = refs->v[i];
		}
	rows = xcalloc(n + 1, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		partition_init(&rows[i]);
	r = 0;
	for (size_t i = 0; i < n && !r; i += PRUNED_LOOKUP_MAX)
		r = catalog_get_partitions(x->c, want + i, n - i < PRUNED_LOOKUP_MAX ?
					   n - i : PRUNED_LOOKUP_MAX, rows + i, &err);
	for (size_t i = 0; i < n; i++) {
		struct strbuf why = STRBUF_INIT;

		if (r == 0 && rows[i].status == PART_LIVE) {
			if (x->o->on_partition)
				x->o->on_partition(want[i], 1, NULL, x->o->arg);
			continue;
		}
		if (r == 0)
			strbuf_addf(&why, "'%s' is %s and no job was planned for it", want[i],
				    part_status_name(rows[i].status));
		else
			strbuf_addbuf(&why, &err);
		x->unanswered++;
		strbuf_addbuf(&x->sum->errors, &why);
		strbuf_addch(&x->sum->errors, '\n');
		if (x->o->on_partition)
			x->o->on_partition(want[i], 0, why.buf, x->o->arg);
		strbuf_release(&why);
	}
	for (size_t i = 0; i < n; i++)
		partition_release(&rows[i]);
	free(rows);
	free(want);
	strbuf_release(&err);
}

static int setup(struct xrun *x, struct strbuf *err)
{
	const struct job_graph *plan = x->plan;
	struct strmap produced = STRMAP_INIT;
	size_t nr = plan->nodes_nr;

	x->nr = nr;
	x->nodes = xcalloc(nr + 1, sizeof(*x->nodes));
	x->users_off = xcalloc(nr + 2, sizeof(*x->users_off));
	x->users = xcalloc(plan->edges_nr + 1, sizeof(*x->users));
	x->ready = xcalloc(nr + 1, sizeof(*x->ready));
	x->prio = xcalloc(nr + 1, sizeof(*x->prio));
	x->waiting = xcalloc(nr + 1, sizeof(*x->waiting));
	x->running = xcalloc((size_t)x->jobs + 1, sizeof(*x->running));
	x->staged = xcalloc(nr + 1, sizeof(*x->staged));
	x->inflight = xcalloc(nr + 1, sizeof(*x->inflight));
	for (size_t i = 0; i < plan->outputs.nr; i++)
		strmap_put(&x->requested, plan->outputs.v[i], (void *)1);

	for (size_t e = 0; e < plan->edges_nr; e++) {
		const struct graph_edge *ed = &plan->edges[e];

		if (ed->from >= nr || ed->to >= nr) {
			strbuf_addf(err, "plan edge %zu -> %zu names a node out of range",
				    ed->from, ed->to);
			strmap_clear(&produced);
			return -1;
		}
		x->users_off[ed->from + 1]++;
		x->nodes[ed->to].unfinished++;
	}
	for (size_t i = 0; i < nr; i++)
		x->users_off[i + 1] += x->users_off[i];
	{
		size_t *fill = xcalloc(nr + 1, sizeof(*fill));

		for (size_t e = 0; e < plan->edges_nr; e++) {
			const struct graph_edge *ed = &plan->edges[e];

			x->users[x->users_off[ed->from] + fill[ed->from]++] = ed->to;
		}
		free(fill);
	}
	for (size_t i = 0; i < nr; i++) {
		struct xnode *n = &x->nodes[i];
		const struct strvec *o = &plan->nodes[i].config.outputs;

		n->gn = &plan->nodes[i];
		n->job = graph_job(x->g, n->gn->job);
		n->state = NODE_PENDING;
		n->pidfd = -1;
		strbuf_init(&n->error, 0);
		n->sorted_outputs = xcalloc(o->nr + 1, sizeof(*n->sorted_outputs));
		n->leases = xcalloc(o->nr + 1, sizeof(*n->leases));
		for (size_t k = 0; k < o->nr; k++) {
			n->sorted_outputs[k] = o->v[k];
			if (strmap_contains(&x->requested, o->v[k]))
				n->requested = 1;
			strmap_put(&produced, o->v[k], (void *)1);
		}
		qsort(n->sorted_outputs, o->nr, sizeof(*n->sorted_outputs), cmp_str);
		if (!o->nr) {
			strbuf_addf(err, "plan node %zu (job '%s') has no outputs", i, n->gn->job);
			strmap_clear(&produced);
			return -1;
		}
	}
	for (size_t i = 0; i < nr; i++)
		report(x, &x->nodes[i]);
	report_pruned(x, &produced);
	strmap_clear(&produced);
	for (size_t i = 0; i < nr; i++)
		if (!x->nodes[i].unfinished) {
			x->nodes[i].queued = 1;
			push(x->ready, &x->ready_tail, i);
		}
	return 0;
}

static void teardown(struct xrun *x)
{
	for (size_t i = 0; i < x->nr; i++) {
		struct xnode *n = &x->nodes[i];

		if (n->pidfd >= 0)
			close(n->pidfd);
		leases_drop(x, n);
		run_forget(x, n);
		free(n->sorted_outputs);
		free(n->leases);
		free(n->run_id);
		free(n->log_path);
		strbuf_release(&n->error);
	}
	if (x->syncer_inited)
		syncer_stop(&x->syncer);
	free(x->nodes);
	free(x->users);
	free(x->users_off);
	free(x->ready);
	free(x->prio);
	free(x->waiting);
	free(x->running);
	free(x->staged);
	free(x->inflight);
	keyer_release(&x->keyer);
	strvec_clear(&x->sync_files);
	strmap_clear(&x->requested);
	strmap_clear(&x->abandoned);
	for (size_t i = 0; i < x->deferred_nr; i++)
		free(x->deferred[i].payload);
	free(x->deferred);
	if (x->data_fd >= 0)
		close(x->data_fd);
	if (x->backend_state)
		x->backend->close(x->backend_state);
}

int executor_run_from(const struct graph *g, struct catalog *c, const struct store *s,
		      const struct job_graph *plan, const struct executor_opts *opts,
		      int64_t *seq, struct build_summary *sum, struct strbuf *err)
{
	struct xrun x;
	int ret = -1;

	memset(&x, 0, sizeof(x));
	x.g = g;
	x.c = c;
	x.s = s;
	x.plan = plan;
	x.o = opts;
	x.sum = sum;
	x.build_id = opts->build_id;
	x.event_seq = *seq;
	x.backend = backend_get(opts->backend);
	x.lease_backoff_max_ms = LEASE_BACKOFF_MAX_MS;
	x.jobs = opts->jobs > 0 ? opts->jobs : executor_default_jobs(opts->backend);
	if (x.jobs <= 0)
		x.jobs = 1;
	keyer_init(&x.keyer);
	strvec_init(&x.sync_files);
	strmap_init(&x.requested);
	strmap_init(&x.abandoned);
	x.data_fd = open(s->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.data_fd < 0) {
		strbuf_addf(err, "cannot open '%s': %s", s->data_dir, strerror(errno));
		goto out;
	}
	if (gethostname(x.host, sizeof(x.host) - 1) < 0)
		snprintf(x.host, sizeof(x.host), "localhost");
	if (x.backend->open)
		x.backend_state = x.backend->open(opts->backend, x.host);
	syncer_start(&x.syncer, x.data_fd, plan->nodes_nr > 1);
	x.syncer_inited = 1;
	if (setup(&x, err) < 0)
		goto out;
	if (loop(&x, err) < 0) {
		loop_abort(&x);
		events_settle(&x, 1);
		sweep(&x);
		goto out;
	}
	events_settle(&x, 1);
	sweep(&x);
	events_flush(c, opts->events_out, x.build_id, &x.abandoned, &x.event_seq);
	if (x.cancelling)
		ret = 130;
	else
		ret = sum->failed || sum->skipped || sum->cancelled || x.unanswered ? 1 : 0;
out:
	*seq = x.event_seq;
	teardown(&x);
	return ret;
}

int executor_run(const struct graph *g, struct catalog *c, const struct store *s,
		 const struct job_graph *plan, const struct executor_opts *opts,
		 struct build_summary *sum, struct strbuf *err)
{
	int64_t seq = -1;

	return executor_run_from(g, c, s, plan, opts, &seq, sum, err);
}
