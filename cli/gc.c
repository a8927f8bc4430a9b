#include <stdio.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/json.h"
#include "scheduler/gc.h"

static const struct cli_usage usage = {
	.cmd = "gc",
	.head = "usage: databuild gc [--dry-run] [--json]\n"
		"\n"
		"Collect the store's garbage: versions outside the graph's retention\n"
		"policy, then objects no version references, logs of finished runs\n"
		"nothing names any more, lock files of idle partitions and staging\n"
		"directories of runs that are not running, and kept hashes of files that\n"
		"changed or went. What a reader holds open is kept for a later gc. Safe\n"
		"while mounted and while building. Prints what it freed per kind (count\n"
		"and bytes on disk; versions: their sizes).\n",
	.tail = "exit status: 0 ok, 1 gc failed part way (what was freed is printed),\n"
		"2 usage, graph or store error\n",
};

static void print_report(const struct gc_report *r, int json, struct strbuf *out)
{
	if (json) {
		cJSON *o = gc_report_to_json(r);

		json_print(o, out);
		strbuf_addch(out, '\n');
		cJSON_Delete(o);
		return;
	}
	strbuf_addf(out, "%-8s %8s %14s%s\n", "KIND", "COUNT", "BYTES",
		    r->dry_run ? "  (dry run: nothing removed)" : "");
	for (int k = 0; k < GC_KIND_NR; k++)
		strbuf_addf(out, "%-8s %8llu %14lld\n", gc_kind_name(k),
			    (unsigned long long)r->freed[k].count, (long long)r->freed[k].bytes);
	if (r->held_versions || r->held_objects)
		strbuf_addf(out, "kept in use: %llu version%s, %llu object%s\n",
			    (unsigned long long)r->held_versions, r->held_versions == 1 ? "" : "s",
			    (unsigned long long)r->held_objects, r->held_objects == 1 ? "" : "s");
}

static int gc_print(struct cli *cli, int nargs, int dry_run, int json)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct gc_report r;
	int ret = EXIT_USAGE, failed;

	if (nargs) {
		cli_error(EXIT_USAGE, "gc: unexpected argument (usage: databuild gc [--dry-run] "
			  "[--json])");
		goto out;
	}
	if (cli_load_graph(cli) < 0 || cli_open_catalog(cli) < 0)
		goto out;
	failed = gc_run(&cli->catalog, &cli->store, &cli->graph, dry_run, now_us(), &r,
			&err) < 0;
	print_report(&r, json, &out);
	ret = cli_write_stdout(&out);
	if (failed)
		ret = cli_fail(EXIT_FAILED, &err);
out:
	strbuf_release(&err);
	strbuf_release(&out);
	return ret;
}

/* declared in cli/main.c, the table of commands */

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	int dry_run = 0, json = 0;
	const struct cli_option options[] = {
		OPT_FLAG('n', "dry-run", &dry_run,
			 "remove nothing; print what gc would free"),
		OPT_FLAG(0, "json", &json,
			 "one JSON object: {\"dry_run\", \"versions\": {\"count\", \"bytes\"},\n"
			 "\"objects\", \"logs\", \"locks\", \"staging\", \"hashes\", \"held\":\n"
			 "{\"versions\", \"objects\"}}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : gc_print(cli, n, dry_run, json);
}
