#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/strmap.h"
#include "store/gc.h"
#include "store/object.h"

static const struct cli_usage usage = {
	.cmd = "du",
	.head = "usage: databuild du [PREFIX] [--json]\n"
		"\n"
		"Print the store's space per dataset (a ref's directory part) among the\n"
		"partitions whose refs start with PREFIX (default: all): current (objects\n"
		"of current versions), history (objects only non-current versions\n"
		"reference) and shared (objects more than one partition references:\n"
		"listed under each dataset that references them, counted once in the\n"
		"total). Then the store: unreferenced objects (gc removes them), logs and\n"
		"staging. Sizes are bytes on disk (st_blocks * 512).\n",
	.tail = "exit status: 0 ok, 1 cannot write, 2 usage or store error\n",
};

/* Versions read per page. */
#define DU_PAGE 1000

/* One object: who references it. */
struct du_object {
	char *first_ref;          /* the first partition seen referencing it */
	int multi;                /* more than one partition references it (any prefix) */
	int current;              /* a current version under the prefix references it */
	struct strvec datasets;   /* the datasets under the prefix referencing it, each once */
};

struct du_row {
	int64_t current, history, shared;
};

struct du {
	const struct store *s;
	const char *prefix;
	struct strmap objects;   /* sha256 -> struct du_object * */
	struct strmap rows;      /* dataset -> struct du_row * */
	struct du_row total;
	int64_t unreferenced, logs, staging;
	uint64_t unreferenced_nr, logs_nr, staging_nr;
};

/* The dataset of ref: its directory part ("." for a ref without one). */
static char *dataset_of(const char *ref)
{
	const char *slash = strrchr(ref, '/');

	return slash ? xstrndup(ref, (size_t)(slash - ref)) : xstrdup(".");
}

static void note_version(struct du *du, const struct version *v)
{
	int added;
	struct strmap_entry *e = strmap_find_or_add(&du->objects, v->sha256, &added);
	struct du_object *o = e->value;
	char *ds = dataset_of(v->ref);
	size_t i;

	if (added) {
		o = xcalloc(1, sizeof(*o));
		o->first_ref = xstrdup(v->ref);
		strvec_init(&o->datasets);
		e->value = o;
	}
	if (strcmp(o->first_ref, v->ref))
		o->multi = 1;
	if (strncmp(v->ref, du->prefix, strlen(du->prefix)))
		goto out;  /* shared is a fact of the whole store; the rest is the prefix's */
	o->current |= v->current;
	for (i = 0; i < o->datasets.nr && strcmp(o->datasets.v[i], ds); i++)
		;
	if (i == o->datasets.nr)
		strvec_push(&o->datasets, ds);
out:
	free(ds);
}

static int read_versions(struct cli *cli, struct du *du, struct strbuf *err)
{
	struct version_list page = VERSION_LIST_INIT;
	char *after_ref = NULL;
	int64_t after_us = 0;
	int ret = -1;

	for (;;) {
		version_list_release(&page);
		if (catalog_page_versions(&cli->catalog, "", after_ref, after_us, DU_PAGE, &page,
					  err) < 0)
			goto out;
		for (size_t i = 0; i < page.nr; i++)
			note_version(du, &page.items[i]);
		if (page.nr < DU_PAGE)
			break;
		free(after_ref);
		after_ref = xstrdup(page.items[page.nr - 1].ref);
		after_us = page.items[page.nr - 1].time_us;
	}
	ret = 0;
out:
	version_list_release(&page);
	free(after_ref);
	return ret;
}

static struct du_row *row_of(struct du *du, const char *dataset)
{
	int added;
	struct strmap_entry *e = strmap_find_or_add(&du->rows, dataset, &added);

	if (added)
		e->value = xcalloc(1, sizeof(struct du_row));
	return e->value;
}

static int object_visit(const char *sha256, const struct stat *st, void *arg,
			struct strbuf *err)
{
	struct du *du = arg;
	struct du_object *o = strmap_get(&du->objects, sha256);
	int64_t bytes = store_disk_bytes(st);

	if (!o) {
		du->unreferenced += bytes;
		du->unreferenced_nr++;
		return 0;
	}
	if (!o->datasets.nr)
		return 0;  /* only partitions outside the prefix reference it */
	for (size_t i = 0; i < o->datasets.nr; i++) {
		struct du_row *row = row_of(du, o->datasets.v[i]);

		if (o->multi)
			row->shared += bytes;
		else if (o->current)
			row->current += bytes;
		else
			row->history += bytes;
	}
	if (o->multi)
		du->total.shared += bytes;
	else if (o->current)
		du->total.current += bytes;
	else
		du->total.history += bytes;
	return 0;
}

static int log_visit(const char *run_id, const struct stat *st, void *arg, struct strbuf *err)
{
	struct du *du = arg;

	du->logs += store_disk_bytes(st);
	du->logs_nr++;
	return 0;
}

static int staging_visit(const char *run_id, const struct stat *st, void *arg,
			 struct strbuf *err)
{
	struct du *du = arg;
	struct strbuf path = STRBUF_INIT;

	store_staging_path(du->s, run_id, &path);
	du->staging += store_tree_bytes(path.buf);
	du->staging_nr++;
	strbuf_release(&path);
	return 0;
}

static void print_table(struct du *du, const struct strvec *names, struct strbuf *out)
{
	strbuf_addf(out, "%14s %14s %14s  %s\n", "CURRENT", "HISTORY", "SHARED", "DATASET");
	for (size_t i = 0; i < names->nr; i++) {
		const struct du_row *row = strmap_get(&du->rows, names->v[i]);

		strbuf_addf(out, "%14lld %14lld %14lld  %s\n", (long long)row->current,
			    (long long)row->history, (long long)row->shared, names->v[i]);
	}
	strbuf_addf(out, "%14lld %14lld %14lld  %s\n", (long long)du->total.current,
		    (long long)du->total.history, (long long)du->total.shared,
		    "total (shared counted once)");
	strbuf_addf(out, "\n%-14s %14s %8s\n", "STORE", "BYTES", "COUNT");
	strbuf_addf(out, "%-14s %14lld %8llu\n", "unreferenced", (long long)du->unreferenced,
		    (unsigned long long)du->unreferenced_nr);
	strbuf_addf(out, "%-14s %14lld %8llu\n", "logs", (long long)du->logs,
		    (unsigned long long)du->logs_nr);
	strbuf_addf(out, "%-14s %14lld %8llu\n", "staging", (long long)du->staging,
		    (unsigned long long)du->staging_nr);
}

/* {"dataset" (when not NULL), "current", "history", "shared"} */
static cJSON *row_json(const char *dataset, const struct du_row *row)
{
	cJSON *o = cJSON_CreateObject();

	if (dataset)
		cJSON_AddStringToObject(o, "dataset", dataset);

	json_add_int64(o, "current", row->current);
	json_add_int64(o, "history", row->history);
	json_add_int64(o, "shared", row->shared);
	return o;
}

static cJSON *count_json(int64_t bytes, uint64_t count)
{
	cJSON *o = cJSON_CreateObject();

	json_add_int64(o, "bytes", bytes);
	json_add_int64(o, "count", (int64_t)count);
	return o;
}

static void print_json(struct du *du, const struct strvec *names, struct strbuf *out)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();

	for (size_t i = 0; i < names->nr; i++) {
		cJSON_AddItemToArray(arr, row_json(names->v[i], strmap_get(&du->rows, names->v[i])));
	}
	cJSON_AddItemToObject(root, "datasets", arr);
	cJSON_AddItemToObject(root, "total", row_json(NULL, &du->total));
	cJSON_AddItemToObject(root, "unreferenced", count_json(du->unreferenced,
								 du->unreferenced_nr));
	cJSON_AddItemToObject(root, "logs", count_json(du->logs, du->logs_nr));
	cJSON_AddItemToObject(root, "staging", count_json(du->staging, du->staging_nr));
	json_print(root, out);
	strbuf_addch(out, '\n');
	cJSON_Delete(root);
}

static void du_release(struct du *du)
{
	void *v;

	for (size_t i = 0; strmap_next(&du->objects, &i, NULL, &v);) {
		struct du_object *o = v;

		free(o->first_ref);
		strvec_clear(&o->datasets);
		free(o);
	}
	strmap_clear(&du->objects);
	for (size_t i = 0; strmap_next(&du->rows, &i, NULL, &v);)
		free(v);
	strmap_clear(&du->rows);
}

static int du_print(struct cli *cli, int nargs, char **args, int json)
{
	struct du du = { .s = NULL, .prefix = "", .objects = STRMAP_INIT, .rows = STRMAP_INIT };
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct strvec names = STRVEC_INIT;
	const char *name;
	int ret = EXIT_USAGE;

	if (nargs > 1) {
		cli_error(EXIT_USAGE, "du: too many arguments (usage: databuild du [PREFIX] "
			  "[--json])");
		goto out;
	}
	if (nargs)
		du.prefix = args[0];
	if (cli_open_catalog(cli) < 0)
		goto out;
	du.s = &cli->store;
	if (read_versions(cli, &du, &err) < 0 ||
	    store_walk_objects(&cli->store, object_visit, &du, &err) < 0 ||
	    store_walk_logs(&cli->store, log_visit, &du, &err) < 0 ||
	    store_walk_staging(&cli->store, staging_visit, &du, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	for (size_t i = 0; strmap_next(&du.rows, &i, &name, NULL);)
		strvec_push(&names, name);
	strvec_sort(&names, 1);
	if (json)
		print_json(&du, &names, &out);
	else
		print_table(&du, &names, &out);
	ret = cli_write_stdout(&out);
out:
	du_release(&du);
	strvec_clear(&names);
	strbuf_release(&err);
	strbuf_release(&out);
	return ret;
}

/* declared in cli/main.c, the table of commands */

int cmd_du(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json,
			 "one JSON object: {\"datasets\": [{\"dataset\", \"current\", \"history\",\n"
			 "\"shared\"}], \"total\": {...}, \"unreferenced\": {\"bytes\", \"count\"},\n"
			 "\"logs\": {...}, \"staging\": {...}}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : du_print(cli, n, argv, json);
}
