#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "fs/fs.h"

/* `databuild umount MOUNTPOINT`: also clears a mount whose daemon died. */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: databuild umount MOUNTPOINT\n"
		"\n"
		"Unmount a databuild filesystem. Its daemon answers every waiting reader,\n"
		"cancels running jobs and exits. A mount whose daemon has died (\"transport\n"
		"endpoint is not connected\") is detached lazily.\n");
}

int cmd_umount(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT;
	int code = EXIT_OK;

	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (fs_unmount(argv[1], &err) < 0)
		code = cli_fail(EXIT_USAGE, &err);
	strbuf_release(&err);
	return code;
}
