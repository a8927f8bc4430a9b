#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/clock.h"
#include "model/schedule.h"
#include "model/tz.h"

#define NR(a) (sizeof(a) / sizeof((a)[0]))
#define ck_assert_contains_str(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "expected '%s' in '%s'", (needle), (hay))

static long long at(const char *iso)
{
	long long t;

	ck_assert_msg(utc_parse(iso, &t) == 0, "bad time in the table: %s", iso);
	return t;
}

static void load_zone(struct tzone *z, const char *name)
{
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(tzone_load(z, name, &err) == 0, "%s: %s", name, err.buf);
	strbuf_release(&err);
}

static const struct {
	const char *text;
	const char *err;  /* NULL: valid */
} parse_cases[] = {
	{ "0 2 * * *", NULL },
	{ "*/15 0-6,22-23 1,15 */2 1-5", NULL },
	{ "5/10 * * * 0,7", NULL },
	{ "@daily", NULL },
	{ "  0\t2  *  * *  ", NULL },
	{ "0 2 * *", "expected 5 fields" },
	{ "0 2 * * * *", "expected 5 fields" },
	{ "", "expected 5 fields" },
	{ "@sometimes", "expected 5 fields" },
	{ "60 * * * *", "minute '60' is outside 0-59" },
	{ "0 24 * * *", "hour '24' is outside 0-23" },
	{ "0 0 0 * *", "day of month '0' is outside 1-31" },
	{ "0 0 * 13 *", "month '13' is outside 1-12" },
	{ "0 0 * * 8", "day of week '8' is outside 0-7" },
	{ "5-1 * * * *", "minute '5-1' is outside 0-59" },
	{ "*/0 * * * *", "minute: expected *, N, N-M" },
	{ "1,,2 * * * *", "minute: expected" },
	{ "1, * * * *", "minute: expected" },
	{ "a * * * *", "minute: expected" },
	{ "0 0 * jan *", "month: expected" },
};

START_TEST(test_cron_parse)
{
	struct strbuf err = STRBUF_INIT;
	struct cron c;
	int r = cron_parse(&c, parse_cases[_i].text, &err);

	if (!parse_cases[_i].err) {
		ck_assert_msg(r == 0, "'%s': %s", parse_cases[_i].text, err.buf);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err.buf, parse_cases[_i].err), "'%s': got '%s'",
			      parse_cases[_i].text, err.buf);
	}
	strbuf_release(&err);
}
END_TEST

static const struct {
	const char *cron, *zone, *after, *next;  /* next NULL: none */
} next_cases[] = {
	{ "0 2 * * *", "UTC", "2024-03-03T03:00:00Z", "2024-03-04T02:00:00Z" },
	{ "0 2 * * *", "UTC", "2024-03-04T02:00:00Z", "2024-03-05T02:00:00Z" },  /* strictly after */
	{ "0 2 * * *", "UTC", "2024-03-04T01:59:59Z", "2024-03-04T02:00:00Z" },
	{ "*/15 * * * *", "UTC", "2024-03-03T03:07:00Z", "2024-03-03T03:15:00Z" },
	{ "5/20 * * * *", "UTC", "2024-03-03T03:46:00Z", "2024-03-03T04:05:00Z" },
	{ "0 9 * * 1-5", "UTC", "2024-03-01T10:00:00Z", "2024-03-04T09:00:00Z" },  /* Fri -> Mon */
	{ "0 12 * * 7", "UTC", "2024-03-01T00:00:00Z", "2024-03-03T12:00:00Z" },   /* 7: Sunday */
	{ "0 0 1,15 * 1", "UTC", "2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z" }, /* dom or dow */
	{ "0 0 13 * 5", "UTC", "2024-09-07T00:00:00Z", "2024-09-13T00:00:00Z" },
	{ "0 0 * * 5", "UTC", "2024-09-07T00:00:00Z", "2024-09-13T00:00:00Z" },
	{ "0 0 */10 * *", "UTC", "2024-03-02T00:00:00Z", "2024-03-11T00:00:00Z" },
	{ "0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "0 0 31 2 *", "UTC", "2024-03-01T00:00:00Z", NULL },
	{ "@hourly", "UTC", "2024-03-03T03:30:00Z", "2024-03-03T04:00:00Z" },
	{ "@yearly", "UTC", "2024-03-03T03:30:00Z", "2025-01-01T00:00:00Z" },
	{ "0 0 1 * *", "UTC", "2024-12-15T00:00:00Z", "2025-01-01T00:00:00Z" },
	/* winter (CET, +1) and summer (CEST, +2) */
	{ "0 2 * * *", "Europe/Berlin", "2024-03-03T03:00:00Z", "2024-03-04T01:00:00Z" },
	{ "0 2 * * *", "Europe/Berlin", "2024-06-30T12:00:00Z", "2024-07-01T00:00:00Z" },
	/* 02:30 is skipped on 2024-03-31: it fires as far past the jump (01:30 UTC) */
	{ "30 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", "2024-03-31T01:30:00Z" },
	{ "30 2 * * *", "Europe/Berlin", "2024-03-31T01:30:00Z", "2024-04-01T00:30:00Z" },
	/* 02:30 happens twice on 2024-10-27: once, the first time */
	{ "30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00Z", "2024-10-27T00:30:00Z" },
	{ "30 2 * * *", "Europe/Berlin", "2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z" },
	{ "0 6 * * *", "Asia/Tokyo", "2024-03-03T12:00:00Z", "2024-03-03T21:00:00Z" },
	/* after the last transition of the file: its POSIX rule */
	{ "0 12 * * *", "America/New_York", "2040-07-01T00:00:00Z", "2040-07-01T16:00:00Z" },
	{ "0 12 * * *", "America/New_York", "2040-12-01T00:00:00Z", "2040-12-01T17:00:00Z" },
	{ "0 12 * * *", "Australia/Sydney", "2040-01-15T00:00:00Z", "2040-01-15T01:00:00Z" },
	{ "0 12 * * *", "Australia/Sydney", "2040-07-15T00:00:00Z", "2040-07-15T02:00:00Z" },
};

START_TEST(test_cron_next)
{
	struct strbuf err = STRBUF_INIT;
	struct tzone z;
	struct cron c;
	long long got;

	ck_assert_msg(cron_parse(&c, next_cases[_i].cron, &err) == 0, "%s", err.buf);
	load_zone(&z, next_cases[_i].zone);
	got = cron_next(&c, &z, at(next_cases[_i].after));
	if (!next_cases[_i].next)
		ck_assert_int_eq(got, -1);
	else
		ck_assert_msg(got == at(next_cases[_i].next), "'%s' %s after %s: got %lld, "
			      "expected %s", next_cases[_i].cron, next_cases[_i].zone,
			      next_cases[_i].after, got, next_cases[_i].next);
	tzone_release(&z);
	strbuf_release(&err);
}
END_TEST

static const struct {
	const char *zone, *when;
	int offset;
} offset_cases[] = {
	{ "UTC", "2024-07-01T00:00:00Z", 0 },
	{ "Etc/UTC", "2024-07-01T00:00:00Z", 0 },
	{ "Europe/Berlin", "2024-01-01T00:00:00Z", 3600 },
	{ "Europe/Berlin", "2024-07-01T00:00:00Z", 7200 },
	{ "Europe/Berlin", "2024-03-31T00:59:59Z", 3600 },
	{ "Europe/Berlin", "2024-03-31T01:00:00Z", 7200 },
	{ "America/New_York", "2040-07-01T00:00:00Z", -14400 },
	{ "America/New_York", "2040-12-01T00:00:00Z", -18000 },
	{ "Asia/Kolkata", "2024-07-01T00:00:00Z", 19800 },
	{ "Australia/Sydney", "2040-01-01T00:00:00Z", 39600 },
};

START_TEST(test_offset)
{
	struct tzone z;

	load_zone(&z, offset_cases[_i].zone);
	ck_assert_int_eq(tzone_offset(&z, at(offset_cases[_i].when)), offset_cases[_i].offset);
	tzone_release(&z);
}
END_TEST

START_TEST(test_zone_errors)
{
	static const struct {
		const char *name, *err;
	} cases[] = {
		{ "Mars/Olympus", "unknown time zone 'Mars/Olympus'" },
		{ "../../etc/passwd", "invalid time zone '../../etc/passwd'" },
		{ "/etc/localtime", "invalid time zone '/etc/localtime'" },
		{ "", "invalid time zone ''" },
		{ "Europe//Berlin", "invalid time zone" },
	};

	for (size_t i = 0; i < NR(cases); i++) {
		struct strbuf err = STRBUF_INIT;
		struct tzone z;

		ck_assert_int_eq(tzone_load(&z, cases[i].name, &err), -1);
		ck_assert_msg(strstr(err.buf, cases[i].err), "'%s': got '%s'", cases[i].name,
			      err.buf);
		tzone_release(&z);
		strbuf_release(&err);
	}
}
END_TEST

static const struct {
	const char *tmpl, *zone, *tick;
	const char *want;  /* expansion, or (err set) a part of the error */
	int err;
} template_cases[] = {
	{ "report/date={today}", "UTC", "2024-03-03T02:00:00Z", "report/date=2024-03-03", 0 },
	{ "report/date={today-1d}", "UTC", "2024-03-03T02:00:00Z", "report/date=2024-03-02", 0 },
	{ "r/d={today-3d:%d.%m.%Y}", "UTC", "2024-03-03T02:00:00Z", "r/d=29.02.2024", 0 },
	{ "r/d={today+1w}", "UTC", "2024-03-03T02:00:00Z", "r/d=2024-03-10", 0 },
	{ "r/d={today:%Y%m%d}", "UTC", "2024-03-03T02:00:00Z", "r/d=20240303", 0 },
	{ "r/d={today:%a}", "UTC", "2024-03-03T02:00:00Z", "r/d=Sun", 0 },
	{ "r/from={today-7d}/to={today}", "UTC", "2024-01-03T00:00:00Z",
	  "r/from=2023-12-27/to=2024-01-03", 0 },
	{ "static/ref", "UTC", "2024-03-03T02:00:00Z", "static/ref", 0 },
	/* the date in the zone: 21:00 UTC is the next morning in Tokyo */
	{ "r/d={today}", "Asia/Tokyo", "2024-03-03T21:00:00Z", "r/d=2024-03-04", 0 },
	{ "r/d={today}", "America/New_York", "2024-03-03T02:00:00Z", "r/d=2024-03-02", 0 },
	{ "r/d={yesterday}", "UTC", "2024-03-03T02:00:00Z", "unknown placeholder '{yesterday}'", 1 },
	{ "r/d={today-1}", "UTC", "2024-03-03T02:00:00Z", "unknown placeholder '{today-1}'", 1 },
	{ "r/d={today-1h}", "UTC", "2024-03-03T02:00:00Z", "unknown placeholder", 1 },
	{ "r/d={today:}", "UTC", "2024-03-03T02:00:00Z", "unknown placeholder '{today:}'", 1 },
	{ "r/d={today", "UTC", "2024-03-03T02:00:00Z", "unclosed '{' in 'r/d={today'", 1 },
	{ "r/d=today}", "UTC", "2024-03-03T02:00:00Z", "unmatched '}' in 'r/d=today}'", 1 },
};

START_TEST(test_template)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct tzone z;
	int r;

	load_zone(&z, template_cases[_i].zone);
	r = template_expand(template_cases[_i].tmpl, at(template_cases[_i].tick), &z, &out, &err);
	if (!template_cases[_i].err) {
		ck_assert_msg(r == 0, "%s: %s", template_cases[_i].tmpl, err.buf);
		ck_assert_str_eq(out.buf, template_cases[_i].want);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err.buf, template_cases[_i].want), "%s: got '%s'",
			      template_cases[_i].tmpl, err.buf);
	}
	tzone_release(&z);
	strbuf_release(&out);
	strbuf_release(&err);
}
END_TEST

static const struct {
	const char *text;
	long long seconds;  /* -1: invalid */
} duration_cases[] = {
	{ "26h", 93600 },
	{ "1d12h", 129600 },
	{ "90m", 5400 },
	{ "1w", 604800 },
	{ "30s", 30 },
	{ "", -1 },
	{ "26", -1 },
	{ "h", -1 },
	{ "0h", -1 },
	{ "26 h", -1 },
	{ "1y", -1 },
	{ "-1h", -1 },
	{ "99999999999d", -1 },
};

START_TEST(test_duration)
{
	long long got = 0;
	int r = duration_parse(duration_cases[_i].text, &got);

	if (duration_cases[_i].seconds < 0) {
		ck_assert_msg(r == -1, "'%s' accepted", duration_cases[_i].text);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(got, duration_cases[_i].seconds);
	}
}
END_TEST

/* DATABUILD_NOW=@FILE: the clock is read from FILE at every call. */
START_TEST(test_now_file)
{
	const char *tmp = getenv("TMPDIR");
	char *path = xstrfmt("%s/databuild-now.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	struct strbuf env = STRBUF_INIT, err = STRBUF_INIT;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	strbuf_addf(&env, "@%s", path);
	setenv(CLOCK_NOW_ENV, env.buf, 1);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("2024-03-03T03:00:00Z\n", f);
	fclose(f);
	ck_assert_int_eq(now_s(), at("2024-03-03T03:00:00Z"));
	ck_assert_int_eq(now_check(&err), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("2024-03-05T02:30:00Z", f);
	fclose(f);
	ck_assert_int_eq(now_s(), at("2024-03-05T02:30:00Z"));
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("soon\n", f);
	fclose(f);
	ck_assert(now_s() > at("2024-03-05T02:30:00Z"));  /* malformed: the real time */
	ck_assert_int_eq(now_check(&err), -1);
	ck_assert_contains_str(err.buf, "expected a UTC time like 2024-03-03T03:00:00Z, got 'soon'");
	unlink(path);
	strbuf_reset(&err);
	ck_assert_int_eq(now_check(&err), -1);
	ck_assert_contains_str(err.buf, "DATABUILD_NOW: cannot read '");
	unsetenv(CLOCK_NOW_ENV);
	free(path);
	strbuf_release(&env);
	strbuf_release(&err);
}
END_TEST

static Suite *schedule_suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");

	tcase_add_loop_test(tc, test_cron_parse, 0, NR(parse_cases));
	tcase_add_loop_test(tc, test_cron_next, 0, NR(next_cases));
	tcase_add_loop_test(tc, test_offset, 0, NR(offset_cases));
	tcase_add_test(tc, test_zone_errors);
	tcase_add_loop_test(tc, test_template, 0, NR(template_cases));
	tcase_add_loop_test(tc, test_duration, 0, NR(duration_cases));
	tcase_add_test(tc, test_now_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(schedule_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
