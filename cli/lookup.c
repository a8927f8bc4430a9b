#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/ref.h"
#include "planner/planner.h"

static const char usage[] =
	"usage: databuild lookup [--json] [--timeout SECONDS] REF...\n"
	"\n"
	"Print the job that produces each partition REF: one 'REF<TAB>LABEL' line\n"
	"per ref, or with --json one object {\"job label\": [refs...]}. Uses the\n"
	"graph's lookup executable if it has one, else the jobs' output patterns.\n"
	"\n"
	"options:\n"
	"  --json               print JSON\n"
	"  --timeout SECONDS    kill the lookup executable after this long (default 60)\n"
	"  -h, --help           this text\n"
	"\n"
	"exit status: 0 ok, 2 invalid ref, no or several jobs for a ref, bad graph\n";

static int lookup_jobs(struct cli *cli, const char *cmd, const struct strvec *refs,
		       long timeout_s, const struct job ***jobs)
{
	struct strbuf err = STRBUF_INIT;
	int ret = -1, bad = 0;

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
	if (planner_lookup(&cli->graph, refs, *jobs, timeout_s * 1000, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&err);
	return ret;
}

int lookup_args(struct cli *cli, int argc, char **argv, const char *help,
		struct strvec *refs, long *timeout_s, int *as_json, const struct job ***jobs)
{
	int opts_done = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r;

		if (opts_done || a[0] != '-' || !a[1]) {
			if (strvec_find(refs, a) < 0)
				strvec_push(refs, a);
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(help, stdout);
			return 1;
		} else if (as_json && !strcmp(a, "--json")) {
			*as_json = 1;
		} else if ((r = cli_opt_long(argc, argv, &i, "--timeout", 1, 86400, timeout_s))) {
			if (r < 0)
				return -1;
		} else {
			return cli_error(-1, "unknown option '%s' (see 'databuild %s --help')", a,
					 argv[0]);
		}
	}
	return lookup_jobs(cli, argv[0], refs, *timeout_s, jobs);
}

int cmd_lookup(struct cli *cli, int argc, char **argv)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct job **jobs = NULL;
	cJSON *json = NULL;
	long timeout_s = 60;
	int as_json = 0, ret = EXIT_USAGE, r;

	if ((r = lookup_args(cli, argc, argv, usage, &refs, &timeout_s, &as_json, &jobs))) {
		ret = r > 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (as_json) {
		json = cJSON_CreateObject();
		for (size_t i = 0; i < refs.nr; i++) {
			cJSON *arr = cJSON_GetObjectItemCaseSensitive(json, jobs[i]->label);

			if (!arr)
				arr = cJSON_AddArrayToObject(json, jobs[i]->label);
			cJSON_AddItemToArray(arr, cJSON_CreateString(refs.v[i]));
		}
		json_print_pretty(json, &out);
		strbuf_addch(&out, '\n');
	} else {
		for (size_t i = 0; i < refs.nr; i++)
			strbuf_addf(&out, "%s\t%s\n", refs.v[i], jobs[i]->label);
	}
	fwrite(out.buf, 1, out.len, stdout);
	ret = fflush(stdout) == EOF ? cli_error(EXIT_FAILED, "cannot write to stdout") : EXIT_OK;
out:
	cJSON_Delete(json);
	free(jobs);
	strvec_clear(&refs);
	strbuf_release(&out);
	return ret;
}
