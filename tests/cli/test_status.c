/*
 * The pure parts of `databuild status` (health bars, dataset names,
 * arguments) and the turning of REF arguments into refs
 * (cli_refs_expand: globs, ranges, the domain check), as tables of cases.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/array.h"

static const struct name_case {
	const char *pattern, *want;
} name_cases[] = {
	{ "raw/station={station}/date={date}", "raw" },
	{ "report/date={date}", "report" },
	{ "reports/daily/date={date}", "reports/daily" },
	{ "a/b/c", "a/b" },
	{ "{y}/same", "{y}/same" },
	{ "single", "single" },
	{ "x/pre{k}/z", "x" },
};

START_TEST(test_dataset_name)
{
	const struct name_case *c = &name_cases[_i];
	struct strbuf out = STRBUF_INIT;

	pattern_dataset_name(c->pattern, &out);
	ck_assert_str_eq(out.buf, c->want);
	strbuf_release(&out);
}
END_TEST

static const struct arg_case {
	const char *arg, *name;
	int want;
} arg_cases[] = {
	{ "raw", "raw", 1 },
	{ "ra", "raw", 1 },
	{ "rep", "raw", 0 },
	{ "r*", "report", 1 },
	{ "r*", "shard", 0 },
	{ "reports/*", "reports/daily", 1 },
	{ "report?", "reports", 1 },
	{ "[rs]*", "shard", 1 },
	{ "", "anything", 1 },
};

START_TEST(test_arg_matches)
{
	const struct arg_case *c = &arg_cases[_i];

	ck_assert_int_eq(status_arg_matches(c->arg, c->name), c->want);
}
END_TEST

/* Cells: every position lands in one cell, and cell sizes add up. */
static const struct cell_case {
	uint64_t total;
	size_t width;
} cell_cases[] = {
	{ 1, 60 }, { 59, 60 }, { 60, 60 }, { 61, 60 }, { 366, 60 }, { 1098, 60 },
	{ 100000, 60 }, { 100000, 7 }, { 7, 3 }, { 1000, 1000 }, { 1001, 1000 },
};

START_TEST(test_cells)
{
	const struct cell_case *c = &cell_cases[_i];
	size_t width = c->total < c->width ? (size_t)c->total : c->width;
	uint64_t *seen = calloc(width, sizeof(*seen)), sum = 0;
	size_t prev = 0;

	for (uint64_t pos = 0; pos < c->total; pos++) {
		size_t cell = status_cell(pos, c->total, width);

		ck_assert_uint_lt(cell, width);
		ck_assert_uint_ge(cell, prev);  /* in domain order */
		prev = cell;
		seen[cell]++;
	}
	for (size_t k = 0; k < width; k++) {
		ck_assert_uint_eq(seen[k], status_cell_size(k, c->total, width));
		ck_assert_uint_gt(seen[k], 0);
		sum += seen[k];
	}
	ck_assert_uint_eq(sum, c->total);
	free(seen);
}
END_TEST

/* Huge totals do not overflow. */
START_TEST(test_cells_huge)
{
	uint64_t total = UINT64_MAX - 5, sum = 0;

	ck_assert_uint_eq(status_cell(total - 1, total, 60), 59);
	ck_assert_uint_eq(status_cell(0, total, 60), 0);
	for (size_t k = 0; k < 60; k++)
		sum += status_cell_size(k, total, 60);
	ck_assert_uint_eq(sum, total);
}
END_TEST

static const struct state_case {
	uint64_t counts[STATUS_STATE_NR];  /* live stale failed building damaged missing */
	int want;
	char ch;
} state_cases[] = {
	{ { 1, 0, 0, 0, 0, 0 }, STATUS_LIVE, '#' },
	{ { 0, 0, 0, 0, 0, 1 }, STATUS_MISSING, '.' },
	{ { 999, 0, 1, 0, 0, 0 }, STATUS_FAILED, 'X' },
	{ { 9, 1, 0, 0, 1, 0 }, STATUS_DAMAGED, '!' },
	{ { 9, 1, 0, 1, 0, 0 }, STATUS_BUILDING, '>' },
	{ { 9, 1, 0, 0, 0, 9 }, STATUS_STALE, '~' },
	{ { 1, 0, 0, 0, 0, 99 }, STATUS_CELL_PARTLY, '+' },
	{ { 0, 0, 0, 0, 0, 0 }, STATUS_MISSING, '.' },
};

START_TEST(test_cell_state)
{
	const struct state_case *c = &state_cases[_i];
	struct strbuf bar = STRBUF_INIT;
	char want[2] = { c->ch, 0 };

	ck_assert_int_eq(status_cell_state(c->counts), c->want);
	status_bar(&c->counts, 1, 0, &bar);
	ck_assert_str_eq(bar.buf, want);
	strbuf_reset(&bar);
	status_bar(&c->counts, 1, 1, &bar);
	ck_assert_ptr_nonnull(strchr(bar.buf, c->ch));
	ck_assert_int_eq(bar.buf[0], '\033');
	strbuf_release(&bar);
}
END_TEST

START_TEST(test_state_of)
{
	ck_assert_int_eq(status_state_of(PART_LIVE), STATUS_LIVE);
	ck_assert_int_eq(status_state_of(PART_TAINTED), STATUS_STALE);
	ck_assert_int_eq(status_state_of(PART_STALE), STATUS_STALE);
	ck_assert_int_eq(status_state_of(PART_FAILED), STATUS_FAILED);
	ck_assert_int_eq(status_state_of(PART_BUILDING), STATUS_BUILDING);
	ck_assert_int_eq(status_state_of(PART_DAMAGED), STATUS_DAMAGED);
	ck_assert_int_eq(status_state_of(PART_MISSING), STATUS_MISSING);
	ck_assert_str_eq(status_state_name(STATUS_MISSING), "missing");
}
END_TEST

/* cli_refs_expand over a graph with domains. */
static const char graph_text[] =
	"{\"name\": \"t\",\n"
	" \"domains\": {\"day2024\": {\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}},\n"
	"             \"station\": {\"values\": [\"north\", \"south\", \"east\"]},\n"
	"             \"odd\": {\"values\": [\"a*\", \"b..c\", \"d\"]}},\n"
	" \"jobs\": [\n"
	"  {\"label\": \"ingest\", \"outputs\": [\"raw/station={s}/date={d}\"],\n"
	"   \"partitions\": {\"s\": \"station\", \"d\": \"day2024\"},\n"
	"   \"configure\": [\"/bin/true\"], \"exec\": [\"/bin/true\"]},\n"
	"  {\"label\": \"report\", \"outputs\": [\"report/date={d}\"], \"partitions\": {\"d\": \"day2024\"},\n"
	"   \"configure\": [\"/bin/true\"], \"exec\": [\"/bin/true\"]},\n"
	"  {\"label\": \"odd\", \"outputs\": [\"odd/v={v}\"], \"partitions\": {\"v\": \"odd\"},\n"
	"   \"configure\": [\"/bin/true\"], \"exec\": [\"/bin/true\"]},\n"
	"  {\"label\": \"free\", \"outputs\": [\"free/key={k}\"],\n"
	"   \"configure\": [\"/bin/true\"], \"exec\": [\"/bin/true\"]}]}\n";

static const struct expand_case {
	const char *args[3];
	unsigned flags;
	const char *want;  /* the refs joined by ' ', or NULL: an error */
	size_t prefixes;   /* with want: how many scan prefixes */
	const char *prefix0;
} expand_cases[] = {
	{ { "report/date=2024-02-0[1-3]" }, CLI_REFS_SELECT,
	  "report/date=2024-02-01 report/date=2024-02-02 report/date=2024-02-03", 1,
	  "report/date=2024-02-0" },
	{ { "report/date=2024-01-30..2024-02-01" }, CLI_REFS_SELECT,
	  "report/date=2024-01-30 report/date=2024-01-31 report/date=2024-02-01", 1,
	  "report/date=2024-0" },
	{ { "report/date=2024-12-30.." }, CLI_REFS_SELECT,
	  "report/date=2024-12-30 report/date=2024-12-31", 1, "report/date=2024-12-3" },
	{ { "raw/station=*/date=2024-01-01" }, CLI_REFS_SELECT,
	  "raw/station=north/date=2024-01-01 raw/station=south/date=2024-01-01 "
	  "raw/station=east/date=2024-01-01", 1, "raw/station=" },
	{ { "raw/station=[ns]*/date=2024-01-0[12]" }, CLI_REFS_SELECT,
	  "raw/station=north/date=2024-01-01 raw/station=north/date=2024-01-02 "
	  "raw/station=south/date=2024-01-01 raw/station=south/date=2024-01-02", 1, "raw/station=" },
	/* repeats are kept once */
	{ { "report/date=2024-02-01", "report/date=2024-02-0[12]" }, CLI_REFS_SELECT,
	  "report/date=2024-02-01 report/date=2024-02-02", 2, "report/date=2024-02-01" },
	/* a value of the domain is that value, glob characters or not */
	{ { "odd/v=a*", "odd/v=b..c" }, CLI_REFS_SELECT, "odd/v=a* odd/v=b..c", 2, "odd/v=a*" },
	/* plain refs: checked against the domain, kept as they are */
	{ { "report/date=2024-02-29" }, 0, "report/date=2024-02-29", 1, "report/date=2024-02-29" },
	{ { "free/key=x" }, CLI_REFS_SELECT, "free/key=x", 1, "free/key=x" },
	/* ".." in an open-ended value is text, not a range */
	{ { "free/key=a..b" }, CLI_REFS_SELECT, "free/key=a..b", 1, "free/key=a..b" },
	/* no job claims it: the planner answers */
	{ { "nothing/x" }, CLI_REFS_SELECT, "nothing/x", 1, "nothing/x" },
	/* errors */
	{ { "report/date=2025-01-01" }, CLI_REFS_SELECT, NULL, 0, NULL },
	{ { "raw/station=west/date=2024-01-01" }, 0, NULL, 0, NULL },
	{ { "report/date=2024-02-*" }, 0, NULL, 0, NULL },  /* no selections without the flag */
	{ { "free/key=*" }, CLI_REFS_SELECT, NULL, 0, NULL },
	{ { "report/date=2025-*" }, CLI_REFS_SELECT, NULL, 0, NULL },
	{ { "report/date=2024-03-01..2024-02-01" }, CLI_REFS_SELECT, NULL, 0, NULL },
	{ { "report//x" }, CLI_REFS_SELECT, NULL, 0, NULL },
};

START_TEST(test_expand)
{
	const struct expand_case *c = &expand_cases[_i];
	char path[] = "/tmp/databuild-test-status-XXXXXX";
	struct cli cli = { 0 };
	struct cli_refs r = CLI_REFS_INIT;
	struct strbuf got = STRBUF_INIT;
	int fd = mkstemp(path), nargs = 0, ret;
	char *args[3];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, graph_text, strlen(graph_text)), (ssize_t)strlen(graph_text));
	close(fd);
	cli.graph_path = path;
	strvec_init(&cli.backend.opts);
	while (nargs < 3 && c->args[nargs]) {
		args[nargs] = (char *)c->args[nargs];
		nargs++;
	}
	ret = cli_refs_expand(&cli, &r, nargs, args, c->flags);
	for (size_t i = 0; i < r.refs.nr; i++)
		strbuf_addf(&got, "%s%s", i ? " " : "", r.refs.v[i]);
	if (!c->want) {
		ck_assert_int_eq(ret, -1);
	} else {
		ck_assert_int_eq(ret, 0);
		ck_assert_str_eq(got.buf, c->want);
		ck_assert_uint_eq(r.prefixes.nr, c->prefixes);
		ck_assert_str_eq(r.prefixes.v[0], c->prefix0);
		for (size_t i = 0; i < r.refs.nr; i++)
			ck_assert_ptr_eq(strmap_get(&r.seen, r.refs.v[i]), (void *)(uintptr_t)(i + 1));
	}
	cli_refs_release(&r);
	cli_release(&cli);
	strbuf_release(&got);
	unlink(path);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("cli-status");
	TCase *tc = tcase_create("status");

	tcase_add_loop_test(tc, test_dataset_name, 0, sizeof(name_cases) / sizeof(name_cases[0]));
	tcase_add_loop_test(tc, test_arg_matches, 0, sizeof(arg_cases) / sizeof(arg_cases[0]));
	tcase_add_loop_test(tc, test_cells, 0, sizeof(cell_cases) / sizeof(cell_cases[0]));
	tcase_add_test(tc, test_cells_huge);
	tcase_add_loop_test(tc, test_cell_state, 0, sizeof(state_cases) / sizeof(state_cases[0]));
	tcase_add_test(tc, test_state_of);
	tcase_add_loop_test(tc, test_expand, 0, sizeof(expand_cases) / sizeof(expand_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
