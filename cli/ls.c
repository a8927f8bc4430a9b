#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"

#define LS_PAGE 1000

static const struct cli_usage usage = {
	.cmd = "ls",
	.head = "usage: databuild ls [PREFIX] [--status S[,S...]] [--limit N] [--json]\n"
		"\n"
		"List the partitions in the catalog whose ref starts with PREFIX, in ref\n"
		"order: status, size in bytes, time of the last change (UTC; for live\n"
		"partitions the end of the run that built them) and ref.\n",
};

struct ls_args {
	const char *prefix;  /* the PREFIX argument, or NULL */
	unsigned mask;       /* --status: 1 << enum part_status of each; 0: all */
	long limit;          /* --limit (0: all) */
	int json;            /* --json */
};

/* --status S[,S...] into the unsigned mask at opt->value. */
static int opt_status(const struct cli_option *opt, const char *arg, struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	unsigned *mask = opt->value;
	const char *p = arg;
	int ret = -1;

	*mask = 0;
	do {
		const char *end = strchr(p, ',');
		int st;

		strbuf_reset(&name);
		strbuf_add(&name, p, end ? (size_t)(end - p) : strlen(p));
		st = part_status_parse(name.buf);
		if (st <= PART_MISSING) {
			strbuf_addf(err, "unknown status '%s' (expected live, building, failed, "
				    "stale, tainted or damaged)", name.buf);
			goto out;
		}
		*mask |= 1u << st;
		p = end ? end + 1 : NULL;
	} while (p);
	ret = 0;
out:
	strbuf_release(&name);
	return ret;
}

static void print_human(const struct partition *p, struct strbuf *line)
{
	strbuf_reset(line);
	strbuf_addf(line, "%-8s ", part_status_name(p->status));
	if (p->size >= 0)
		strbuf_addf(line, "%12lld  ", (long long)p->size);
	else
		strbuf_addf(line, "%12s  ", "-");
	if (p->updated_us > 0)
		catalog_format_time(p->updated_us, line);
	else
		strbuf_addf(line, "%-20s", "-");
	strbuf_addf(line, "  %s\n", p->ref);
	fwrite(line->buf, 1, line->len, stdout);
}

static void print_json(const struct partition *p, struct strbuf *line)
{
	cJSON *o = partition_to_json(p);

	strbuf_reset(line);
	json_print(o, line);
	strbuf_addch(line, '\n');
	fwrite(line->buf, 1, line->len, stdout);
	cJSON_Delete(o);
}

/*
 * Prints the partitions after *after (NULL: from the first), at most want
 * of them, and moves *after to the last printed; with *header set, the
 * header line first (then *header is cleared). The number printed, or
 * -1 (printed; exit 2).
 */
static long ls_page(struct cli *cli, const struct ls_args *a, char **after, size_t want,
		    int *header, struct strbuf *line)
{
	struct partition_list page = PARTITION_LIST_INIT;
	struct strbuf err = STRBUF_INIT;
	long got = -1;

	if (catalog_list_partitions(&cli->catalog, a->prefix, *after, want, a->mask, &page,
				    &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (page.nr && *header) {
		printf("%-8s %12s  %-20s  %s\n", "STATUS", "SIZE", "UPDATED", "REF");
		*header = 0;
	}
	for (size_t k = 0; k < page.nr; k++) {
		if (a->json)
			print_json(&page.items[k], line);
		else
			print_human(&page.items[k], line);
	}
	if (page.nr) {
		free(*after);
		*after = xstrdup(page.items[page.nr - 1].ref);
	}
	got = (long)page.nr;
out:
	partition_list_release(&page);
	strbuf_release(&err);
	return got;
}

/*
 * On a terminal, an empty listing says so on stderr, naming what matched
 * nothing (a typo in PREFIX, a store where nothing was built yet).
 */
static void say_nothing(const struct ls_args *a)
{
	struct strbuf why = STRBUF_INIT;

	strbuf_addstr(&why, a->mask ? " with status " : "");
	for (int st = 0, first = 1; st < PART_STATUS_NR; st++) {
		if (!(a->mask & (1u << st)))
			continue;
		strbuf_addf(&why, "%s%s", first ? "" : ",", part_status_name((enum part_status)st));
		first = 0;
	}
	if (a->prefix && *a->prefix)
		strbuf_addf(&why, " starts with '%s'", a->prefix);
	fflush(stdout);
	fprintf(stderr, "databuild: ls: no partition in the catalog%s\n", why.buf);
	strbuf_release(&why);
}

/* The listing, a page of LS_PAGE at a time: an exit code. */
static int ls_print(struct cli *cli, const struct ls_args *a)
{
	struct strbuf line = STRBUF_INIT;
	char *after = NULL;
	size_t printed = 0;
	int ret = EXIT_USAGE, tty = !a->json && isatty(STDOUT_FILENO), header = tty;

	for (;;) {
		size_t want = LS_PAGE;
		long got;

		if (a->limit && (size_t)a->limit - printed < want)
			want = (size_t)a->limit - printed;
		if ((got = ls_page(cli, a, &after, want, &header, &line)) < 0)
			goto out;
		printed += (size_t)got;
		if ((size_t)got < want || (a->limit && printed >= (size_t)a->limit))
			break;
	}
	ret = EXIT_OK;
	if (tty && !printed)
		say_nothing(a);
	if (fflush(stdout) || ferror(stdout))
		ret = cli_error(EXIT_FAILED, "ls: cannot write the listing");
out:
	free(after);
	strbuf_release(&line);
	return ret;
}

/* The listing of the partitions under the PREFIX argument: an exit code. */
static int ls_run(struct cli *cli, int nargs, char **args, struct ls_args *a)
{
	if (nargs > 1)
		return cli_error(EXIT_USAGE, "ls: one PREFIX at most, got '%s' and '%s'", args[0],
				 args[1]);
	a->prefix = nargs ? args[0] : NULL;
	if (cli_open_catalog(cli) < 0)
		return EXIT_USAGE;
	return ls_print(cli, a);
}

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	struct ls_args a = { .prefix = NULL, .mask = 0, .limit = 0, .json = 0 };
	const struct cli_option options[] = {
		{ .type = CLI_OPT_CALLBACK, .long_name = "status", .value = &a.mask, .argh = "S",
		  .cb = opt_status, .choices = "live building failed stale tainted damaged",
		  .help = "only these statuses: live, building, failed, stale, tainted,\n"
			  "damaged" },
		OPT_LONG(0, "limit", &a.limit, "N", 0, 1L << 40,
			 "print at most N partitions (default: all)"),
		OPT_FLAG(0, "json", &a.json, "one JSON object per line instead"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : ls_run(cli, n, argv, &a);
}
