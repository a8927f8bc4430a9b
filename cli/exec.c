#include <stdio.h>

#include "cli/cli.h"

static const struct cli_usage usage = {
	.cmd = "exec",
	.head = "usage: databuild exec [-j N] [--events FILE] REF...\n"
		"\n"
		"Configure the job(s) that produce REF... and run exactly those configs, without\n"
		"planning their inputs: every input must already be live. The runs always\n"
		"happen, even if the outputs are live and fresh.\n",
	.tail = "exit status: 0 all built, 1 some job failed, 2 usage, graph, configure error or\n"
		"an input that is not live, 130 interrupted\n",
};

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	struct build_request r = BUILD_REQUEST_INIT;
	const struct cli_option options[] = {
		OPT_JOBS(&r.o.jobs, build_jobs_help),
		OPT_EVENTS(&r.events_path),
		OPT_END(),
	};
	int n = build_request_parse(&r, argc, argv, &usage, options);

	return n < 0 ? cli_parse_exit(n) : build_request_run(cli, &r, 1);
}
