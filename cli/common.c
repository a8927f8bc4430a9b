#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"
#include "core/fingerprint.h"
#include "core/strmap.h"
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

/* The store's root into root: --store, else .databuild beside the graph. 0, or -1 (printed). */
static int store_root(struct cli *cli, struct strbuf *root)
{
	if (cli->store_path) {
		strbuf_addstr(root, cli->store_path);
		return 0;
	}
	if (cli_load_graph(cli) < 0)
		return -1;
	strbuf_addf(root, "%s/.databuild", cli->graph.dir);
	return 0;
}

static int open_store(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	struct strbuf root = STRBUF_INIT;
	int ret = -1;

	if (cli->store_opened)
		return 0;
	if (store_root(cli, &root) < 0)
		goto out;
	if (store_open(&cli->store, root.buf, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	/* executables' and scripts' hashes, kept for the next command */
	strbuf_reset(&root);
	store_path(&cli->store, STORE_HASHES_DIR, &root);
	fingerprint_keep_in(root.buf);
	cli->store_opened = 1;
	ret = 0;
out:
	strbuf_release(&root);
	strbuf_release(&err);
	return ret;
}

/*
 * A store made before objects/ is migrated by the first command that opens
 * its catalog (docs/operations.md, "Upgrading"); once done, this reads
 * store.format alone. 0, or -1 (printed).
 */
static int migrate_store(struct catalog *c)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (catalog_migrate_objects(c, &err) < 0)
		ret = cli_fail(-1, &err);
	strbuf_release(&err);
	return ret;
}

/*
 * Commands that open the store without the catalog (mount: its daemon
 * opens catalogs of its own) migrate it here, through a catalog of their
 * own; one that does not open is left to the command, which reports it.
 */
int cli_open_store(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;
	struct catalog c;
	int ret = -1, r;

	if (cli->store_opened)
		return 0;
	memset(&c, 0, sizeof(c));
	if (open_store(cli) < 0)
		goto out;
	r = store_format_has(&cli->store, STORE_FORMAT_OBJECTS, &err);
	if (r < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (!r && catalog_open(&c, &cli->store, cli->catalog_location, &err) == 0) {
		r = migrate_store(&c);
		catalog_close(&c);
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	strbuf_release(&err);
	return ret;
}

int cli_open_catalog(struct cli *cli)
{
	struct strbuf err = STRBUF_INIT;

	if (cli->catalog_opened)
		return 0;
	if (open_store(cli) < 0)
		return -1;
	if (catalog_open(&cli->catalog, &cli->store, cli->catalog_location, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		strbuf_release(&err);
		return -1;
	}
	cli->catalog_opened = 1;
	return migrate_store(&cli->catalog);
}

int cli_open_catalog_if_any(struct cli *cli)
{
	struct strbuf root = STRBUF_INIT;
	struct stat st;
	int ret = -1;

	if (cli->catalog_opened)
		return 1;
	if (store_root(cli, &root) < 0)
		goto out;
	if (stat(root.buf, &st) < 0)
		ret = 0;
	else
		ret = cli_open_catalog(cli) < 0 ? -1 : 1;
out:
	strbuf_release(&root);
	return ret;
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

/*
 * 1 if arg (which matches p of job j) selects through a glob or a range
 * in a placeholder value: a value that is not plain text, unless it is
 * itself a value of its domain (model/domain.h). On an open-ended
 * placeholder a glob counts, so that expanding it fails naming the
 * variable; ".." there is ordinary text (there is no order to take a
 * range in, and names such as "..%2f" or "a..b" are refs like any other).
 */
static int arg_is_selection(const struct job *j, const struct pattern *p, const char *arg)
{
	struct strvec values = STRVEC_INIT;
	int ret = 0;

	if (!pattern_match(p, arg, &values))
		goto out;
	for (size_t k = 0; k < values.nr && !ret; k++) {
		struct domain *d = job_domain(j, p->names.v[k]);

		enum domain_expr kind = domain_expr_kind(values.v[k]);

		if (kind == DOMAIN_EXPR_VALUE)
			continue;
		if (!d)
			ret = kind == DOMAIN_EXPR_GLOB;
		else
			ret = domain_contains(d, values.v[k], NULL) != 1;
	}
out:
	strvec_clear(&values);
	return ret;
}

/* Appends ref to r unless it is there already. */
static void refs_add(struct cli_refs *r, const char *ref)
{
	if (strmap_contains(&r->seen, ref))
		return;
	strmap_put(&r->seen, ref, (void *)(uintptr_t)(r->refs.nr + 1));
	strvec_push(&r->refs, ref);
}

/* Shortens *len to the common prefix of ref[0..*len) and s. */
static void common_prefix(const char *ref, size_t *len, const char *s)
{
	size_t n = 0;

	while (n < *len && ref[n] == s[n])
		n++;
	*len = n;
}

/* The refs of the selection arg of job j (pattern p) into r: 0, or -1 with err. */
static int expand_selection(struct cli_refs *r, const struct job *j, const struct pattern *p,
			    const char *arg, struct strbuf *err)
{
	struct space_iter it;
	char *first = NULL;
	size_t nr = 0, lcp = 0;
	int ret = -1;

	if (space_iter_init(&it, j, p, arg, err) < 0)
		return -1;
	for (const char *ref; (ref = space_iter_next(&it)); nr++) {
		if (!first) {
			first = xstrdup(ref);
			lcp = strlen(first);
		} else {
			common_prefix(first, &lcp, ref);
		}
		refs_add(r, ref);
	}
	if (!nr) {
		strbuf_addf(err, "'%s' selects no partition of job '%s' (pattern '%s')", arg,
			    j->label, p->text);
		goto out;
	}
	first[lcp] = '\0';
	strvec_push(&r->prefixes, first);
	r->selected += nr;
	r->selections++;
	ret = 0;
out:
	free(first);
	space_iter_release(&it);
	return ret;
}

/*
 * One argument into r: a plain ref (checked against its job's space when
 * a pattern claims it) or, with CLI_REFS_SELECT, a selection. 0, or -1
 * with err.
 */
static int expand_arg(struct cli *cli, struct cli_refs *r, const char *arg, unsigned flags,
		      struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	const struct pattern *p;
	const struct job *j;
	int ret = -1;

	if (ref_validate(arg, err) < 0)
		goto out;
	/* No job, or two: the planner (or the graph's lookup executable) answers. */
	j = graph_lookup(&cli->graph, arg, &why);
	p = j ? job_match(j, arg) : NULL;
	if (p && (flags & CLI_REFS_SELECT) && arg_is_selection(j, p, arg)) {
		ret = expand_selection(r, j, p, arg, err);
		goto out;
	}
	if (p && job_space_contains(j, p, arg, err) != 1)
		goto out;
	refs_add(r, arg);
	strvec_push(&r->prefixes, arg);
	r->selected++;
	ret = 0;
out:
	strbuf_release(&why);
	return ret;
}

int cli_refs_expand(struct cli *cli, struct cli_refs *r, int nargs, char **args,
		    unsigned flags)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (cli_load_graph(cli) < 0)
		return -1;
	for (int i = 0; i < nargs && !ret; i++)
		if (expand_arg(cli, r, args[i], flags, &err) < 0)
			ret = cli_fail(-1, &err);
	strbuf_release(&err);
	return ret;
}

void cli_refs_release(struct cli_refs *r)
{
	strvec_clear(&r->refs);
	strvec_clear(&r->prefixes);
	strmap_clear(&r->seen);
	r->selected = r->selections = 0;
}
