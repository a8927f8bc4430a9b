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

int cmd_lookup(struct cli *cli, int argc, char **argv)
{
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	const struct job **jobs = NULL;
	cJSON *json = NULL;
	long timeout_s = 60;
	int as_json = 0, opts_done = 0;
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
		} else if (!strcmp(a, "--json")) {
			as_json = 1;
		} else if (!strncmp(a, "--timeout=", 10) || !strcmp(a, "--timeout")) {
			value = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
			if (!value) {
				cli_error(EXIT_USAGE, "option '--timeout' needs a value");
				goto out;
			}
			if (cli_parse_long("--timeout", value, 1, 86400, &timeout_s) < 0)
				goto out;
		} else {
			cli_error(EXIT_USAGE, "unknown option '%s' (see 'databuild lookup --help')", a);
			goto out;
		}
	}
	if (!refs.nr) {
		cli_error(EXIT_USAGE, "no REF given (see 'databuild lookup --help')");
		goto out;
	}
	if (!valid_refs(&refs) || cli_load_graph(cli) < 0)
		goto out;
	jobs = xcalloc(refs.nr, sizeof(*jobs));
	if (planner_lookup(&cli->graph, &refs, jobs, timeout_s * 1000, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
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
	if (fflush(stdout) == EOF) {
		cli_error(EXIT_FAILED, "cannot write to stdout");
		ret = EXIT_FAILED;
		goto out;
	}
	ret = EXIT_OK;
out:
	cJSON_Delete(json);
	free(jobs);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&out);
	return ret;
}
