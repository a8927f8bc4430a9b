#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "model/ref.h"

/*
 * databuild history and rollback: a partition's versions, and making an
 * earlier one current again (docs/design/history.md).
 */

static const struct cli_usage history_usage = {
	.cmd = "history",
	.head = "usage: databuild history REF [--json]\n"
		"\n"
		"List the versions of the partition REF, oldest first: every publish, named\n"
		"by its UTC publish time with microseconds, with its run, size, sha256 and\n"
		"build key; '*' marks the current one. Their bytes are readable through the\n"
		"mount under .databuild/history/REF/. Exits 1 if REF has no version.\n",
};

static const struct cli_usage rollback_usage = {
	.cmd = "rollback",
	.head = "usage: databuild rollback REF [VERSION] [--json]\n"
		"\n"
		"Make an earlier version of REF current again: VERSION is a name from\n"
		"'databuild history REF' or its run id; without it, the version that was\n"
		"current before the current one. The bytes are checked against the\n"
		"version's sha256 first. Partitions built from REF become stale.\n",
	.tail = "exit status: 0 rolled back, 1 the version's bytes are gone or changed,\n"
		"2 usage, unknown REF or VERSION, or REF is being built\n",
};

/* REF, validated, and the catalog open: 0, or -1 (printed; exit 2). */
static int one_ref(struct cli *cli, const char *cmd, int nargs, char **args, int max)
{
	struct strbuf err = STRBUF_INIT;
	int ret = -1;

	if (nargs < 1 || nargs > max)
		cli_error(-1, "%s: expected %s (see 'databuild %s --help')", cmd,
			  max == 1 ? "one REF" : "REF [VERSION]", cmd);
	else if (ref_validate(args[0], &err) < 0)
		cli_fail(-1, &err);
	else if (cli_open_catalog(cli) == 0)
		ret = 0;
	strbuf_release(&err);
	return ret;
}

static void print_version(const struct version *v, int json, struct strbuf *line)
{
	strbuf_reset(line);
	if (json) {
		cJSON *o = version_to_json(v);

		json_print(o, line);
		cJSON_Delete(o);
	} else {
		catalog_format_version_name(v->time_us, line);
		strbuf_addf(line, " %c %-8s %12lld  %.12s  %.12s", v->current ? '*' : ' ',
			    v->run_id ? v->run_id : "-", (long long)v->size, v->sha256,
			    v->build_key[0] ? v->build_key : "-");
	}
	strbuf_addch(line, '\n');
	fwrite(line->buf, 1, line->len, stdout);
}

static int history_print(struct cli *cli, int nargs, char **args, int json)
{
	struct version_list l = VERSION_LIST_INIT;
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	int ret = EXIT_USAGE;

	if (one_ref(cli, "history", nargs, args, 1) < 0)
		goto out;
	if (catalog_list_versions(&cli->catalog, args[0], &l, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (!l.nr) {
		ret = cli_error(EXIT_FAILED, "'%s' has no versions (it was never published)",
				args[0]);
		goto out;
	}
	if (!json)
		printf("%-27s   %-8s %12s  %-12s  %s\n", "VERSION", "RUN", "SIZE", "SHA256",
		       "BUILD KEY");
	for (size_t i = 0; i < l.nr; i++)
		print_version(&l.items[i], json, &line);
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	version_list_release(&l);
	strbuf_release(&err);
	strbuf_release(&line);
	return ret;
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json, "one version object per line instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &history_usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : history_print(cli, n, argv, json);
}

/*
 * The version to roll back to: which (a name or a run id), or the newest
 * one published before the current one. 1 found (*v), 0 (printed), -1.
 */
static int rollback_target(struct cli *cli, const char *ref, const char *which,
			   struct version *v, struct strbuf *err)
{
	struct version_list l = VERSION_LIST_INIT;
	size_t cur = (size_t)-1;
	int r;

	if (which) {
		r = catalog_get_version(&cli->catalog, ref, which, v, err);
		if (r == 0)
			cli_error(-1, "rollback: '%s' has no version '%s' (see 'databuild history "
				  "%s')", ref, which, ref);
		return r;
	}
	if (catalog_list_versions(&cli->catalog, ref, &l, err) < 0)
		return -1;
	for (size_t i = 0; i < l.nr; i++)
		if (l.items[i].current)
			cur = i;
	r = 0;
	if (!l.nr)
		cli_error(-1, "rollback: '%s' has no versions (it was never published)", ref);
	else if (cur == (size_t)-1)
		cli_error(-1, "rollback: '%s' has no current version (it was removed); name the "
			  "version to restore (see 'databuild history %s')", ref, ref);
	else if (cur == 0)
		cli_error(-1, "rollback: the current version of '%s' is its first; there is no "
			  "earlier one", ref);
	else {
		version_copy(v, &l.items[cur - 1]);
		r = 1;
	}
	version_list_release(&l);
	return r;
}

static int rollback_run(struct cli *cli, int nargs, char **args, int json)
{
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT, line = STRBUF_INIT;
	struct lease *lease = NULL;
	struct version v;
	int ret = EXIT_USAGE, r;

	version_init(&v);
	if (one_ref(cli, "rollback", nargs, args, 2) < 0)
		goto out;
	r = rollback_target(cli, args[0], nargs > 1 ? args[1] : NULL, &v, &err);
	if (r <= 0) {
		if (r < 0)
			cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (v.current) {
		ret = EXIT_OK;
		fprintf(stderr, "databuild: rollback: that version of '%s' is current already\n",
			args[0]);
		goto out;
	}
	r = catalog_lease_acquire(&cli->catalog, args[0], 0, &lease, &err);
	if (r <= 0) {
		if (r < 0)
			cli_fail(EXIT_USAGE, &err);
		else
			cli_error(EXIT_USAGE, "rollback: '%s' is being built; try again when the "
				  "build is over", args[0]);
		goto out;
	}
	r = executor_restore_versions(&cli->catalog, &cli->store, &v, 1,
				      EV_PARTITION_ROLLED_BACK, 0, &why, &err);
	if (r < 0) {
		ret = cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (r > 0) {
		ret = cli_error(EXIT_FAILED, "rollback: %s; nothing changed", why.buf);
		goto out;
	}
	v.current = 1;
	if (json) {
		print_version(&v, 1, &line);
	} else {
		strbuf_addf(&line, "rolled back %s to ", args[0]);
		catalog_format_version_name(v.time_us, &line);
		strbuf_addf(&line, " (run %s)\n", v.run_id);
		fwrite(line.buf, 1, line.len, stdout);
	}
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	if (lease)
		catalog_lease_release(&cli->catalog, lease);
	version_release(&v);
	strbuf_release(&err);
	strbuf_release(&why);
	strbuf_release(&line);
	return ret;
}

int cmd_rollback(struct cli *cli, int argc, char **argv)
{
	int json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "json", &json, "print the restored version as a JSON object"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &rollback_usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : rollback_run(cli, n, argv, json);
}
