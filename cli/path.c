#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"

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
	struct strbuf path = STRBUF_INIT;
	struct partition p;
	const char *ref = NULL;
	int json = 0, ret = EXIT_USAGE;

	partition_init(&p);
	if (cli_wants_help(argc, argv)) {
		path_usage(stdout);
		return EXIT_OK;
	}
	if (cli_ref_partition(cli, argc, argv, &ref, &json, &p) < 0)
		goto out;
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
	return ret;
}
