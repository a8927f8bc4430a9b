#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/json.h"

static const struct cli_usage usage = {
	.cmd = "path",
	.head = "usage: databuild path REF [--json]\n"
		"\n"
		"Print where the data of the live partition REF is in the store\n"
		"(<store>/data/REF). Exits 1 if REF is not live.\n",
};

static void print_path(const char *ref, const char *path, int json)
{
	cJSON *o;
	struct strbuf line = STRBUF_INIT;

	if (!json) {
		printf("%s\n", path);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ref", ref);
	cJSON_AddStringToObject(o, "path", path);
	json_print(o, &line);
	printf("%s\n", line.buf);
	strbuf_release(&line);
	cJSON_Delete(o);
}

/* Prints where the data of the live partition REF is: an exit code. */
static int path_print(struct cli *cli, int nargs, char **args, int json)
{
	struct strbuf path = STRBUF_INIT, why = STRBUF_INIT, err = STRBUF_INIT;
	struct partition p;
	int ret = EXIT_USAGE, damaged;

	partition_init(&p);
	if (cli_ref_partition(cli, "path", nargs, args, &p) < 0)
		goto out;
	if (p.status != PART_LIVE) {
		ret = cli_error(EXIT_FAILED, "'%s' is not live (status: %s)", args[0],
				part_status_name(p.status));
		goto out;
	}
	store_data_path(&cli->store, args[0], &path);
	/* a path is handed out only to data that is what was published */
	damaged = catalog_check_data(&cli->catalog, &p, &why, &err);
	if (damaged < 0) {
		ret = cli_fail(EXIT_FAILED, &err);
		goto out;
	}
	if (damaged) {
		ret = cli_error(EXIT_FAILED, "partition '%s' is damaged (%s): %s; it is now marked "
				"damaged, and reading or building it rebuilds it", args[0], path.buf,
				why.buf);
		goto out;
	}
	print_path(args[0], path.buf, json);
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	partition_release(&p);
	strbuf_release(&path);
	strbuf_release(&why);
	strbuf_release(&err);
	return ret;
}

int cmd_path(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json, "{\"ref\": REF, \"path\": PATH} instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : path_print(cli, n, argv, json);
}
