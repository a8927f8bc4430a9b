#include <stdio.h>

#include "cli/cli.h"
#include "fs/fs.h"

/*
 * `databuild reload MOUNTPOINT`: asks the mount's daemon to reload its
 * graph file now (fs_reload) and reports its answer.
 */

static const struct cli_usage usage = {
	.cmd = "reload",
	.head = "usage: databuild reload MOUNTPOINT\n"
		"\n"
		"Reload the graph file of the databuild mount at MOUNTPOINT now (the daemon\n"
		"also reloads it by itself when the file changes). A broken graph file is\n"
		"refused and the graph in force stays; builds that are running finish under\n"
		"the graph they started with. Command domains run again.\n",
	.tail = "exit status: 0 reloaded, 2 usage, not a databuild mount, or the graph file\n"
		"was refused (the reason is printed)\n",
};

int cmd_reload(struct cli *cli, int argc, char **argv)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	const struct cli_option options[] = { OPT_END() };
	int n = cli_parse_options(argc, argv, &usage, options, 0), code = EXIT_OK;

	if (n < 0)
		return cli_parse_exit(n);
	if (n != 1) {
		cli_usage_print(stderr, &usage, options);
		return EXIT_USAGE;
	}
	switch (fs_reload(argv[0], &out, &err)) {
	case 0:
		printf("reloaded the graph of '%s': %s\n", argv[0], out.buf);
		break;
	case 1:
		code = cli_error(EXIT_USAGE, "reload of '%s' refused: %s", argv[0], err.buf);
		break;
	default:
		code = cli_fail(EXIT_USAGE, &err);
		break;
	}
	strbuf_release(&out);
	strbuf_release(&err);
	return code;
}
