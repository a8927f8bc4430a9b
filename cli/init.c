#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fd.h"
#include "store/store.h"

/*
 * `databuild init [DIR]`: a first graph to start from, the one
 * docs/getting-started.md walks through: a source (CSV files dropped in
 * DIR/drops/), a job in sh that cleans them and a job in Python that
 * reports on them, over a domain of three days.
 */

static const struct cli_usage usage = {
	.cmd = "init",
	.head = "usage: databuild init [DIR]\n"
		"\n"
		"Write a small graph to start from into DIR (default: the current\n"
		"directory): databuild.json with a domain of three days, a source of CSV\n"
		"files in drops/ (three samples), a job in sh (jobs/clean.sh) and a job in\n"
		"Python (jobs/report.py). Nothing that exists is overwritten.\n",
	.tail = "exit status: 0 written, 2 usage error or a file that exists already\n",
};

static const char graph_json[] =
	"{\n"
	"  \"name\": \"first_graph\",\n"
	"  \"domains\": {\n"
	"    \"days\": {\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-03\"}}\n"
	"  },\n"
	"  \"jobs\": [\n"
	"    {\"label\": \"orders\", \"source\": \"drops/{date}.csv\",\n"
	"     \"outputs\": [\"raw/orders/date={date}\"], \"partitions\": {\"date\": \"days\"}},\n"
	"    {\"label\": \"clean\", \"outputs\": [\"clean/orders/date={date}\"],\n"
	"     \"partitions\": {\"date\": \"days\"}, \"version\": \"1.0.0\",\n"
	"     \"configure\": [\"jobs/clean.sh\", \"configure\"], \"exec\": [\"jobs/clean.sh\", \"exec\"]},\n"
	"    {\"label\": \"report\", \"outputs\": [\"report/date={date}\"],\n"
	"     \"partitions\": {\"date\": \"days\"}, \"version\": \"1.0.0\",\n"
	"     \"configure\": [\"jobs/report.py\", \"configure\"], \"exec\": [\"jobs/report.py\", \"exec\"]}\n"
	"  ]\n"
	"}\n";

static const char clean_sh[] =
	"#!/bin/sh\n"
	"# clean/orders/date=D: the orders of day D without blank lines and\n"
	"# comments, read from raw/orders/date=D (the imported drops/D.csv).\n"
	"set -eu\n"
	"cmd=$1\n"
	"shift\n"
	"case $cmd in\n"
	"configure)\n"
	"\t# one JobConfig per ref asked for: its outputs, inputs and args\n"
	"\tsep=\n"
	"\tprintf '['\n"
	"\tfor ref in \"$@\"; do\n"
	"\t\tdate=${ref#clean/orders/date=}\n"
	"\t\tcase $date in\n"
	"\t\t*[!0-9-]*|'') echo \"clean: '$ref': bad date\" >&2; exit 1 ;;\n"
	"\t\tesac\n"
	"\t\tprintf '%s{\"outputs\":[\"%s\"],\"inputs\":[{\"dep_type\":\"materialize\","
	"\"ref\":\"raw/orders/date=%s\"}],\"args\":[\"%s\"]}' \\\n"
	"\t\t\t\"$sep\" \"$ref\" \"$date\" \"$date\"\n"
	"\t\tsep=,\n"
	"\tdone\n"
	"\tprintf ']\\n'\n"
	"\t;;\n"
	"exec)\n"
	"\t# write the output under $DATABUILD_OUTPUT_DIR; inputs are under\n"
	"\t# $DATABUILD_INPUT_DIR\n"
	"\tdate=$1\n"
	"\tmkdir -p \"$DATABUILD_OUTPUT_DIR/clean/orders\"\n"
	"\tgrep -v -e '^[[:space:]]*$' -e '^#' \"$DATABUILD_INPUT_DIR/raw/orders/date=$date\" \\\n"
	"\t\t>\"$DATABUILD_OUTPUT_DIR/clean/orders/date=$date\" || true\n"
	"\t;;\n"
	"*) echo \"usage: clean.sh configure REF... | exec DATE\" >&2; exit 2 ;;\n"
	"esac\n";

static const char report_py[] =
	"#!/usr/bin/env python3\n"
	"\"\"\"report/date=D: orders and revenue per product on day D, from\n"
	"clean/orders/date=D (CSV: product,quantity,price).\"\"\"\n"
	"import csv\n"
	"import json\n"
	"import os\n"
	"import sys\n"
	"\n"
	"\n"
	"def configure(refs):\n"
	"    configs = []\n"
	"    for ref in refs:\n"
	"        date = ref.removeprefix(\"report/date=\")\n"
	"        configs.append({\n"
	"            \"outputs\": [ref],\n"
	"            \"inputs\": [{\"dep_type\": \"materialize\", \"ref\": f\"clean/orders/date={date}\"}],\n"
	"            \"args\": [date],\n"
	"        })\n"
	"    json.dump(configs, sys.stdout)\n"
	"\n"
	"\n"
	"def execute():\n"
	"    config = json.load(sys.stdin)  # the JobConfig configure gave for this run\n"
	"    src = os.path.join(os.environ[\"DATABUILD_INPUT_DIR\"], config[\"inputs\"][0][\"ref\"])\n"
	"    dst = os.path.join(os.environ[\"DATABUILD_OUTPUT_DIR\"], config[\"outputs\"][0])\n"
	"    totals = {}\n"
	"    with open(src, newline=\"\") as f:\n"
	"        for row in csv.DictReader(f):\n"
	"            n, revenue = totals.get(row[\"product\"], (0, 0.0))\n"
	"            q = int(row[\"quantity\"])\n"
	"            totals[row[\"product\"]] = (n + q, revenue + q * float(row[\"price\"]))\n"
	"    os.makedirs(os.path.dirname(dst), exist_ok=True)\n"
	"    with open(dst, \"w\") as f:\n"
	"        f.write(\"product\\tquantity\\trevenue\\n\")\n"
	"        for product, (n, revenue) in sorted(totals.items()):\n"
	"            f.write(f\"{product}\\t{n}\\t{revenue:.2f}\\n\")\n"
	"\n"
	"\n"
	"if __name__ == \"__main__\":\n"
	"    if sys.argv[1:2] == [\"configure\"]:\n"
	"        configure(sys.argv[2:])\n"
	"    elif sys.argv[1:2] == [\"exec\"]:\n"
	"        execute()\n"
	"    else:\n"
	"        sys.exit(\"usage: report.py configure REF... | exec DATE\")\n";

static const char *const drops[][2] = {
	{ "drops/2024-01-01.csv", "product,quantity,price\napples,3,0.50\npears,2,0.75\n" },
	{ "drops/2024-01-02.csv", "product,quantity,price\n# a comment the clean job drops\n"
				  "apples,5,0.50\n\nplums,1,1.20\n" },
	{ "drops/2024-01-03.csv", "product,quantity,price\npears,4,0.75\nplums,2,1.20\n" },
};

/* Writes dir/name (O_EXCL: nothing is overwritten): 0, or -1 (printed). */
static int put(const char *dir, const char *name, const char *text, mode_t mode)
{
	struct strbuf path = STRBUF_INIT;
	int fd, ret = -1;

	strbuf_addf(&path, "%s/%s", dir, name);
	if (mkdir_parents(path.buf, 0755) < 0) {
		cli_error(-1, "init: cannot create the directories of '%s': %s", path.buf,
			  strerror(errno));
		goto out;
	}
	fd = open(path.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		cli_error(-1, "init: cannot create '%s': %s%s", path.buf, strerror(errno),
			  errno == EEXIST ? " (init writes only into a directory without these "
			  "files)" : "");
		goto out;
	}
	if (write_all(fd, text, strlen(text)) < 0 || close(fd) < 0) {
		cli_error(-1, "init: cannot write '%s': %s", path.buf, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

/* Whether any file init writes exists in dir already. */
static const char *first_existing(const char *dir)
{
	static const char *const names[] = { "databuild.json", "jobs/clean.sh", "jobs/report.py",
					     "drops/2024-01-01.csv", "drops/2024-01-02.csv",
					     "drops/2024-01-03.csv" };
	struct strbuf path = STRBUF_INIT;
	const char *found = NULL;
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !found; i++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, names[i]);
		if (lstat(path.buf, &st) == 0)
			found = names[i];
	}
	strbuf_release(&path);
	return found;
}

static int init_run(const char *dir)
{
	const char *exists = first_existing(dir);

	if (exists)
		return cli_error(EXIT_USAGE, "init: '%s/%s' exists already; init writes only into "
				 "a directory without its files (nothing was written)", dir, exists);
	if (put(dir, "databuild.json", graph_json, 0644) < 0 ||
	    put(dir, "jobs/clean.sh", clean_sh, 0755) < 0 ||
	    put(dir, "jobs/report.py", report_py, 0755) < 0)
		return EXIT_USAGE;
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		if (put(dir, drops[i][0], drops[i][1], 0644) < 0)
			return EXIT_USAGE;
	printf("wrote a first graph into %s:\n"
	       "  databuild.json    a domain of three days, a source and two jobs\n"
	       "  drops/*.csv       the source: one CSV file a day\n"
	       "  jobs/clean.sh     a job in sh:     raw/orders/date=D -> clean/orders/date=D\n"
	       "  jobs/report.py    a job in Python: clean/orders/date=D -> report/date=D\n"
	       "next:\n"
	       "  cd %s && mkdir -p /tmp/mnt && databuild mount /tmp/mnt\n"
	       "  ls /tmp/mnt/report && cat /tmp/mnt/report/date=2024-01-02\n"
	       "docs/getting-started.md explains each step.\n", dir, dir);
	return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
}

int cmd_init(struct cli *cli, int argc, char **argv)
{
	const struct cli_option options[] = {
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	(void)cli;
	if (n < 0)
		return cli_parse_exit(n);
	if (n > 1)
		return cli_error(EXIT_USAGE, "init: one DIR at most (usage: databuild init [DIR])");
	return init_run(n ? argv[0] : ".");
}
