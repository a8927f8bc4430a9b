#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "core/json.h"
#include "core/strmap.h"
#include "planner/source.h"

/*
 * `databuild status`: per dataset (one output pattern of a job), counts
 * of its partitions by state and a health bar over its domain in domain
 * order. One paged catalog scan per dataset; each row is placed by
 * job_space_index, so the cost follows what the catalog holds, not the
 * size of the domain, and the catalog is never asked once per partition.
 */

static const struct cli_usage usage = {
	.cmd = "status",
	.head = "usage: databuild status [DATASET|PREFIX|GLOB]... [--json] [--partitions]\n"
		"                        [--width N] [--failures N]\n"
		"\n"
		"For each dataset (an output pattern of a job, named by its leading literal\n"
		"segments: 'raw' for raw/station={station}/date={date}), count its partitions\n"
		"by state - live, stale (tainted included), failed, building, damaged,\n"
		"missing (in the domain, not in the catalog) - draw a health bar over the\n"
		"domain in order, and list the newest failures with their reason. Arguments\n"
		"keep the datasets named, starting with PREFIX or matching GLOB.\n",
	.tail = "Stale is what the catalog records (tainted, or stale after an upstream\n"
		"changed); a partition whose build key would differ now is found by\n"
		"'databuild plan' or 'databuild build', which run configure.\n"
		"\n"
		"exit status: 0 ok, 2 usage, graph or catalog error, or a command domain that\n"
		"cannot be read\n",
};

static const char *const state_names[STATUS_STATE_NR] = {
	[STATUS_LIVE] = "live",
	[STATUS_STALE] = "stale",
	[STATUS_FAILED] = "failed",
	[STATUS_BUILDING] = "building",
	[STATUS_DAMAGED] = "damaged",
	[STATUS_MISSING] = "missing",
};

const char *status_state_name(enum status_state s)
{
	return s < STATUS_STATE_NR ? state_names[s] : "?";
}

enum status_state status_state_of(enum part_status s)
{
	switch (s) {
	case PART_LIVE: return STATUS_LIVE;
	case PART_STALE:
	case PART_TAINTED: return STATUS_STALE;
	case PART_FAILED: return STATUS_FAILED;
	case PART_BUILDING: return STATUS_BUILDING;
	case PART_DAMAGED: return STATUS_DAMAGED;
	default: return STATUS_MISSING;
	}
}

size_t status_cell(uint64_t pos, uint64_t total, size_t width)
{
	size_t c;

	if (!total || !width)
		return 0;
	if (total <= width)
		return (size_t)pos;
	c = (size_t)((long double)pos * width / total);
	return c < width ? c : width - 1;
}

uint64_t status_cell_size(size_t cell, uint64_t total, size_t width)
{
	uint64_t q, r;

	if (total <= width)
		return cell < total ? 1 : 0;
	/* ceil((cell + 1) * total / width) - ceil(cell * total / width), without overflow */
	q = total / width;
	r = total % width;
	return q + ((cell + 1) * r + width - 1) / width - (cell * r + width - 1) / width;
}

int status_cell_state(const uint64_t counts[STATUS_STATE_NR])
{
	/* a problem shows even in a large bucket */
	static const enum status_state worst_first[] = {
		STATUS_FAILED, STATUS_DAMAGED, STATUS_BUILDING, STATUS_STALE,
	};

	for (size_t i = 0; i < sizeof(worst_first) / sizeof(worst_first[0]); i++)
		if (counts[worst_first[i]])
			return worst_first[i];
	if (counts[STATUS_LIVE] && counts[STATUS_MISSING])
		return STATUS_CELL_PARTLY;
	return counts[STATUS_LIVE] ? STATUS_LIVE : STATUS_MISSING;
}

/* The character and colour of a cell state (STATUS_CELL_PARTLY last). */
static const char cell_chars[] = "#~X>!.+";
static const char *const cell_colors[] = { "32", "33", "31", "34", "35", "2", "36" };

void status_bar(const uint64_t (*cells)[STATUS_STATE_NR], size_t n, int color,
		struct strbuf *out)
{
	int prev = -1;

	for (size_t i = 0; i < n; i++) {
		int st = status_cell_state(cells[i]);

		if (color && st != prev)
			strbuf_addf(out, "\033[%sm", cell_colors[st]);
		strbuf_addch(out, cell_chars[st]);
		prev = st;
	}
	if (color && n)
		strbuf_addstr(out, "\033[0m");
}

/* The newest failures of a dataset, newest first. */
struct failure {
	char *ref, *error;
	int64_t updated_us;
};

/* One dataset: an output pattern of a job. */
struct row {
	char *name;                       /* pattern_dataset_name, or the pattern on a clash */
	const struct job *job;
	const struct pattern *pattern;
	int open_ended;                   /* a variable has no domain: what the catalog holds */
	uint64_t total;                   /* partitions in the domain (open-ended: rows) */
	uint64_t counts[STATUS_STATE_NR];
	uint64_t outside;                 /* catalog rows of the pattern outside the domain */
	size_t width;                     /* cells of the bar: min(total, --width) */
	uint64_t (*cells)[STATUS_STATE_NR];
	struct failure *failures;         /* at most --failures, newest first */
	size_t failures_nr;
	struct strmap states;             /* --partitions: ref -> (void *)(status + 1) */
	unsigned char *order;             /* open-ended: states in ref order */
	size_t order_nr, order_alloc;
};

struct status_args {
	int json, partitions, color;
	int catalog;                      /* the store exists: its catalog is open */
	int width;                        /* --width */
	int failures;                     /* --failures */
};

static void row_release(struct row *r)
{
	free(r->name);
	free(r->cells);
	for (size_t i = 0; i < r->failures_nr; i++) {
		free(r->failures[i].ref);
		free(r->failures[i].error);
	}
	free(r->failures);
	strmap_clear(&r->states);
	free(r->order);
}

/* Keeps p among the newest `max` failures of r. */
static void failure_note(struct row *r, const struct partition *p, size_t max)
{
	size_t at = r->failures_nr;

	while (at > 0 && r->failures[at - 1].updated_us < p->updated_us)
		at--;
	if (at >= max)
		return;
	if (r->failures_nr == max) {
		free(r->failures[max - 1].ref);
		free(r->failures[max - 1].error);
		r->failures_nr--;
	}
	memmove(&r->failures[at + 1], &r->failures[at],
		(r->failures_nr - at) * sizeof(*r->failures));
	r->failures[at].ref = xstrdup(p->ref);
	r->failures[at].error = p->error ? xstrdup(p->error) : NULL;
	r->failures[at].updated_us = p->updated_us;
	r->failures_nr++;
}

/* One catalog row of r's pattern into r's counts. */
static void row_add(struct row *r, const struct partition *p, const struct status_args *a)
{
	enum status_state st = status_state_of(p->status);

	if (r->open_ended) {
		if (job_space_contains(r->job, r->pattern, p->ref, NULL) != 1)
			return;
		ALLOC_GROW(r->order, r->order_nr + 1, r->order_alloc);
		r->order[r->order_nr++] = (unsigned char)st;
		r->total++;
	} else {
		int64_t pos = job_space_index(r->job, r->pattern, p->ref);

		if (pos < 0) {
			r->outside += pattern_match(r->pattern, p->ref, NULL);
			return;
		}
		r->cells[status_cell((uint64_t)pos, r->total, r->width)][st]++;
	}
	r->counts[st]++;
	if (st == STATUS_FAILED && a->failures)
		failure_note(r, p, (size_t)a->failures);
	if (a->partitions || (r->open_ended && job_is_source(r->job)))
		strmap_put(&r->states, p->ref, (void *)(uintptr_t)(st + 1));
}

/*
 * An open-ended source's domain is what exists: its files (found by
 * source_discover) that the catalog does not hold are missing. The bar's
 * order becomes the ref order of the union. 0, or -1 with err.
 */
static int row_add_source_files(struct row *r, struct strbuf *err)
{
	struct strvec found = STRVEC_INIT, all = STRVEC_INIT;
	const char *k;
	void *v;
	int ret = -1;

	if (source_discover(r->job, &found, err) < 0)
		goto out;
	for (size_t i = 0; i < found.nr; i++) {
		if (strmap_contains(&r->states, found.v[i]) ||
		    !pattern_match(r->pattern, found.v[i], NULL))
			continue;
		strmap_put(&r->states, found.v[i], (void *)(uintptr_t)(STATUS_MISSING + 1));
		r->total++;
	}
	for (size_t i = 0; strmap_next(&r->states, &i, &k, NULL); )
		strvec_push(&all, k);
	strvec_sort(&all, 1);
	r->order_nr = 0;
	ALLOC_GROW(r->order, all.nr + 1, r->order_alloc);
	for (size_t i = 0; i < all.nr; i++) {
		v = strmap_get(&r->states, all.v[i]);
		r->order[r->order_nr++] = (unsigned char)((uintptr_t)v - 1);
	}
	ret = 0;
out:
	strvec_clear(&found);
	strvec_clear(&all);
	return ret;
}

#define STATUS_PAGE 5000

/* One paged scan of the catalog under r's literal prefix: 0, or -1 with err. */
static int row_scan(struct cli *cli, struct row *r, const struct status_args *a,
		    struct strbuf *err)
{
	char *prefix = xstrndup(r->pattern->text, r->pattern->literal_prefix);
	char *after = NULL;
	int ret = -1;

	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		size_t nr;

		if (catalog_list_partitions(&cli->catalog, prefix, after, STATUS_PAGE, 0, &page,
					    err) < 0) {
			partition_list_release(&page);
			goto out;
		}
		for (size_t k = 0; k < page.nr; k++)
			row_add(r, &page.items[k], a);
		nr = page.nr;
		if (nr) {
			free(after);
			after = xstrdup(page.items[nr - 1].ref);
		}
		partition_list_release(&page);
		if (nr < STATUS_PAGE)
			break;
	}
	ret = 0;
out:
	free(prefix);
	free(after);
	return ret;
}

/* Open-ended rows: the bar over what the catalog holds, in ref order. */
static void row_cells_from_order(struct row *r, const struct status_args *a)
{
	r->width = r->total < (uint64_t)a->width ? (size_t)r->total : (size_t)a->width;
	r->cells = xcalloc(r->width + 1, sizeof(*r->cells));
	for (size_t i = 0; i < r->order_nr; i++)
		r->cells[status_cell(i, r->total, r->width)][r->order[i]]++;
}

/* Counts of r: its domain's size, one catalog scan. 0, or -1 with err. */
static int row_count(struct cli *cli, struct row *r, const struct status_args *a,
		     struct strbuf *err)
{
	uint64_t known = 0;
	int ret = -1;

	r->failures = xcalloc((size_t)a->failures + 1, sizeof(*r->failures));
	strmap_init(&r->states);
	for (size_t k = 0; k < r->pattern->names.nr && !r->open_ended; k++)
		r->open_ended = !job_domain(r->job, r->pattern->names.v[k]);
	if (!r->open_ended) {
		if (job_space_count(r->job, r->pattern, &r->total, err) < 0)
			goto out;
		r->width = r->total < (uint64_t)a->width ? (size_t)r->total : (size_t)a->width;
		r->cells = xcalloc(r->width + 1, sizeof(*r->cells));
	}
	if (a->catalog && row_scan(cli, r, a, err) < 0)
		goto out;
	if (r->open_ended && job_is_source(r->job) && row_add_source_files(r, err) < 0)
		goto out;
	if (r->open_ended)
		row_cells_from_order(r, a);
	for (size_t s = 0; s < STATUS_STATE_NR; s++)
		known += r->counts[s];
	r->counts[STATUS_MISSING] = r->total - known;
	for (size_t c = 0; c < r->width; c++) {
		uint64_t in = 0;

		for (size_t s = 0; s < STATUS_STATE_NR; s++)
			in += r->cells[c][s];
		r->cells[c][STATUS_MISSING] = status_cell_size(c, r->total, r->width) - in;
	}
	ret = 0;
out:
	return ret;
}

/* Whether arg keeps the dataset named name: equal, a prefix, or a glob over it. */
int status_arg_matches(const char *arg, const char *name)
{
	if (strpbrk(arg, "*?["))
		return fnmatch(arg, name, 0) == 0;
	return !strncmp(name, arg, strlen(arg));
}

/* The rows of every output pattern of the graph, named, in the graph's order. */
static void rows_make(const struct graph *g, struct row **out, size_t *nr)
{
	struct strmap names = STRMAP_INIT;
	struct strbuf name = STRBUF_INIT;
	struct row *rows = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < g->jobs_nr; i++)
		for (size_t k = 0; k < g->jobs[i].outputs_nr; k++) {
			ALLOC_GROW(rows, n + 1, alloc);
			memset(&rows[n], 0, sizeof(rows[n]));
			rows[n].job = &g->jobs[i];
			rows[n].pattern = &g->jobs[i].outputs[k];
			strbuf_reset(&name);
			pattern_dataset_name(rows[n].pattern->text, &name);
			rows[n].name = strbuf_detach(&name, NULL);
			strmap_put(&names, rows[n].name,
				   (void *)((uintptr_t)strmap_get(&names, rows[n].name) + 1));
			n++;
		}
	/* two patterns with one name: each is named by its pattern */
	for (size_t i = 0; i < n; i++)
		if ((uintptr_t)strmap_get(&names, rows[i].name) > 1) {
			free(rows[i].name);
			rows[i].name = xstrdup(rows[i].pattern->text);
		}
	strmap_clear(&names);
	strbuf_release(&name);
	*out = rows;
	*nr = n;
}

/* Marks the rows args keep (all without args): 0, or -1 (printed; exit 2). */
static int rows_select(const struct row *rows, size_t nr, int nargs, char **args,
		       unsigned char *keep)
{
	struct strbuf names = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < nr; i++) {
		keep[i] = !nargs;
		strbuf_addf(&names, "%s%s", i ? ", " : "", rows[i].name);
	}
	for (int a = 0; a < nargs && !ret; a++) {
		int any = 0;

		for (size_t i = 0; i < nr; i++)
			if (status_arg_matches(args[a], rows[i].name))
				keep[i] = any = 1;
		if (!any)
			ret = cli_error(-1, "status: '%s' matches no dataset (datasets: %s)", args[a],
					nr ? names.buf : "none");
	}
	strbuf_release(&names);
	return ret;
}

/*
 * The refs --partitions lists: the domain's in domain order, or, for an
 * open-ended dataset, what the catalog holds in ref order.
 */
static void row_refs(struct row *r, struct strvec *refs)
{
	struct strbuf err = STRBUF_INIT;
	struct space_iter it;
	const char *k;

	if (!r->open_ended && space_iter_init(&it, r->job, r->pattern, NULL, &err) == 0) {
		for (const char *ref; (ref = space_iter_next(&it)); )
			strvec_push(refs, ref);
		space_iter_release(&it);
	} else {
		for (size_t i = 0; strmap_next(&r->states, &i, &k, NULL); )
			strvec_push(refs, k);
		strvec_sort(refs, 1);
	}
	strbuf_release(&err);
}

/* The state --partitions shows for ref. */
static const char *ref_state(const struct row *r, const char *ref)
{
	uintptr_t v = (uintptr_t)strmap_get(&r->states, ref);

	return state_names[v ? v - 1 : STATUS_MISSING];
}

static void print_partitions_text(struct row *r, struct strbuf *out)
{
	struct strvec refs = STRVEC_INIT;

	row_refs(r, &refs);
	for (size_t i = 0; i < refs.nr; i++)
		strbuf_addf(out, "  %-8s %s\n", ref_state(r, refs.v[i]), refs.v[i]);
	strvec_clear(&refs);
}

static void print_text(struct row *r, const struct status_args *a, struct strbuf *out)
{
	strbuf_addf(out, "%s  (job %s: %s)  %llu partition%s%s\n", r->name, r->job->label,
		    r->pattern->text, (unsigned long long)r->total, r->total == 1 ? "" : "s",
		    r->open_ended ? " in the catalog (open-ended)" : "");
	strbuf_addstr(out, "  ");
	for (size_t s = 0, n = 0; s < STATUS_STATE_NR; s++)
		if (r->counts[s] || s == STATUS_LIVE)
			strbuf_addf(out, "%s%llu %s", n++ ? ", " : "",
				    (unsigned long long)r->counts[s], state_names[s]);
	if (r->outside)
		strbuf_addf(out, "; %llu in the catalog outside the domain",
			    (unsigned long long)r->outside);
	strbuf_addstr(out, "\n");
	if (r->width) {
		strbuf_addstr(out, "  [");
		status_bar((const uint64_t (*)[STATUS_STATE_NR])r->cells, r->width, a->color, out);
		strbuf_addstr(out, "]\n");
	}
	for (size_t i = 0; i < r->failures_nr; i++) {
		strbuf_addstr(out, "  failed ");
		catalog_format_time(r->failures[i].updated_us, out);
		strbuf_addf(out, "  %s: %s\n", r->failures[i].ref,
			    r->failures[i].error ? r->failures[i].error : "(no reason recorded)");
	}
	if (a->partitions)
		print_partitions_text(r, out);
}

static cJSON *partitions_json(struct row *r)
{
	cJSON *arr = cJSON_CreateArray();
	struct strvec refs = STRVEC_INIT;

	row_refs(r, &refs);
	for (size_t i = 0; i < refs.nr; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "ref", refs.v[i]);
		cJSON_AddStringToObject(o, "state", ref_state(r, refs.v[i]));
		cJSON_AddItemToArray(arr, o);
	}
	strvec_clear(&refs);
	return arr;
}

static cJSON *row_json(struct row *r, const struct status_args *a)
{
	cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateArray();
	struct strbuf bar = STRBUF_INIT, t = STRBUF_INIT;

	cJSON_AddStringToObject(o, "dataset", r->name);
	cJSON_AddNumberToObject(o, "total", (double)r->total);
	for (size_t s = 0; s < STATUS_STATE_NR; s++)
		cJSON_AddNumberToObject(o, state_names[s], (double)r->counts[s]);
	cJSON_AddStringToObject(o, "job", r->job->label);
	cJSON_AddStringToObject(o, "pattern", r->pattern->text);
	cJSON_AddBoolToObject(o, "open_ended", r->open_ended);
	cJSON_AddNumberToObject(o, "outside", (double)r->outside);
	status_bar((const uint64_t (*)[STATUS_STATE_NR])r->cells, r->width, 0, &bar);
	cJSON_AddStringToObject(o, "bar", bar.buf);
	for (size_t i = 0; i < r->failures_nr; i++) {
		cJSON *e = cJSON_CreateObject();

		strbuf_reset(&t);
		catalog_format_time(r->failures[i].updated_us, &t);
		cJSON_AddStringToObject(e, "ref", r->failures[i].ref);
		if (r->failures[i].error)
			cJSON_AddStringToObject(e, "error", r->failures[i].error);
		else
			cJSON_AddNullToObject(e, "error");
		cJSON_AddStringToObject(e, "updated", t.buf);
		cJSON_AddItemToArray(f, e);
	}
	cJSON_AddItemToObject(o, "failures", f);
	if (a->partitions)
		cJSON_AddItemToObject(o, "partitions", partitions_json(r));
	strbuf_release(&bar);
	strbuf_release(&t);
	return o;
}

/* Counts and prints the kept rows: an exit code. */
static int status_print(struct cli *cli, struct row *rows, size_t nr, const unsigned char *keep,
			const struct status_args *a)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "datasets");
	int ret = EXIT_USAGE;

	for (size_t i = 0; i < nr; i++) {
		if (!keep[i])
			continue;
		if (row_count(cli, &rows[i], a, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		if (a->json) {
			cJSON_AddItemToArray(list, row_json(&rows[i], a));
			continue;
		}
		print_text(&rows[i], a, &out);
		fwrite(out.buf, 1, out.len, stdout);
		strbuf_reset(&out);
	}
	if (a->json) {
		if (schedules_status(cli, a->catalog > 0, root, NULL, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		json_print(root, &out);
		strbuf_addch(&out, '\n');
	} else if (nr) {
		strbuf_addstr(&out, "bar: ");
		for (size_t s = 0; s < STATUS_STATE_NR; s++)
			strbuf_addf(&out, "%c %s  ", cell_chars[s], state_names[s]);
		strbuf_addf(&out, "%c partly live\n", cell_chars[STATUS_CELL_PARTLY]);
	}
	if (!a->json && schedules_status(cli, a->catalog > 0, NULL, &out, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	ret = cli_write_stdout(&out);
out:
	cJSON_Delete(root);
	strbuf_release(&out);
	strbuf_release(&err);
	return ret;
}

/* The status of the datasets args keep: an exit code. */
static int status_run(struct cli *cli, int nargs, char **args, struct status_args *a)
{
	struct row *rows = NULL;
	unsigned char *keep = NULL;
	size_t nr = 0;
	int ret = EXIT_USAGE;

	if (cli_load_graph(cli) < 0 || (a->catalog = cli_open_catalog_if_any(cli)) < 0)
		return EXIT_USAGE;
	a->color = !a->json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	rows_make(&cli->graph, &rows, &nr);
	keep = xcalloc(nr + 1, 1);
	if (rows_select(rows, nr, nargs, args, keep) < 0)
		goto out;
	ret = status_print(cli, rows, nr, keep, a);
out:
	for (size_t i = 0; i < nr; i++)
		row_release(&rows[i]);
	free(rows);
	free(keep);
	return ret;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct status_args a = { .json = 0, .partitions = 0, .color = 0, .catalog = 0,
				 .width = 60, .failures = 3 };
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &a.json,
			 "one JSON object: {\"datasets\": [{\"dataset\", \"total\", \"live\", ...}]}"),
		OPT_FLAG(0, "partitions", &a.partitions, "also list every partition with its state"),
		OPT_INT(0, "width", &a.width, "N", 1, 1000,
			"cells of the health bar (default 60; one per partition when fewer)"),
		OPT_INT(0, "failures", &a.failures, "N", 0, 1000,
			"newest failures shown per dataset (default 3)"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : status_run(cli, n, argv, &a);
}
