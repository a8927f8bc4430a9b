#include <stdio.h>

#include "catalog/recover.h"
#include "cli/cli.h"
#include "core/json.h"

static const struct cli_usage usage = {
	.cmd = "recover",
	.head = "usage: databuild recover [--json]\n"
		"\n"
		"Rebuild the catalog from the store alone: every publish also wrote its\n"
		"manifest into STORE/manifests/, so each data file can be matched, by its\n"
		"hash, to the run that published it. Use it when the catalog was lost,\n"
		"emptied or replaced (databuild then refuses to open it). Runs the catalog\n"
		"already knows are kept; data that matches no manifest is marked damaged\n"
		"and rebuilt by the next read or build.\n",
	.tail = "exit status: 0 recovered, 1 recovered but some partitions are damaged,\n"
		"2 usage or configuration error\n",
};

static void report_damaged(const char *ref, const char *why, void *arg)
{
	if (!*(int *)arg)
		printf("damaged  %s: %s\n", ref, why);
}

static int recover_run(struct cli *cli, int json)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	struct recover_stats st;
	int ret = EXIT_USAGE;

	if (cli_open_store(cli) < 0)
		goto out;
	if (catalog_open_unchecked(&cli->catalog, &cli->store, cli->catalog_location, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	cli->catalog_opened = 1;
	if (catalog_recover(&cli->catalog, &st, report_damaged, &json, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject();

		json_add_int64(o, "manifests", (int64_t)st.manifests);
		json_add_int64(o, "runs", (int64_t)st.runs);
		json_add_int64(o, "abandoned", (int64_t)st.abandoned);
		json_add_int64(o, "partitions", (int64_t)st.partitions);
		json_add_int64(o, "damaged", (int64_t)st.damaged);
		json_add_int64(o, "known", (int64_t)st.skipped);
		json_print(o, &line);
		cJSON_Delete(o);
		printf("%s\n", line.buf);
	} else {
		printf("recovered %zu partition%s from %zu manifest%s (%zu run%s entered, %zu "
		       "already known, %zu abandoned, %zu damaged)\n", st.partitions,
		       st.partitions == 1 ? "" : "s", st.manifests, st.manifests == 1 ? "" : "s",
		       st.runs, st.runs == 1 ? "" : "s", st.skipped, st.abandoned, st.damaged);
	}
	ret = fflush(stdout) ? EXIT_FAILED : st.damaged ? EXIT_FAILED : EXIT_OK;
out:
	strbuf_release(&err);
	strbuf_release(&line);
	return ret;
}

int cmd_recover(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json, "one JSON object with the counts instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	if (n > 0)
		return cli_error(EXIT_USAGE, "recover: unexpected argument '%s' (usage: "
				 "databuild recover [--json])", argv[0]);
	return n < 0 ? cli_parse_exit(n) : recover_run(cli, json);
}
