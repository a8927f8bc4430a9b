#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "model/buildkey.h"
#include "model/ref.h"
#include "core/strmap.h"
#include "planner/planner.h"

extern char **environ;

enum { DFS_NEW, DFS_OPEN, DFS_DONE };

struct pnode;

/* What the plan keeps of a partition known to the catalog. */
struct pstate {
	enum part_status status;
	const char *job;          /* the job that published it (arena), NULL if none */
	char sha256[SHA256_HEX_LEN + 1];
	char build_key[SHA256_HEX_LEN + 1];
};

struct pref {
	const char *ref;          /* the map's own key */
	struct pnode *node;       /* the config producing it, or NULL */
	struct pstate *part;      /* NULL: unknown to the catalog (or not asked) */
	unsigned fetched : 1;
	unsigned requested : 1;
	unsigned forced : 1;
	unsigned needed : 1;
	unsigned listed : 1;      /* in out->pruned */
	struct pnode *wanted_by;  /* the first config that has it as an input (expand) */
};

/* The fields the graph walks read come first: they share the first cache lines. */
struct pnode {
	unsigned needed : 1;
	unsigned planned : 1;
	unsigned dfs : 2;
	struct pref **in;         /* config.inputs[i]'s ref, once expanded */
	struct pref **out;        /* config.outputs.v[i]'s ref (add_config) */
	size_t local;             /* index among planned nodes */
	size_t index;             /* id in the output */
	size_t mark;
	size_t indegree;
	size_t stack_pos;
	const struct job *job;
	struct job_config config;
	char *reason;             /* planned: why it runs */
};

/* Bump allocation for the plan's many small records, freed all at once. */
struct arena {
	char *chunk;
	size_t used, size;
	char **chunks;
	size_t chunks_nr, chunks_alloc;
};

#define ARENA_CHUNK ((size_t)256 << 10)

struct planner {
	struct arena arena;
	const struct graph *g;
	struct catalog *c;        /* NULL: nothing is live */
	const struct planner_opts *opts;
	struct planner_stats stats;
	struct strbuf *err;
	size_t arg_budget;

	struct strmap refs;       /* ref -> struct pref */
	struct pref **requested;
	size_t requested_nr, requested_alloc;
	struct pnode **nodes;     /* every config, in creation order */
	size_t nodes_nr, nodes_alloc;
	struct pnode **needed;    /* needed nodes, in the order they became needed */
	size_t needed_nr, needed_alloc, expanded;
	struct pref **wave;       /* refs to look up and configure in the next wave */
	size_t wave_nr, wave_alloc;
	struct pnode **post;      /* needed nodes, producers before consumers */
	size_t post_nr;

	struct keyer keyer;
	int keyer_ready;

	/* For stats.pruned: needed refs, those a planned node produces, listed others. */
	size_t needed_refs, needed_planned, listed_unneeded;
};

const char *freshness_name(enum freshness f)
{
	switch (f) {
	case FRESH_PRESENCE:
		return "presence";
	case FRESH_KEYS:
		return "keys";
	}
	return "unknown";
}

int freshness_parse(const char *name)
{
	if (!strcmp(name, "presence"))
		return FRESH_PRESENCE;
	if (!strcmp(name, "keys"))
		return FRESH_KEYS;
	return -1;
}

/* Zeroed memory for n objects of size bytes, valid until arena_release. */
static void *arena_alloc(struct arena *a, size_t n, size_t size)
{
	size_t bytes = (n * size + 15) & ~(size_t)15;
	void *mem;

	if (!bytes)
		bytes = 16;
	if (a->used + bytes > a->size) {
		size_t chunk = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;

		ALLOC_GROW(a->chunks, a->chunks_nr + 1, a->chunks_alloc);
		a->chunk = a->chunks[a->chunks_nr++] = xcalloc(1, chunk);
		a->size = chunk;
		a->used = 0;
	}
	mem = a->chunk + a->used;
	a->used += bytes;
	return mem;
}

static void arena_release(struct arena *a)
{
	for (size_t i = 0; i < a->chunks_nr; i++)
		free(a->chunks[i]);
	free(a->chunks);
	memset(a, 0, sizeof(*a));
}

static size_t default_arg_budget(void)
{
	long max = sysconf(_SC_ARG_MAX);
	size_t env = 4096, half;

	if (max <= 0)
		max = 128 * 1024;
	for (char **e = environ; e && *e; e++)
		env += strlen(*e) + 1 + sizeof(char *);
	half = (size_t)max / 2;
	return half > env + 32 * 1024 ? half - env : 32 * 1024;
}

static struct pref *ref_get(struct planner *p, const char *ref)
{
	int added;
	struct strmap_entry *e = strmap_find_or_add(&p->refs, ref, &added);
	struct pref *r = e->value;

	if (!added)
		return r;
	r = e->value = arena_alloc(&p->arena, 1, sizeof(*r));
	r->ref = e->key;
	return r;
}

static int catalog_in_use(const struct planner *p)
{
	return p->c && !p->opts->ignore_catalog;
}

/* r's catalog row, found (1) or not (0), into r->part; -1 with p->err. */
static int fetched(struct planner *p, struct pref *r, struct partition *part, int found)
{
	if (found > 0) {
		/* served bytes are the published bytes: damage found is rebuilt */
		struct strbuf why = STRBUF_INIT;

		found = catalog_check_data(p->c, part, &why, p->err) < 0 ? -1 : 1;
		strbuf_release(&why);
	}
	if (found <= 0)
		return found;
	r->part = arena_alloc(&p->arena, 1, sizeof(*r->part));
	r->part->status = part->status;
	memcpy(r->part->sha256, part->sha256, sizeof(r->part->sha256));
	memcpy(r->part->build_key, part->build_key, sizeof(r->part->build_key));
	r->part->job = NULL;
	if (part->job) {
		size_t len = strlen(part->job) + 1;

		r->part->job = memcpy(arena_alloc(&p->arena, len, 1), part->job, len);
	}
	return 0;
}

static int fetch(struct planner *p, struct pref *r)
{
	struct partition part;
	int found, ret;

	if (r->fetched)
		return 0;
	r->fetched = 1;
	if (!catalog_in_use(p))
		return 0;
	partition_init(&part);
	found = catalog_get_partition(p->c, r->ref, &part, p->err);
	ret = found < 0 ? -1 : fetched(p, r, &part, found);
	partition_release(&part);
	return ret;
}

/* How many refs prefetch asks for in one catalog call. */
#define PREFETCH_MAX 512

/*
 * On a catalog that answers many lookups in one round trip (PostgreSQL):
 * the refs of refs[0..nr) not fetched yet, PREFETCH_MAX to a call, so
 * that fetch() finds them done (a row whose status reads missing counts
 * as none, as fetch's "unknown"). A planner asked for thousands of refs
 * spends one round trip per PREFETCH_MAX instead of one each. Where every
 * lookup is a local read (SQLite) fetch() does them one by one.
 */
static int prefetch(struct planner *p, struct pref *const *refs, size_t nr)
{
	size_t cap = nr < PREFETCH_MAX ? nr : PREFETCH_MAX, n = 0;
	const char **want;
	struct pref **of;
	struct partition *rows;
	int ret = 0;

	if (!nr || !catalog_in_use(p) || !catalog_lookups_batched(p->c))
		return 0;
	want = xcalloc(cap, sizeof(*want));
	of = xcalloc(cap, sizeof(*of));
	rows = xcalloc(cap, sizeof(*rows));
	for (size_t i = 0; i <= nr && !ret; i++) {
		if (i < nr && !refs[i]->fetched) {
			refs[i]->fetched = 1;  /* once each, also when listed twice */
			of[n] = refs[i];
			want[n++] = refs[i]->ref;
		}
		if (!n || (n < cap && i < nr))
			continue;
		if (catalog_get_partitions(p->c, want, n, rows, p->err) < 0)
			ret = -1;
		for (size_t k = 0; k < n; k++) {
			if (!ret && fetched(p, of[k], &rows[k], rows[k].status != PART_MISSING) < 0)
				ret = -1;
			partition_release(&rows[k]);
		}
		n = 0;
	}
	free(want);
	free(of);
	free(rows);
	return ret;
}

static int is_live(const struct pref *r)
{
	return r->part && r->part->status == PART_LIVE;
}

static const char *hash_of(const struct pref *r)
{
	return r->part && r->part->sha256[0] ? r->part->sha256 : NULL;
}

static void mark_node(struct planner *p, struct pnode *n)
{
	if (n->needed)
		return;
	n->needed = 1;
	ALLOC_GROW(p->needed, p->needed_nr + 1, p->needed_alloc);
	p->needed[p->needed_nr++] = n;
}

/* r is read by a needed node (or requested): explore it unless pruned at once. */
static int need(struct planner *p, struct pref *r)
{
	if (r->needed)
		return 0;
	r->needed = 1;
	p->needed_refs++;
	if (fetch(p, r) < 0)
		return -1;
	if (p->opts->freshness == FRESH_PRESENCE && is_live(r) && !r->forced)
		return 0;
	if (r->node) {
		mark_node(p, r->node);
		return 0;
	}
	ALLOC_GROW(p->wave, p->wave_nr + 1, p->wave_alloc);
	p->wave[p->wave_nr++] = r;
	return 0;
}

static int expand(struct planner *p, struct pnode *n)
{
	const struct job_config *cfg = &n->config;

	n->in = arena_alloc(&p->arena, cfg->inputs_nr, sizeof(*n->in));
	for (size_t i = 0; i < cfg->inputs_nr; i++) {
		struct pref *r = ref_get(p, cfg->inputs[i].ref);

		n->in[i] = r;
		if (!r->wanted_by)
			r->wanted_by = n;
		if (cfg->inputs[i].type == DEP_MATERIALIZE) {
			if (need(p, r) < 0)
				return -1;
			continue;
		}
		if (fetch(p, r) < 0)
			return -1;
		if (!p->opts->ignore_catalog && !is_live(r)) {
			strbuf_addf(p->err, "job '%s' needs '%s' (query), which is not live",
				    n->job->label, r->ref);
			return -1;
		}
	}
	return 0;
}

/* prefetch for the inputs of the needed nodes from..to, before expand reads them. */
static int prefetch_inputs(struct planner *p, size_t from, size_t to)
{
	struct pref **refs = NULL;
	size_t nr = 0, alloc = 0;
	int ret;

	if (!catalog_in_use(p) || !catalog_lookups_batched(p->c))
		return 0;
	for (size_t k = from; k < to; k++) {
		const struct job_config *cfg = &p->needed[k]->config;

		for (size_t i = 0; i < cfg->inputs_nr; i++) {
			ALLOC_GROW(refs, nr + 1, alloc);
			refs[nr++] = ref_get(p, cfg->inputs[i].ref);
		}
	}
	ret = prefetch(p, refs, nr);
	free(refs);
	return ret;
}

static int drain(struct planner *p)
{
	while (p->expanded < p->needed_nr) {
		size_t end = p->needed_nr;

		if (prefetch_inputs(p, p->expanded, end) < 0)
			return -1;
		while (p->expanded < end)
			if (expand(p, p->needed[p->expanded++]) < 0)
				return -1;
	}
	return 0;
}

static void strvec_compact(struct strvec *sv)
{
	if (sv->v != strvec_empty && sv->alloc > sv->nr + 1) {
		sv->v = xrealloc(sv->v, (sv->nr + 1) * sizeof(*sv->v));
		sv->alloc = sv->nr + 1;
	}
}

/* Drops the spare capacity of a config's arrays: a plan holds many. */
static void config_compact(struct job_config *c)
{
	strvec_compact(&c->outputs);
	strvec_compact(&c->args);
	strvec_compact(&c->env);
	if (c->inputs_alloc > c->inputs_nr) {
		if (c->inputs_nr) {
			c->inputs = xrealloc(c->inputs, c->inputs_nr * sizeof(*c->inputs));
		} else {
			free(c->inputs);
			c->inputs = NULL;
		}
		c->inputs_alloc = c->inputs_nr;
	}
}

/* Takes cfg's contents: a new node, or merged into an identical one. */
static int add_config(struct planner *p, const struct job *job, struct job_config *cfg)
{
	struct pref **out = arena_alloc(&p->arena, cfg->outputs.nr, sizeof(*out));
	struct pnode *n;

	for (size_t i = 0; i < cfg->outputs.nr; i++) {
		struct pref *r = out[i] = ref_get(p, cfg->outputs.v[i]);
		struct pnode *other = r->node;

		if (!other)
			continue;
		if (other->job == job && job_config_equal(&other->config, cfg))
			return 0;
		if (other->job == job)
			strbuf_addf(p->err, "overlap: two different configs of job '%s' "
				    "produce '%s'", job->label, r->ref);
		else
			strbuf_addf(p->err, "overlap: configs of job '%s' and of job '%s' "
				    "both produce '%s'", other->job->label, job->label, r->ref);
		return -1;
	}
	n = arena_alloc(&p->arena, 1, sizeof(*n));
	n->job = job;
	n->config = *cfg;
	n->out = out;
	job_config_init(cfg);
	config_compact(&n->config);
	ALLOC_GROW(p->nodes, p->nodes_nr + 1, p->nodes_alloc);
	p->nodes[p->nodes_nr++] = n;
	for (size_t i = 0; i < n->config.outputs.nr; i++)
		out[i]->node = n;
	return 0;
}

int planner_cancelled(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r;

	if (fd < 0)
		return 0;
	while ((r = poll(&pfd, 1, 0)) < 0 && errno == EINTR)
		;
	return r > 0;
}

/* -1 with the message if the caller asked to stop. */
static int check_cancel(struct planner *p)
{
	if (!planner_cancelled(p->opts->cancel_fd))
		return 0;
	strbuf_addstr(p->err, "planning cancelled");
	return -1;
}

static int configure_job(struct planner *p, const struct job *job, struct pref **refs,
			 size_t nr)
{
	struct strvec args = STRVEC_INIT;
	struct job_config_list list = JOB_CONFIG_LIST_INIT;
	size_t i = 0;
	int ret = -1;

	while (i < nr) {
		size_t bytes = 0;

		strvec_clear(&args);
		for (; i < nr; i++) {
			struct pref *r = refs[i];
			size_t cost = strlen(r->ref) + 1 + sizeof(char *);

			if (r->node && r->node->job == job)
				continue;
			if (args.nr && bytes + cost > p->arg_budget)
				break;
			strvec_push(&args, r->ref);
			bytes += cost;
		}
		if (!args.nr)
			break;
		if (check_cancel(p) < 0)
			goto out;
		p->stats.configure_calls++;
		if (planner_configure(p->g, job, &args, p->opts->configure_timeout_ms,
				      p->opts->cancel_fd, &list, p->err) < 0)
			goto out;
		for (size_t k = 0; k < list.nr; k++)
			if (add_config(p, job, &list.items[k]) < 0)
				goto out;
		job_config_list_release(&list);
	}
	ret = 0;
out:
	job_config_list_release(&list);
	strvec_clear(&args);
	return ret;
}

/*
 * After a failed lookup of wave[start..end): says which job's config asked
 * for the input the error names, if one did.
 */
static void add_wanted_by(struct planner *p, struct pref **wave, size_t start, size_t end)
{
	struct strbuf quoted = STRBUF_INIT;

	for (size_t i = start; i < end; i++) {
		const struct pnode *n = wave[i]->wanted_by;

		if (!n)
			continue;
		strbuf_reset(&quoted);
		strbuf_addf(&quoted, "'%s'", wave[i]->ref);
		if (!strstr(p->err->buf, quoted.buf))
			continue;
		strbuf_addf(p->err, "\n  '%s' is an input of job '%s', in its config for '%s'",
			    wave[i]->ref, n->job->label, n->config.outputs.v[0]);
		if (n->config.outputs.nr > 1)
			strbuf_addf(p->err, " (and %zu more outputs)", n->config.outputs.nr - 1);
		break;
	}
	strbuf_release(&quoted);
}

static int lookup(struct planner *p, struct pref **wave, size_t nr, const struct job **jobs)
{
	struct strvec names = STRVEC_INIT;
	size_t i = 0, start;
	int ret = -1;

	while (i < nr) {
		size_t bytes = 0;

		strvec_clear(&names);
		for (start = i; i < nr; i++) {
			size_t cost = strlen(wave[i]->ref) + 1 + sizeof(char *);

			if (p->g->lookup.nr && names.nr && bytes + cost > p->arg_budget)
				break;
			strvec_push(&names, wave[i]->ref);
			bytes += cost;
		}
		if (p->g->lookup.nr && check_cancel(p) < 0)
			goto out;
		if (planner_lookup(p->g, &names, jobs + start, p->opts->configure_timeout_ms,
				   p->opts->cancel_fd, p->err) < 0) {
			add_wanted_by(p, wave, start, i);
			goto out;
		}
	}
	ret = 0;
out:
	strvec_clear(&names);
	return ret;
}

static int run_wave(struct planner *p, struct pref **wave, size_t nr)
{
	const struct graph *g = p->g;
	const struct job **jobs = xcalloc(nr, sizeof(*jobs));
	size_t *start = xcalloc(g->jobs_nr + 1, sizeof(*start));
	size_t *fill = xcalloc(g->jobs_nr + 1, sizeof(*fill));
	struct pref **order = xcalloc(nr, sizeof(*order));
	int ret = -1;

	p->stats.refs_resolved += nr;
	if (lookup(p, wave, nr, jobs) < 0)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		if (!jobs[i] || jobs[i] < g->jobs || jobs[i] >= g->jobs + g->jobs_nr) {
			strbuf_addf(p->err, "lookup gave no job of the graph for '%s'",
				    wave[i]->ref);
			goto out;
		}
		start[jobs[i] - g->jobs + 1]++;
	}
	for (size_t j = 0; j < g->jobs_nr; j++)
		start[j + 1] += start[j];
	for (size_t i = 0; i < nr; i++) {
		size_t j = jobs[i] - g->jobs;

		order[start[j] + fill[j]++] = wave[i];
	}
	for (size_t j = 0; j < g->jobs_nr; j++)
		if (fill[j] && configure_job(p, &g->jobs[j], order + start[j], fill[j]) < 0)
			goto out;
	for (size_t i = 0; i < nr; i++) {
		if (!wave[i]->node) {
			strbuf_addf(p->err, "configure of job '%s' did not produce '%s'",
				    jobs[i]->label, wave[i]->ref);
			goto out;
		}
		mark_node(p, wave[i]->node);
	}
	if (drain(p) < 0)
		goto out;
	ret = 0;
out:
	free(jobs);
	free(start);
	free(fill);
	free(order);
	return ret;
}

static int analyze(struct planner *p)
{
	struct pref **cur = NULL;
	size_t cur_alloc = 0;
	int ret = -1;

	while (p->wave_nr) {
		struct pref **tmp = cur;
		size_t nr = p->wave_nr, alloc = cur_alloc;

		cur = p->wave;
		cur_alloc = p->wave_alloc;
		p->wave = tmp;
		p->wave_alloc = alloc;
		p->wave_nr = 0;
		if (check_cancel(p) < 0 || run_wave(p, cur, nr) < 0)
			goto out;
	}
	ret = 0;
out:
	free(cur);
	return ret;
}

struct frame {
	struct pnode *n;
	size_t next;
	struct pref *via;
};

static void report_cycle(struct planner *p, struct frame *stack, size_t top, size_t k,
			 struct pref *r)
{
	strbuf_addf(p->err, "dependency cycle: %s", r->ref);
	for (size_t i = k + 1; i <= top; i++)
		strbuf_addf(p->err, " \u2192 %s", stack[i].via->ref);
	strbuf_addf(p->err, " \u2192 %s (jobs:", r->ref);
	for (size_t i = k; i <= top; i++)
		strbuf_addf(p->err, "%s '%s'", i > k ? "," : "", stack[i].n->job->label);
	strbuf_addch(p->err, ')');
}

/* Depth-first over needed nodes through materialize inputs: cycles, post order. */
static int order_needed(struct planner *p)
{
	struct frame *stack = xcalloc(p->needed_nr + 1, sizeof(*stack));
	int ret = -1;

	p->post = xcalloc(p->needed_nr + 1, sizeof(*p->post));
	for (size_t root = 0; root < p->needed_nr; root++) {
		size_t top = 0;

		if (p->needed[root]->dfs != DFS_NEW)
			continue;
		stack[0].n = p->needed[root];
		stack[0].next = 0;
		stack[0].via = NULL;
		stack[0].n->dfs = DFS_OPEN;
		stack[0].n->stack_pos = 0;
		for (;;) {
			struct frame *f = &stack[top];
			struct pnode *n = f->n;

			if (f->next < n->config.inputs_nr) {
				size_t i = f->next++;
				struct pref *r = n->in[i];
				struct pnode *q = r->node;

				if (n->config.inputs[i].type != DEP_MATERIALIZE || !q || !q->needed ||
				    q->dfs == DFS_DONE)
					continue;
				if (q->dfs == DFS_OPEN) {
					report_cycle(p, stack, top, q->stack_pos, r);
					goto out;
				}
				top++;
				stack[top].n = q;
				stack[top].next = 0;
				stack[top].via = r;
				q->dfs = DFS_OPEN;
				q->stack_pos = top;
				continue;
			}
			n->dfs = DFS_DONE;
			p->post[p->post_nr++] = n;
			if (!top)
				break;
			top--;
		}
	}
	ret = 0;
out:
	free(stack);
	return ret;
}

static const char *status_reason(const struct pref *r)
{
	if (!r->part)
		return "missing";
	switch (r->part->status) {
	case PART_MISSING:
	case PART_LIVE:
		break;
	case PART_BUILDING:
		return "missing: being built";
	case PART_FAILED:
		return "missing: last run failed";
	case PART_STALE:
		return "stale: upstream tainted";
	case PART_TAINTED:
		return "stale: tainted";
	case PART_DAMAGED:
		return "damaged: its data no longer matches its manifest";
	case PART_STATUS_NR:
		break;
	}
	return "missing";
}

static const char *display_path(const struct planner *p, const char *path)
{
	size_t n = strlen(p->g->dir);

	if (!strncmp(path, p->g->dir, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

/* The first file of m's key whose content is not what it was; 0 if none. */
static int key_file_diff(struct planner *p, const struct pnode *n, const struct manifest *m,
			 struct strbuf *why)
{
	struct strbuf e = STRBUF_INIT;

	for (size_t i = 0; !why->len && i < m->key_files.nr; i++) {
		const char *entry = m->key_files.v[i], *path, *now;

		if (strlen(entry) <= SHA256_HEX_LEN + 1)
			continue;
		path = entry + SHA256_HEX_LEN + 1;
		strbuf_reset(&e);
		now = keyer_file_hash(&p->keyer, path, &e);
		if (!now)
			strbuf_addf(why, "stale: file '%s' is gone (%s)", display_path(p, path),
				    e.buf);
		else if (strncmp(now, entry, SHA256_HEX_LEN))
			strbuf_addf(why, "stale: %s '%s' changed", n->job->exec.nr &&
				    !strcmp(path, n->job->exec.v[0]) ? "executable" : "file",
				    display_path(p, path));
	}
	strbuf_release(&e);
	return why->len > 0;
}

/* "stale: args changed (...)": the first argument that differs. */
static void args_diff(const struct strvec *old, const struct strvec *now, struct strbuf *why)
{
	size_t i = 0;

	while (i < old->nr && i < now->nr && !strcmp(old->v[i], now->v[i]))
		i++;
	if (i < old->nr && i < now->nr)
		strbuf_addf(why, "stale: args changed (argument %zu: '%s' \u2192 '%s')", i + 1,
			    old->v[i], now->v[i]);
	else
		strbuf_addf(why, "stale: args changed (%zu \u2192 %zu arguments)", old->nr, now->nr);
}

/* "stale: env 'NAME' changed": the first variable set, unset or changed. */
static void env_diff(const struct strvec *old, const struct strvec *now, struct strbuf *why)
{
	for (int pass = 0; pass < 2 && !why->len; pass++) {
		const struct strvec *a = pass ? now : old, *b = pass ? old : now;

		for (size_t i = 0; i < a->nr && !why->len; i++) {
			size_t klen = strcspn(a->v[i], "=");
			int same = 0;

			for (size_t k = 0; k < b->nr && !same; k++)
				same = !strcmp(a->v[i], b->v[k]);
			if (!same)
				strbuf_addf(why, "stale: env '%.*s' changed", (int)klen, a->v[i]);
		}
	}
	if (!why->len)
		strbuf_addstr(why, "stale: env changed (order)");
}

/* What differs between the run recorded in m and node n now; 0 if nothing seen. */
static int manifest_diff(struct planner *p, const struct pnode *n, const struct manifest *m,
			 struct strbuf *why)
{
	const struct job_config *old = &m->config, *now = &n->config;
	int same_inputs = old->inputs_nr == now->inputs_nr;

	for (size_t i = 0; same_inputs && i < now->inputs_nr; i++)
		same_inputs = old->inputs[i].type == now->inputs[i].type &&
			      !strcmp(old->inputs[i].ref, now->inputs[i].ref);
	if (m->job && strcmp(m->job, n->job->label))
		strbuf_addf(why, "stale: built by job '%s'", m->job);
	else if (!strvec_equal(&old->args, &now->args) && job_is_source(n->job) && now->args.nr)
		strbuf_addf(why, "stale: source file '%s' changed", now->args.v[0]);
	else if (key_file_diff(p, n, m, why))
		;
	else if (!strvec_equal(&old->args, &now->args))
		args_diff(&old->args, &now->args, why);
	else if (!strvec_equal(&old->env, &now->env))
		env_diff(&old->env, &now->env, why);
	else if (!same_inputs)
		strbuf_addstr(why, "stale: inputs changed");
	for (size_t i = 0; !why->len && i < m->inputs_nr; i++) {
		const struct pref *in = strmap_get(&p->refs, m->inputs[i].ref);
		const char *h = in ? hash_of(in) : NULL;

		if (h && strcmp(h, m->inputs[i].sha256))
			strbuf_addf(why, "stale: input '%s' changed (sha256 %.12s\u2026 \u2192 "
				    "%.12s\u2026)", in->ref, m->inputs[i].sha256, h);
	}
	return why->len > 0;
}

/* Why r's recorded build key differs from the one computed now. */
static int diagnose(struct planner *p, const struct pnode *n, const struct pref *r,
		    struct strbuf *why)
{
	struct semver v = { 0 };
	struct strbuf scratch = STRBUF_INIT;
	struct partition part;
	struct manifest m;
	const struct job *job = n->job;
	int found = 0, ret = -1;

	partition_init(&part);
	manifest_init(&m);
	if (catalog_get_partition(p->c, r->ref, &part, p->err) < 0)
		goto out;
	if (part.version && semver_parse(&v, part.version, &scratch) == 0 &&
	    v.major != job->version.major) {
		strbuf_addf(why, "stale: job '%s' major version changed (%s \u2192 %s)",
			    job->label, part.version, job->version.text);
		ret = 0;
		goto out;
	}
	if (part.run_id && (found = catalog_get_manifest(p->c, part.run_id, &m, p->err)) < 0)
		goto out;
	if (!found || !manifest_diff(p, n, &m, why))
		strbuf_addf(why, "stale: build key changed (exec '%s' changed?)",
			    display_path(p, job->exec.v[0]));
	ret = 0;
out:
	semver_release(&v);
	partition_release(&part);
	manifest_release(&m);
	strbuf_release(&scratch);
	return ret;
}

/* Keys mode, all needed outputs live: stale, upstream or fresh. */
static int decide_keys(struct planner *p, struct pnode *n, struct strbuf *why)
{
	const struct job_config *cfg = &n->config;
	const char **hashes = xcalloc(cfg->inputs_nr + 1, sizeof(*hashes));
	char key[SHA256_HEX_SIZE];
	int upstream = 0, keyable = 1, ret = -1;

	for (size_t i = 0; i < cfg->inputs_nr; i++) {
		struct pref *r = n->in[i];

		if (cfg->inputs[i].type == DEP_MATERIALIZE && r->node && r->node->planned)
			upstream = 1;
		hashes[i] = hash_of(r);
		if (!hashes[i])
			keyable = 0;
	}
	if (keyable) {
		if (!p->keyer_ready) {
			keyer_init(&p->keyer);
			p->keyer_ready = 1;
		}
		if (keyer_compute(&p->keyer, n->job, cfg, hashes, key, p->err) < 0)
			goto out;
		for (size_t i = 0; i < cfg->outputs.nr; i++) {
			const struct pref *r = n->out[i];

			if (!r->needed || !strcmp(r->part->build_key, key))
				continue;
			if (diagnose(p, n, r, why) < 0)
				goto out;
			break;
		}
	}
	if (!why->len && (upstream || !keyable))
		strbuf_addstr(why, "upstream");
	ret = 0;
out:
	free(hashes);
	return ret;
}

static int decide(struct planner *p, struct pnode *n)
{
	struct strbuf why = STRBUF_INIT;
	const struct pref *missing = NULL;
	size_t needed = 0;
	int forced = 0, ret = -1;

	for (size_t i = 0; i < n->config.outputs.nr; i++) {
		const struct pref *r = n->out[i];

		if (!r->needed)
			continue;
		needed++;
		if (r->forced)
			forced = 1;
		else if (!missing && !is_live(r))
			missing = r;
	}
	if (forced)
		strbuf_addstr(&why, "forced");
	else if (missing)
		strbuf_addstr(&why, status_reason(missing));
	else if (p->opts->freshness == FRESH_KEYS && decide_keys(p, n, &why) < 0)
		goto out;
	if (why.len) {
		n->planned = 1;
		n->reason = strbuf_detach(&why, NULL);
		p->needed_planned += needed;
	}
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

/* Lists r in out->pruned with its producing job, if known. */
static void add_pruned(struct planner *p, struct pref *r, struct job_graph *out)
{
	r->listed = 1;
	if (!r->needed)
		p->listed_unneeded++;
	job_graph_add_pruned(out, r->ref, r->node ? r->node->job->label :
			     r->part ? r->part->job : NULL);
}

static int planned_input(const struct pnode *n, size_t i)
{
	const struct pref *r = n->in[i];

	return n->config.inputs[i].type == DEP_MATERIALIZE && r->node && r->node->planned;
}

/* Kahn over planned nodes; fills out (moving configs into it). */
static int emit(struct planner *p, struct job_graph *out)
{
	struct pnode **planned = xcalloc(p->needed_nr + 1, sizeof(*planned));
	struct pnode **queue = NULL;
	size_t *first = NULL, *consumers = NULL;
	size_t planned_nr = 0, edges_nr = 0, head = 0, tail = 0;
	int ret = -1;

	for (size_t i = 0; i < p->needed_nr; i++) {
		struct pnode *n = p->needed[i];

		if (!n->planned)
			continue;
		n->local = planned_nr;
		n->mark = 0;
		planned[planned_nr++] = n;
	}
	first = xcalloc(planned_nr + 2, sizeof(*first));
	for (size_t c = 0; c < planned_nr; c++) {
		struct pnode *n = planned[c];

		for (size_t i = 0; i < n->config.inputs_nr; i++) {
			struct pnode *q = n->in[i]->node;

			if (!planned_input(n, i) || q->mark == c + 1)
				continue;
			q->mark = c + 1;
			n->indegree++;
			first[q->local + 2]++;
			edges_nr++;
		}
	}
	for (size_t c = 0; c < planned_nr; c++)
		first[c + 2] += first[c + 1];
	consumers = xcalloc(edges_nr + 1, sizeof(*consumers));
	for (size_t c = 0; c < planned_nr; c++)
		planned[c]->mark = 0;
	for (size_t c = 0; c < planned_nr; c++) {
		struct pnode *n = planned[c];

		for (size_t i = 0; i < n->config.inputs_nr; i++) {
			struct pnode *q = n->in[i]->node;

			if (!planned_input(n, i) || q->mark == c + 1)
				continue;
			q->mark = c + 1;
			consumers[first[q->local + 1]++] = c;
		}
	}
	queue = xcalloc(planned_nr + 1, sizeof(*queue));
	for (size_t c = 0; c < planned_nr; c++)
		if (!planned[c]->indegree)
			queue[tail++] = planned[c];
	while (head < tail) {
		struct pnode *n = queue[head];
		size_t from = first[n->local];

		n->index = head++;
		for (size_t e = from; e < first[n->local + 1]; e++)
			if (!--planned[consumers[e]]->indegree)
				queue[tail++] = planned[consumers[e]];
	}
	if (tail != planned_nr) {
		strbuf_addstr(p->err, "dependency cycle among the planned jobs");
		goto out;
	}

	ALLOC_GROW(out->nodes, planned_nr, out->nodes_alloc);  /* sized once */
	ALLOC_GROW(out->edges, edges_nr, out->edges_alloc);
	for (size_t k = 0; k < planned_nr; k++)
		queue[k]->mark = 0;
	for (size_t k = 0; k < planned_nr; k++) {
		struct pnode *n = queue[k];

		for (size_t i = 0; i < n->config.inputs_nr; i++) {
			struct pref *r = n->in[i];

			if (planned_input(n, i)) {
				if (r->node->mark != k + 1) {
					r->node->mark = k + 1;
					job_graph_add_edge(out, r->node->index, n->index);
				}
				continue;
			}
			if (r->node && r->node->planned)
				continue;
			if (!r->listed)
				add_pruned(p, r, out);
		}
	}
	for (size_t k = 0; k < planned_nr; k++) {
		struct pnode *n = queue[k];
		struct job_config empty = JOB_CONFIG_INIT;
		struct graph_node *gn = job_graph_add_node(out, n->job->label, &empty, NULL);

		job_config_release(&gn->config);
		gn->config = n->config;
		job_config_init(&n->config);
		gn->reason = n->reason;  /* moved, as the config */
		n->reason = NULL;
	}
	ret = 0;
out:
	free(planned);
	free(queue);
	free(first);
	free(consumers);
	return ret;
}

static void planner_release(struct planner *p)
{
	strmap_clear(&p->refs);
	for (size_t i = 0; i < p->nodes_nr; i++) {
		job_config_release(&p->nodes[i]->config);
		free(p->nodes[i]->reason);
	}
	arena_release(&p->arena);
	free(p->nodes);
	free(p->needed);
	free(p->requested);
	free(p->wave);
	free(p->post);
	if (p->keyer_ready)
		keyer_release(&p->keyer);
}

int planner_plan(const struct graph *g, struct catalog *c, const struct strvec *refs,
		 const struct planner_opts *opts, struct job_graph *out,
		 struct planner_stats *stats, struct strbuf *err)
{
	struct planner p = { 0 };
	int ret = -1;

	p.g = g;
	p.c = c;
	p.opts = opts;
	p.err = err;
	p.arg_budget = opts->arg_max ? opts->arg_max : default_arg_budget();
	strmap_init(&p.refs);
	job_graph_init(out);

	for (size_t i = 0; i < refs->nr; i++) {
		struct pref *r;

		if (ref_validate(refs->v[i], err) < 0)
			goto out;
		r = ref_get(&p, refs->v[i]);
		if (r->requested)
			continue;
		r->requested = 1;
		r->forced = !!opts->force;
		strvec_push(&out->outputs, r->ref);
		ALLOC_GROW(p.requested, p.requested_nr + 1, p.requested_alloc);
		p.requested[p.requested_nr++] = r;
	}
	if (prefetch(&p, p.requested, p.requested_nr) < 0)
		goto out;
	for (size_t i = 0; i < p.requested_nr; i++)
		if (need(&p, p.requested[i]) < 0)
			goto out;
	if (analyze(&p) < 0 || order_needed(&p) < 0)
		goto out;
	for (size_t i = 0; i < p.post_nr; i++)
		if (decide(&p, p.post[i]) < 0)
			goto out;
	if (emit(&p, out) < 0)
		goto out;
	/* needed refs and listed inputs that no planned node produces */
	p.stats.pruned = p.needed_refs - p.needed_planned + p.listed_unneeded;
	ret = 0;
out:
	if (ret < 0) {
		job_graph_release(out);
		job_graph_init(out);
	}
	if (stats)
		*stats = p.stats;
	planner_release(&p);
	return ret;
}
