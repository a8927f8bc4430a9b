#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "model/ref.h"
#include "planner/planner.h"

static const struct cli_usage usage = {
	.cmd = "lookup",
	.head = "usage: databuild lookup [--json] [--timeout SECONDS] REF...\n"
		"\n"
		"Print the job that produces each partition REF: one 'REF<TAB>LABEL' line\n"
		"per ref, or with --json one object {\"job label\": [refs...]}. Uses the\n"
		"graph's lookup executable if it has one, else the jobs' output patterns.\n",
	.tail = "exit status: 0 ok, 2 invalid ref, no or several jobs for a ref, bad graph\n",
};

int lookup_refs_jobs(struct cli *cli, const char *cmd, int nargs, char **args,
		     long timeout_s, struct strvec *refs, const struct job ***jobs)
{
	struct strbuf err = STRBUF_INIT;
	int ret = -1, bad = 0;

	for (int i = 0; i < nargs; i++)
		if (strvec_find(refs, args[i]) < 0)
			strvec_push(refs, args[i]);
	if (!refs->nr)
		return cli_error(-1, "no REF given (see 'databuild %s --help')", cmd);
	for (size_t i = 0; i < refs->nr; i++) {
		if (ref_validate(refs->v[i], &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			bad = 1;
		}
		strbuf_reset(&err);
	}
	if (bad || cli_load_graph(cli) < 0)
		goto out;
	*jobs = xcalloc(refs->nr, sizeof(**jobs));
	if (planner_lookup(&cli->graph, refs, *jobs, timeout_s * 1000, -1, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&err);
	return ret;
}

/* {"job label": [refs...]} */
static void lookup_json(const struct strvec *refs, const struct job **jobs, struct strbuf *out)
{
	cJSON *json = cJSON_CreateObject();

	for (size_t i = 0; i < refs->nr; i++) {
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(json, jobs[i]->label);

		if (!arr)
			arr = cJSON_AddArrayToObject(json, jobs[i]->label);
		cJSON_AddItemToArray(arr, cJSON_CreateString(refs->v[i]));
	}
	json_print_pretty(json, out);
	strbuf_addch(out, '\n');
	cJSON_Delete(json);
}

/* Looks up the job of each REF argument and prints it: an exit code. */
static int lookup_print(struct cli *cli, int nargs, char **args, long timeout_s, int as_json)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct job **jobs = NULL;
	int ret = EXIT_USAGE;

	if (lookup_refs_jobs(cli, "lookup", nargs, args, timeout_s, &refs, &jobs) < 0)
		goto out;
	if (as_json)
		lookup_json(&refs, jobs, &out);
	for (size_t i = 0; i < refs.nr && !as_json; i++)
		strbuf_addf(&out, "%s\t%s\n", refs.v[i], jobs[i]->label);
	ret = cli_write_stdout(&out);
out:
	free(jobs);
	strvec_clear(&refs);
	strbuf_release(&out);
	return ret;
}

int cmd_lookup(struct cli *cli, int argc, char **argv)
{
	long timeout_s = 60;
	int as_json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &as_json, "print JSON"),
		OPT_TIMEOUT(&timeout_s, "kill the lookup executable after this long (default 120)"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : lookup_print(cli, n, argv, timeout_s, as_json);
}
