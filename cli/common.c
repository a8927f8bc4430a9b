#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "core/ref.h"

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("databuild: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_fail(int code, const struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;

	strbuf_addbuf(&msg, err);
	strbuf_rtrim(&msg);
	cli_error(code, "%s", msg.len ? msg.buf : "unknown error");
	strbuf_release(&msg);
	return code;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int cli_parse_long(const char *opt, const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		cli_error(EXIT_USAGE, "option '%s': expected an integer from %ld to %ld, got '%s'",
			  opt, min, max, text);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_load_graph(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	const char *path = cli->graph_path ? cli->graph_path : "databuild.json";

	if (cli->graph_loaded)
		return 0;
	if (graph_load(&cli->graph, path, &err) < 0) {
		if (!cli->graph_path && access(path, F_OK) < 0)
			cli_error(EXIT_USAGE, "no graph file: '%s' not found in the current "
				  "directory (use --graph FILE or $DATABUILD_GRAPH)", path);
		else
			cli_fail(EXIT_USAGE, &err);
		strbuf_release(&err);
		return -1;
	}
	cli->graph_loaded = 1;
	return 0;
}

int cli_open_store(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	struct strbuf root = STRBUF_INIT;
	int ret = -1;

	if (cli->store_opened)
		return 0;
	if (cli->store_path) {
		strbuf_addstr(&root, cli->store_path);
	} else {
		if (cli_load_graph(cli) < 0)
			goto out;
		strbuf_addf(&root, "%s/.databuild", cli->graph.dir);
	}
	if (store_open(&cli->store, root.buf, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	cli->store_opened = 1;
	ret = 0;
out:
	strbuf_release(&root);
	strbuf_release(&err);
	return ret;
}

int cli_open_catalog(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;

	if (cli->catalog_opened)
		return 0;
	if (cli_open_store(cli) < 0)
		return -1;
	if (catalog_open(&cli->catalog, &cli->store, cli->catalog_location, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		strbuf_release(&err);
		return -1;
	}
	cli->catalog_opened = 1;
	return 0;
}

int cli_check_executor(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (executor_check(cli->executor, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		ret = -1;
	}
	strbuf_release(&err);
	return ret;
}

void cli_release(struct cli *cli)
{
	if (cli->catalog_opened)
		catalog_close(&cli->catalog);
	if (cli->store_opened)
		store_release(&cli->store);
	if (cli->graph_loaded)
		graph_release(&cli->graph);
	cli->catalog_opened = cli->store_opened = cli->graph_loaded = 0;
	strvec_clear(&cli->slurm_opts);
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
		  const char **out)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strncmp(a, name, n) && a[n] == '=') {
		*out = a + n + 1;
		return 1;
	}
	if (strcmp(a, name))
		return 0;
	if (*i + 1 >= argc) {
		cli_error(EXIT_USAGE, "%s%soption '%s' needs a value", cmd ? cmd : "",
			  cmd ? ": " : "", name);
		return -1;
	}
	*out = argv[++*i];
	return 1;
}

int cli_opt_long(int argc, char **argv, int *i, const char *name, long min, long max,
		 long *out)
{
	const char *v;
	int r = cli_opt_value(NULL, argc, argv, i, name, &v);

	if (r > 0 && cli_parse_long(name, v, min, max, out) < 0)
		return -1;
	return r;
}

int cli_ref_partition(struct cli *cli, int argc, char **argv, const char **ref, int *json,
		      struct partition *p)
{
	struct strbuf err = STRBUF_INIT;
	const char *cmd = argv[0];
	int ret = -1;

	*ref = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error(EXIT_USAGE, "%s: unknown option '%s' (see 'databuild %s --help')",
				  cmd, argv[i], cmd);
			goto out;
		} else if (*ref) {
			cli_error(EXIT_USAGE, "%s: one REF only, got '%s' and '%s'", cmd, *ref, argv[i]);
			goto out;
		} else {
			*ref = argv[i];
		}
	}
	if (!*ref) {
		cli_error(EXIT_USAGE, "%s: missing REF (usage: databuild %s REF [--json])", cmd, cmd);
		goto out;
	}
	if (ref_validate(*ref, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	ret = catalog_get_partition(&cli->catalog, *ref, p, &err);
	if (ret < 0)
		cli_fail(EXIT_USAGE, &err);
out:
	strbuf_release(&err);
	return ret;
}
