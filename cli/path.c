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
	struct strbuf path = STRBUF_INIT;
	struct partition p;
	struct stat st;
	int ret = EXIT_USAGE, fd;

	partition_init(&p);
	if (cli_ref_partition(cli, "path", nargs, args, &p) < 0)
		goto out;
	if (p.status != PART_LIVE) {
		ret = cli_error(EXIT_FAILED, "'%s' is not live (status: %s)", args[0],
				part_status_name(p.status));
		goto out;
	}
	store_data_path(&cli->store, args[0], &path);
	fd = store_open_data(&cli->store, args[0], O_PATH);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = ELOOP;
	}
	if (fd < 0 && errno == ELOOP) {
		ret = cli_error(EXIT_FAILED, "partition '%s': its data file '%s' is a symbolic "
				"link", args[0], path.buf);
		goto out;
	}
	if (fd < 0) {
		ret = cli_error(EXIT_FAILED, "partition '%s': cannot open its data file '%s': %s",
				args[0], path.buf, strerror(errno));
		goto out;
	}
	close(fd);
	print_path(args[0], path.buf, json);
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	partition_release(&p);
	strbuf_release(&path);
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
