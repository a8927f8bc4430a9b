#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "planner/planner.h"

static const struct cli_usage usage = {
	.cmd = "configure",
	.head = "usage: databuild configure [--timeout SECONDS] REF...\n"
		"\n"
		"Look up the job of each partition REF, run each job's configure once with\n"
		"all of its refs, and print the job configs they return, grouped per job:\n"
		"{\"job label\": [JobConfig...]}. Nothing is built.\n",
	.tail = "exit status: 0 ok, 2 invalid ref, failed lookup or configure, bad graph\n",
};

/* Runs configure for each job (in order of first appearance) and adds its answer. */
static int configure_all(struct cli *cli, const struct strvec *refs, const struct job **jobs,
			 long timeout_ms, cJSON *result)
{
	struct strvec group = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < refs->nr; i++) {
		struct job_config_list list = JOB_CONFIG_LIST_INIT;
		int seen = 0;

		for (size_t k = 0; k < i; k++)
			seen |= jobs[k] == jobs[i];
		if (seen)
			continue;
		strvec_clear(&group);
		for (size_t k = i; k < refs->nr; k++)
			if (jobs[k] == jobs[i])
				strvec_push(&group, refs->v[k]);
		if (planner_configure(&cli->graph, jobs[i], &group, timeout_ms, -1, &list, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		cJSON_AddItemToObject(result, jobs[i]->label, job_config_list_to_json(&list));
		job_config_list_release(&list);
	}
	ret = 0;
out:
	strvec_clear(&group);
	strbuf_release(&err);
	return ret;
}

/* Configures the jobs of the REF arguments and prints their configs: an exit code. */
static int configure_print(struct cli *cli, int nargs, char **args, long timeout_s)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct job **jobs = NULL;
	cJSON *result = cJSON_CreateObject();
	int ret = EXIT_USAGE;

	if (lookup_refs_jobs(cli, "configure", nargs, args, timeout_s, &refs, &jobs) < 0 ||
	    configure_all(cli, &refs, jobs, timeout_s * 1000, result) < 0)
		goto out;
	json_print_pretty(result, &out);
	strbuf_addch(&out, '\n');
	ret = cli_write_stdout(&out);
out:
	cJSON_Delete(result);
	free(jobs);
	strvec_clear(&refs);
	strbuf_release(&out);
	return ret;
}

int cmd_configure(struct cli *cli, int argc, char **argv)
{
	long timeout_s = 60;
	const struct cli_option options[] = {
		OPT_TIMEOUT(&timeout_s,
			    "kill a configure (or lookup) after this long (default 120)"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : configure_print(cli, n, argv, timeout_s);
}
