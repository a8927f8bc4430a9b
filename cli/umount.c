#include <stdio.h>

#include "cli/cli.h"
#include "fs/fs.h"

/* `databuild umount MOUNTPOINT`: also clears a mount whose daemon died. */

static const struct cli_usage usage = {
	.cmd = "umount",
	.head = "usage: databuild umount MOUNTPOINT\n"
		"\n"
		"Unmount a databuild filesystem. Its daemon answers every waiting reader,\n"
		"cancels running jobs and exits. A mount whose daemon has died (\"transport\n"
		"endpoint is not connected\") is detached lazily.\n",
};

int cmd_umount(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	const struct cli_option options[] = { OPT_END() };
	int n = cli_parse_options(argc, argv, &usage, options, 0), code = EXIT_OK;

	if (n < 0)
		return cli_parse_exit(n);
	if (n != 1) {
		cli_usage_print(stderr, &usage, options);
		return EXIT_USAGE;
	}
	if (fs_unmount(argv[0], &err) < 0)
		code = cli_fail(EXIT_USAGE, &err);
	strbuf_release(&err);
	return code;
}
