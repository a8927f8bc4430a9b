#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/ref.h"
#include "planner/planner.h"

static const char usage[] =
	"usage: databuild configure [--timeout SECONDS] REF...\n"
	"\n"
	"Look up the job of each partition REF, run each job's configure once with\n"
	"all of its refs, and print the job configs they return, grouped per job:\n"
	"{\"job label\": [JobConfig...]}. Nothing is built.\n"
	"\n"
	"options:\n"
	"  --timeout SECONDS    kill a configure (or lookup) after this long (default 60)\n"
	"  -h, --help           this text\n"
	"\n"
	"exit status: 0 ok, 2 invalid ref, failed lookup or configure, bad graph\n";

static int valid_refs(const struct strvec *refs)
{
	int ok = 1;

	for (size_t i = 0; i < refs->nr; i++) {
		struct strbuf err = STRBUF_INIT;

		if (ref_validate(refs->v[i], &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			ok = 0;
		}
		strbuf_release(&err);
	}
	return ok;
}

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
		if (planner_configure(&cli->graph, jobs[i], &group, timeout_ms, &list, &err) < 0) {
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

int cmd_configure(struct cli *cli, int argc, char **argv)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct job **jobs = NULL;
	cJSON *result = NULL;
	long timeout_s = 60;
	int opts_done = 0;
	int ret = EXIT_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *value = NULL;

		if (opts_done || a[0] != '-' || !a[1]) {
			if (strvec_find(&refs, a) < 0)
				strvec_push(&refs, a);
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out;
		} else if (!strncmp(a, "--timeout=", 10) || !strcmp(a, "--timeout")) {
			value = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (!value) {
				cli_error(EXIT_USAGE, "option '--timeout' needs a value");
				goto out;
			}
			if (cli_parse_long("--timeout", value, 1, 86400, &timeout_s) < 0)
				goto out;
		} else {
			cli_error(EXIT_USAGE, "unknown option '%s' (see 'databuild configure --help')",
				  a);
			goto out;
		}
	}
	if (!refs.nr) {
		cli_error(EXIT_USAGE, "no REF given (see 'databuild configure --help')");
		goto out;
	}
	if (!valid_refs(&refs) || cli_load_graph(cli) < 0)
		goto out;
	jobs = xcalloc(refs.nr, sizeof(*jobs));
	if (planner_lookup(&cli->graph, &refs, jobs, timeout_s * 1000, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	result = cJSON_CreateObject();
	if (configure_all(cli, &refs, jobs, timeout_s * 1000, result) < 0)
		goto out;
	json_print_pretty(result, &out);
	strbuf_addch(&out, '\n');
	fwrite(out.buf, 1, out.len, stdout);
	if (fflush(stdout) == EOF) {
		cli_error(EXIT_FAILED, "cannot write to stdout");
		ret = EXIT_FAILED;
		goto out;
	}
	ret = EXIT_OK;
out:
	cJSON_Delete(result);
	free(jobs);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&out);
	return ret;
}
