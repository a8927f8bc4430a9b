#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "model/ref.h"

static const struct cli_usage usage = {
	.cmd = "taint",
	.head = "usage: databuild taint REF... [--downstream] [--json]\n"
		"\n"
		"Mark partitions tainted: they are rebuilt the next time they are\n"
		"requested. Prints every partition whose status changed.\n",
};

/* The REF arguments, validated: 0, or -1 (printed; exit 2). */
static int taint_refs(int nargs, char **args, struct strvec *refs)
{
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	for (int i = 0; i < nargs && !ret; i++) {
		if (ref_validate(args[i], &err) < 0)
			ret = cli_fail(-1, &err);
		else
			strvec_push(refs, args[i]);
	}
	strbuf_release(&err);
	if (!ret && !refs->nr)
		ret = cli_error(-1, "taint: missing REF (usage: databuild taint REF... "
				"[--downstream])");
	return ret;
}

/* One line per changed partition: 0, or -1 (printed; exit 2). */
static int print_changed(struct cli *cli, const struct strvec *changed, int json)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < changed->nr; i++) {
		struct partition p;

		if (catalog_get_partition(&cli->catalog, changed->v[i], &p, &err) < 0) {
			ret = cli_fail(-1, &err);
			break;
		}
		strbuf_reset(&line);
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "ref", p.ref);
			cJSON_AddStringToObject(o, "status", part_status_name(p.status));
			json_print(o, &line);
			cJSON_Delete(o);
		} else {
			strbuf_addf(&line, "%-8s %s", part_status_name(p.status), p.ref);
		}
		printf("%s\n", line.buf);
		partition_release(&p);
	}
	strbuf_release(&line);
	strbuf_release(&err);
	return ret;
}

/* Taints the REF arguments and prints what changed: an exit code. */
static int taint_print(struct cli *cli, int nargs, char **args, int downstream, int json)
{
	struct strbuf err = STRBUF_INIT;
	struct strvec refs = STRVEC_INIT, changed = STRVEC_INIT;
	int ret = EXIT_USAGE;

	if (taint_refs(nargs, args, &refs) < 0 || cli_open_catalog(cli) < 0)
		goto out;
	if (catalog_taint(&cli->catalog, &refs, downstream, 0, &changed, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (print_changed(cli, &changed, json) < 0)
		goto out;
	ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
out:
	strvec_clear(&refs);
	strvec_clear(&changed);
	strbuf_release(&err);
	return ret;
}

int cmd_taint(struct cli *cli, int argc, char **argv)
{
	int json = 0, downstream = 0;
	const struct cli_option options[] = {
		OPT_FLAG(0, "downstream", &downstream,
			 "also mark stale every live partition built from them,\n"
			 "transitively (through the manifests of their builds)"),
		OPT_FLAG(0, "json", &json, "one {\"ref\", \"status\"} object per line instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : taint_print(cli, n, argv, downstream, json);
}
