#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "core/ref.h"

static void path_usage(FILE *f)
{
	fprintf(f,
		"usage: databuild path REF [--json]\n"
		"\n"
		"Print where the data of the live partition REF is in the store\n"
		"(<store>/data/REF). Exits 1 if REF is not live.\n"
		"\n"
		"  --json   {\"ref\": REF, \"path\": PATH} instead\n");
}

int cmd_path(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT;
	struct partition p;
	const char *ref = NULL;
	int json = 0, ret = EXIT_USAGE, rc;

	partition_init(&p);
	if (cli_wants_help(argc, argv)) {
		path_usage(stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error(EXIT_USAGE, "path: unknown option '%s' (see 'databuild path --help')",
				  argv[i]);
			goto out;
		} else if (ref) {
			cli_error(EXIT_USAGE, "path: one REF only, got '%s' and '%s'", ref, argv[i]);
			goto out;
		} else {
			ref = argv[i];
		}
	}
	if (!ref) {
		cli_error(EXIT_USAGE, "path: missing REF (usage: databuild path REF [--json])");
		goto out;
	}
	if (ref_validate(ref, &err) < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	if ((rc = catalog_get_partition(&cli->catalog, ref, &p, &err)) < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (p.status != PART_LIVE) {
		ret = cli_error(EXIT_FAILED, "'%s' is not live (status: %s)", ref,
				part_status_name(p.status));
		goto out;
	}
	store_data_path(&cli->store, ref, &path);
	if (json) {
		cJSON *o = cJSON_CreateObject();
		struct strbuf line = STRBUF_INIT;

		cJSON_AddStringToObject(o, "ref", ref);
		cJSON_AddStringToObject(o, "path", path.buf);
		json_print(o, &line);
		printf("%s\n", line.buf);
		strbuf_release(&line);
		cJSON_Delete(o);
	} else {
		printf("%s\n", path.buf);
	}
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	partition_release(&p);
	strbuf_release(&path);
	strbuf_release(&err);
	return ret;
}
