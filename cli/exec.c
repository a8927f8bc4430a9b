#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
	"usage: databuild exec [-j N] [--events FILE] REF...\n"
	"\n"
	"Configure the job(s) that produce REF... and run exactly those configs, without\n"
	"planning their inputs: every input must already be live. The runs always\n"
	"happen, even if the outputs are live and fresh.\n"
	"\n"
	"options:\n"
	"  -j, --jobs N      run at most N jobs at once (default: number of cores;\n"
	"                    32 with --executor slurm)\n"
	"  --events FILE     also write every build event to FILE as JSON lines\n"
	"  -h, --help        this text\n"
	"\n"
	"exit status: 0 all built, 1 some job failed, 2 usage, graph, configure error or\n"
	"an input that is not live, 130 interrupted\n";

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	return build_cmd(cli, argc, argv, usage, 1);
}
