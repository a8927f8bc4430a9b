#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "model/ref.h"
#include "planner/planner.h"

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

int cli_write_stdout(const struct strbuf *out)
{
	fwrite(out->buf, 1, out->len, stdout);
	return fflush(stdout) == EOF ? cli_error(EXIT_FAILED, "cannot write to stdout") : EXIT_OK;
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

	if (executor_check(&cli->backend, &err) < 0) {
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
	backend_opts_release(&cli->backend);
}

int cli_opt_freshness(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	int f = freshness_parse(arg);

	if (f < 0) {
		strbuf_addf(err, "unknown freshness '%s' (expected presence or keys)", arg);
		return -1;
	}
	*(enum freshness *)opt->value = (enum freshness)f;
	return 0;
}

int cli_ref_partition(struct cli *cli, const char *cmd, int nargs, char **args,
		      struct partition *p)
{
	struct strbuf err = STRBUF_INIT;
	int ret = -1;

	if (!nargs)
		return cli_error(-1, "%s: missing REF (usage: databuild %s REF [--json])", cmd,
				 cmd);
	if (nargs > 1)
		return cli_error(-1, "%s: one REF only, got '%s' and '%s'", cmd, args[0], args[1]);
	if (ref_validate(args[0], &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	ret = catalog_get_partition(&cli->catalog, args[0], p, &err);
	if (ret < 0)
		cli_fail(EXIT_USAGE, &err);
out:
	strbuf_release(&err);
	return ret;
}
