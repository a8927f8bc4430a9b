#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"

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

void cli_release(struct cli *cli)
{
	if (cli->catalog_opened)
		catalog_close(&cli->catalog);
	if (cli->store_opened)
		store_release(&cli->store);
	if (cli->graph_loaded)
		graph_release(&cli->graph);
	cli->catalog_opened = cli->store_opened = cli->graph_loaded = 0;
}
