#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"

#define LS_PAGE 1000

static void ls_usage(FILE *f)
{
	fprintf(f,
		"usage: databuild ls [PREFIX] [--status S[,S...]] [--limit N] [--json]\n"
		"\n"
		"List the partitions in the catalog whose ref starts with PREFIX, in ref\n"
		"order: status, size in bytes, time of the last change (UTC; for live\n"
		"partitions the end of the run that built them) and ref.\n"
		"\n"
		"  --status S   only these statuses: live, building, failed, stale, tainted\n"
		"  --limit N    print at most N partitions (default: all)\n"
		"  --json       one JSON object per line instead\n");
}

static int parse_statuses(const char *text, unsigned *mask)
{
	struct strbuf name = STRBUF_INIT;
	const char *p = text;
	int ret = -1;

	*mask = 0;
	do {
		const char *end = strchr(p, ',');
		int st;

		strbuf_reset(&name);
		strbuf_add(&name, p, end ? (size_t)(end - p) : strlen(p));
		st = part_status_parse(name.buf);
		if (st <= PART_MISSING) {
			cli_error(EXIT_USAGE, "ls: option '--status': unknown status '%s' (expected "
				  "live, building, failed, stale or tainted)", name.buf);
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

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	const char *prefix = NULL, *status = NULL, *limit_text = NULL;
	char *after = NULL;
	unsigned mask = 0;
	long limit = 0;
	size_t printed = 0;
	int json = 0, ret = EXIT_USAGE;

	if (cli_wants_help(argc, argv)) {
		ls_usage(stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		int r;

		if ((r = cli_opt_value("ls", argc, argv, &i, "--status", &status)) ||
		    (r = cli_opt_value("ls", argc, argv, &i, "--limit", &limit_text))) {
			if (r < 0)
				goto out;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error(EXIT_USAGE, "ls: unknown option '%s' (see 'databuild ls --help')",
				  argv[i]);
			goto out;
		} else if (prefix) {
			cli_error(EXIT_USAGE, "ls: one PREFIX at most, got '%s' and '%s'", prefix,
				  argv[i]);
			goto out;
		} else {
			prefix = argv[i];
		}
	}
	if (status && parse_statuses(status, &mask) < 0)
		goto out;
	if (limit_text && cli_parse_long("--limit", limit_text, 0, 1L << 40, &limit) < 0)
		goto out;
	if (cli_open_catalog(cli) < 0)
		goto out;
	if (!json && isatty(STDOUT_FILENO))
		printf("%-8s %12s  %-20s  %s\n", "STATUS", "SIZE", "UPDATED", "REF");
	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		size_t want = LS_PAGE, got;

		if (limit && (size_t)limit - printed < want)
			want = (size_t)limit - printed;
		if (catalog_list_partitions(&cli->catalog, prefix, after, want, mask, &page,
					    &err) < 0) {
			partition_list_release(&page);
			ret = cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		for (size_t k = 0; k < page.nr; k++) {
			if (json) {
				cJSON *o = partition_to_json(&page.items[k]);

				strbuf_reset(&line);
				json_print(o, &line);
				strbuf_addch(&line, '\n');
				fwrite(line.buf, 1, line.len, stdout);
				cJSON_Delete(o);
			} else {
				print_human(&page.items[k], &line);
			}
		}
		got = page.nr;
		printed += got;
		if (got) {
			free(after);
			after = xstrdup(page.items[got - 1].ref);
		}
		partition_list_release(&page);
		if (got < want || (limit && printed >= (size_t)limit))
			break;
	}
	if (fflush(stdout) || ferror(stdout)) {
		ret = cli_error(EXIT_FAILED, "ls: cannot write the listing");
		goto out;
	}
	ret = EXIT_OK;
out:
	free(after);
	strbuf_release(&err);
	strbuf_release(&line);
	return ret;
}
