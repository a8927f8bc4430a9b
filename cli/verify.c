#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/strmap.h"

#define VERIFY_PAGE 1000

static const struct cli_usage usage = {
	.cmd = "verify",
	.head = "usage: databuild verify [PREFIX...] [--repair] [--json]\n"
		"\n"
		"Rehash the published data of every partition whose ref starts with a\n"
		"PREFIX (default: all) and compare it with its manifest: its bytes, its\n"
		"size, that it is a read-only regular file and not a symbolic link.\n"
		"Prints each damaged partition with what is wrong, then a summary.\n",
	.tail = "exit status: 0 all intact, 1 some partition is damaged, 2 usage or\n"
		"configuration error\n",
};

/* What is wrong with one partition's data; kind NULL: intact. */
struct damage {
	const char *kind;     /* "missing", "link", "type", "permissions", "size", "bytes", "unreadable" */
	struct strbuf why;    /* one line for people */
	char ident[STORE_IDENT_MAX];  /* intact: the file's identity now */
};

struct verify {
	struct cli *cli;
	int repair, json;
	struct strmap seen;   /* refs checked once, whatever PREFIXes name them */
	long long checked, damaged, bytes;
};

/* Checks p's data file against the catalog's record of it. */
static void check_data(const struct store *s, const struct partition *p, struct damage *d)
{
	char hex[SHA256_HEX_SIZE];
	struct strbuf err = STRBUF_INIT;
	long long size = 0;
	struct stat st;
	int fd;

	fd = store_open_data(s, p->ref, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		d->kind = errno == ENOENT ? "missing" : errno == ELOOP ? "link" : "unreadable";
		if (errno == ENOENT)
			strbuf_addstr(&d->why, "its data file is missing");
		else if (errno == ELOOP)
			strbuf_addstr(&d->why, "its data file, or a directory above it, is a "
				      "symbolic link");
		else
			strbuf_addf(&d->why, "its data file cannot be opened: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		d->kind = "type";
		strbuf_addstr(&d->why, "its data file is not a regular file");
		goto out;
	}
	if (st.st_mode & 0222) {
		d->kind = "permissions";
		strbuf_addf(&d->why, "its data file is writable (mode %04o; published read-only, "
			    "0444)", (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (p->size >= 0 && st.st_size != p->size) {
		d->kind = "size";
		strbuf_addf(&d->why, "its data file has %lld bytes, its manifest says %lld",
			    (long long)st.st_size, (long long)p->size);
		goto out;
	}
	if (sha256_fd(fd, p->ref, hex, &size, &err) < 0) {
		d->kind = "unreadable";
		strbuf_addf(&d->why, "its data file cannot be read: %s", err.buf);
		goto out;
	}
	if (strcmp(hex, p->sha256)) {
		d->kind = "bytes";
		strbuf_addf(&d->why, "its bytes changed (sha256 %.12s..., its manifest says "
			    "%.12s...)", hex, p->sha256);
	} else {
		store_ident_format(&st, d->ident);
	}
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&err);
}

static void report(struct verify *v, const struct partition *p, const struct damage *d)
{
	struct strbuf line = STRBUF_INIT;
	cJSON *o;

	if (!v->json) {
		if (d->kind)
			printf("damaged  %s: %s\n", p->ref, d->why.buf);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ref", p->ref);
	cJSON_AddBoolToObject(o, "intact", !d->kind);
	if (d->kind) {
		cJSON_AddStringToObject(o, "damage", d->kind);
		cJSON_AddStringToObject(o, "error", d->why.buf);
	}
	json_add_int64(o, "size", p->size);
	json_print(o, &line);
	printf("%s\n", line.buf);
	cJSON_Delete(o);
	strbuf_release(&line);
}

/* One partition: 0, or -1 (printed) when the catalog cannot record a repair. */
static int verify_one(struct verify *v, const struct partition *p)
{
	struct damage d = { .kind = NULL, .why = STRBUF_INIT, .ident = "" };
	struct strbuf err = STRBUF_INIT;
	int ret = -1;

	if (strmap_contains(&v->seen, p->ref))
		return 0;
	strmap_put(&v->seen, p->ref, NULL);
	check_data(&v->cli->store, p, &d);
	v->checked++;
	if (p->size > 0)
		v->bytes += p->size;
	report(v, p, &d);
	/*
	 * Intact bytes under another identity (a store copied or restored, or
	 * published before identities were recorded): record the one they have
	 * now, so that opens check against it.
	 */
	if (!d.kind && *d.ident && p->published_run && (!p->ident || strcmp(p->ident, d.ident)) &&
	    catalog_set_ident(&v->cli->catalog, p->ref, p->published_run, d.ident, &err) < 0) {
		cli_fail(EXIT_USAGE, &err);
		goto out;
	}
	if (d.kind) {
		v->damaged++;
		if (v->repair &&
		    catalog_set_status(&v->cli->catalog, p->ref, PART_DAMAGED, d.why.buf, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
	}
	ret = 0;
out:
	strbuf_release(&d.why);
	strbuf_release(&err);
	return ret;
}

/* Every partition with published data whose ref starts with prefix. */
static int verify_prefix(struct verify *v, const char *prefix)
{
	const unsigned mask = 1u << PART_LIVE | 1u << PART_STALE | 1u << PART_TAINTED;
	struct strbuf err = STRBUF_INIT;
	char *after = NULL;
	int ret = -1;

	for (;;) {
		struct partition_list page = PARTITION_LIST_INIT;
		size_t i;

		if (catalog_list_partitions(&v->cli->catalog, prefix, after, VERIFY_PAGE, mask,
					    &page, &err) < 0) {
			cli_fail(EXIT_USAGE, &err);
			goto out;
		}
		for (i = 0; i < page.nr; i++)
			if (page.items[i].sha256[0] && verify_one(v, &page.items[i]) < 0)
				break;
		if (i < page.nr || page.nr < VERIFY_PAGE) {
			ret = i < page.nr ? -1 : 0;
			if (page.nr && !ret)
				fflush(stdout);
			partition_list_release(&page);
			goto out;
		}
		free(after);
		after = xstrdup(page.items[page.nr - 1].ref);
		partition_list_release(&page);
		fflush(stdout);
	}
out:
	free(after);
	strbuf_release(&err);
	return ret;
}

static int verify_run(struct verify *v, int nargs, char **args)
{
	int ret = EXIT_USAGE;

	if (cli_open_catalog(v->cli) < 0)
		return EXIT_USAGE;
	if (!nargs && verify_prefix(v, "") < 0)
		goto out;
	for (int i = 0; i < nargs; i++)
		if (verify_prefix(v, args[i]) < 0)
			goto out;
	if (!v->json)
		printf("verified %lld partition%s (%lld bytes): %lld damaged%s\n", v->checked,
		       v->checked == 1 ? "" : "s", v->bytes, v->damaged,
		       v->damaged && v->repair ? ", marked for rebuilding" : "");
	if (fflush(stdout))
		goto out;
	ret = v->damaged ? EXIT_FAILED : EXIT_OK;
out:
	strmap_clear(&v->seen);
	return ret;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct verify v = { .cli = cli, .seen = STRMAP_INIT };
	const struct cli_option options[] = {
		OPT_FLAG(0, "repair", &v.repair,
			 "mark damaged partitions damaged in the catalog, so that the\n"
			 "next read or build rebuilds them"),
		OPT_FLAG(0, "json", &v.json,
			 "one JSON object per partition checked: {\"ref\", \"intact\",\n"
			 "\"damage\", \"error\", \"size\"}"),
		OPT_END(),
	};
	int n = cli_parse_options(argc, argv, &usage, options, 0);

	return n < 0 ? cli_parse_exit(n) : verify_run(&v, n, argv);
}
