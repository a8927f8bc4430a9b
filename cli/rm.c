#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "model/ref.h"
#include "store/object.h"

/*
 * databuild rm: partitions become missing; their versions stay under
 * history until gc (docs/design/history.md, "Removal").
 */

static const struct cli_usage usage = {
	.cmd = "rm",
	.head = "usage: databuild rm REF|GLOB... [--downstream] [--dry-run] [--json]\n"
		"\n"
		"Remove partitions from the store: each becomes missing (reading or building\n"
		"it runs its job again). Their versions stay readable under history until\n"
		"'databuild gc' removes them. A GLOB ('pkgs/section=*', shell wildcards\n"
		"* ? [...]) selects among the partitions the catalog holds. A partition\n"
		"being built is refused.\n",
	.tail = "exit status: 0 removed (or nothing matched a GLOB), 1 a file could not be\n"
		"removed, 2 usage, an unknown REF, or a partition being built\n",
};

static int has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Pushes the known refs that glob matches (the catalog paged by prefix). */
static int expand_glob(struct cli *cli, const char *glob, struct strvec *out,
		       struct strmap *seen, struct strbuf *err)
{
	struct partition_list page = PARTITION_LIST_INIT;
	char *prefix = xstrndup(glob, strcspn(glob, "*?[\\"));
	char *after = NULL;
	int ret = -1;

	for (;;) {
		if (catalog_list_partitions(&cli->catalog, prefix, after, 1000, 0, &page,
					    err) < 0)
			goto out;
		if (!page.nr)
			break;
		for (size_t i = 0; i < page.nr; i++) {
			const char *ref = page.items[i].ref;

			if (!fnmatch(glob, ref, FNM_PATHNAME) && !strmap_contains(seen, ref)) {
				strmap_put(seen, ref, NULL);
				strvec_push(out, ref);
			}
		}
		free(after);
		after = xstrdup(page.items[page.nr - 1].ref);
		partition_list_release(&page);
		page = (struct partition_list)PARTITION_LIST_INIT;
	}
	ret = 0;
out:
	partition_list_release(&page);
	free(prefix);
	free(after);
	return ret;
}

/* The partitions to remove: arguments, globs expanded, downstream added. */
static int rm_select(struct cli *cli, int nargs, char **args, int downstream,
		     struct strvec *refs, struct strbuf *err)
{
	struct strmap seen = STRMAP_INIT;
	int ret = -1;

	for (int i = 0; i < nargs; i++) {
		if (has_wildcard(args[i])) {
			if (expand_glob(cli, args[i], refs, &seen, err) < 0)
				goto out;
			continue;
		}
		if (ref_validate(args[i], err) < 0)
			goto out;
		if (!strmap_contains(&seen, args[i])) {
			strmap_put(&seen, args[i], NULL);
			strvec_push(refs, args[i]);
		}
	}
	for (size_t i = 0; downstream && i < refs->nr; i++) {
		struct strvec down = STRVEC_INIT;

		if (catalog_lineage(&cli->catalog, refs->v[i], 1, &down, err) < 0) {
			strvec_clear(&down);
			goto out;
		}
		for (size_t k = 0; k < down.nr; k++) {
			if (!strmap_contains(&seen, down.v[k])) {
				strmap_put(&seen, down.v[k], NULL);
				strvec_push(refs, down.v[k]);
			}
		}
		strvec_clear(&down);
	}
	ret = 0;
out:
	strmap_clear(&seen);
	return ret;
}

static void print_removed(const char *ref, int json, int dry_run, struct strbuf *line)
{
	strbuf_reset(line);
	if (json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "ref", ref);
		cJSON_AddBoolToObject(o, "removed", !dry_run);
		json_print(o, line);
		cJSON_Delete(o);
	} else {
		strbuf_addf(line, "%s %s", dry_run ? "would remove" : "removed", ref);
	}
	strbuf_addch(line, '\n');
	fwrite(line->buf, 1, line->len, stdout);
}

/*
 * Takes every ref's lease (none may be building), forgets them in one
 * catalog transaction, then unlinks their data files: an exit code.
 */
static int rm_run(struct cli *cli, int nargs, char **args, int downstream, int dry_run,
		  int json)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	struct strvec refs = STRVEC_INIT;
	struct lease **leases = NULL;
	int ret = EXIT_USAGE, r;

	if (!nargs) {
		cli_error(EXIT_USAGE, "rm: missing REF (usage: databuild rm REF|GLOB... "
			  "[--downstream] [--dry-run])");
		goto out;
	}
	if (cli_open_catalog(cli) < 0)
		goto out;
	if (rm_select(cli, nargs, args, downstream, &refs, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	leases = xcalloc(refs.nr + 1, sizeof(*leases));
	for (size_t i = 0; i < refs.nr; i++) {
		struct partition p;

		partition_init(&p);
		r = catalog_get_partition(&cli->catalog, refs.v[i], &p, &err);
		partition_release(&p);
		if (r <= 0) {
			if (r == 0)
				cli_error(EXIT_USAGE, "rm: no partition '%s' in the catalog", refs.v[i]);
			else
				cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		r = catalog_lease_acquire(&cli->catalog, refs.v[i], 0, &leases[i], &err);
		if (r <= 0) {
			if (r == 0)
				cli_error(EXIT_USAGE, "rm: '%s' is being built; nothing was removed",
					  refs.v[i]);
			else
				cli_fail(EXIT_USAGE, &err);
			goto out;
		}
	}
	if (!dry_run && catalog_remove_partitions(&cli->catalog, &refs, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	ret = EXIT_OK;
	for (size_t i = 0; i < refs.nr; i++) {
		if (!dry_run && store_remove_data(&cli->store, refs.v[i], &err) < 0) {
			ret = cli_fail(EXIT_FAILED, &err);
			strbuf_reset(&err);
			continue;
		}
		print_removed(refs.v[i], json, dry_run, &line);
	}
	if (fflush(stdout))
		ret = EXIT_FAILED;
out:
	for (size_t i = 0; leases && i < refs.nr; i++)
		if (leases[i])
			catalog_lease_release(&cli->catalog, leases[i]);
	free(leases);
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&line);
	return ret;
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	int downstream = 0, dry_run = 0, json = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "downstream", &downstream,
			 "also remove every partition built from them, transitively\n"
			 "(through the manifests of their builds)"),
		OPT_FLAG('n', "dry-run", &dry_run, "print what would be removed; remove nothing"),
		OPT_FLAG(0, "json", &json, "one {\"ref\", \"removed\"} object per line instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : rm_run(cli, n, argv, downstream, dry_run, json);
}
