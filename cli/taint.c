#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/ref.h"

static void taint_usage(FILE *f)
{
	fprintf(f,
		"usage: databuild taint REF... [--downstream] [--json]\n"
		"\n"
		"Mark partitions tainted: they are rebuilt the next time they are\n"
		"requested. Prints every partition whose status changed.\n"
		"\n"
		"  --downstream   also mark stale every live partition built from them,\n"
		"                 transitively (through the manifests of their builds)\n"
		"  --json         one {\"ref\", \"status\"} object per line instead\n");
}

int cmd_taint(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	struct strvec refs = STRVEC_INIT, changed = STRVEC_INIT;
	int json = 0, downstream = 0, ret = EXIT_USAGE;

	if (cli_wants_help(argc, argv)) {
		taint_usage(stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--downstream")) {
			downstream = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error(EXIT_USAGE, "taint: unknown option '%s' (see 'databuild taint --help')",
				  argv[i]);
			goto out;
		} else if (ref_validate(argv[i], &err) < 0) {
			ret = cli_fail(EXIT_USAGE, &err);
			goto out;
		} else {
			strvec_push(&refs, argv[i]);
		}
	}
	if (!refs.nr) {
		cli_error(EXIT_USAGE, "taint: missing REF (usage: databuild taint REF... "
			  "[--downstream])");
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	if (catalog_taint(&cli->catalog, &refs, downstream, 0, &changed, &err) < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	for (size_t i = 0; i < changed.nr; i++) {
		struct partition p;

		if (catalog_get_partition(&cli->catalog, changed.v[i], &p, &err) < 0) {
			ret = cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		strbuf_reset(&line);
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "ref", p.ref);
			cJSON_AddStringToObject(o, "status", part_status_name(p.status));
			json_print(o, &line);
			cJSON_Delete(o);
		} else {
			strbuf_addf(&line, "%-8s %s", part_status_name(p.status), p.ref);
		}
		printf("%s\n", line.buf);
		partition_release(&p);
	}
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	strvec_clear(&refs);
	strvec_clear(&changed);
	strbuf_release(&line);
	strbuf_release(&err);
	return ret;
}
