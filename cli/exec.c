#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "executor/executor.h"

static const char usage[] =
	"usage: databuild exec [-j N] [--events FILE] REF...\n"
	"\n"
	"Configure the job(s) that produce REF... and run exactly those configs, without\n"
	"planning their inputs: every input must already be live. The runs always\n"
	"happen, even if the outputs are live and fresh.\n"
	"\n"
	"options:\n"
	"  -j, --jobs N      run at most N jobs at once (default: number of cores)\n"
	"  --events FILE     also write every build event to FILE as JSON lines\n"
	"  -h, --help        this text\n"
	"\n"
	"exit status: 0 all built, 1 some job failed, 2 usage, graph, configure error or\n"
	"an input that is not live, 130 interrupted\n";

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	struct executor_opts o = EXECUTOR_OPTS_INIT;
	struct strvec refs = STRVEC_INIT;
	const char *events_path = NULL;
	FILE *events = NULL;
	int ret = EXIT_USAGE, opts_done = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int matched;

		if (opts_done || a[0] != '-' || !a[1]) {
			if (build_collect_refs(a, &refs) < 0)
				goto out;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = 1;
			continue;
		}
		if (build_parse_common(argc, argv, &i, &o, &events_path, &matched) < 0)
			goto out;
		if (!matched) {
			cli_error(EXIT_USAGE, "exec: unknown option '%s' (see 'databuild exec --help')", a);
			goto out;
		}
	}
	if (!refs.nr) {
		fputs(usage, stderr);
		goto out;
	}
	if (events_path) {
		events = fopen(events_path, "we");
		if (!events) {
			cli_error(EXIT_USAGE, "cannot open '%s': %s", events_path, strerror(errno));
			goto out;
		}
		o.events_out = events;
	}
	ret = build_refs_run(cli, 1, &refs, &o, stdout, 0);
out:
	if (events && fclose(events) != 0 && ret == EXIT_OK)
		ret = cli_error(EXIT_FAILED, "cannot write '%s': %s", events_path, strerror(errno));
	strvec_clear(&refs);
	return ret;
}
