#include <malloc.h>

#include "core/clock.h"
#include "core/json.h"
#include "model/domain.h"
#include "testutil.h"

#define NOW "2024-03-03T03:00:00Z"

static char *fixture(const char *name)
{
	const char *root = getenv("SOURCE_ROOT");

	return xstrfmt("%s/tests/model/fixtures/domains/%s", root && *root ? root : ".", name);
}

/* Parses text as domain "d" at JSON path domains.d: the result of domain_parse. */
static int parse(struct domain *d, const char *text, struct strbuf *err)
{
	struct jpath root = JPATH_ROOT;
	struct jpath dp = { &root, "domains", 0 };
	struct jpath np = { &dp, "d", 0 };
	cJSON *item = json_parse(text, strlen(text), err);
	int ret;

	ck_assert_msg(item != NULL, "bad test JSON %s: %s", text, err->buf);
	ret = domain_parse(d, "d", item, &np, NULL, err);
	cJSON_Delete(item);
	return ret;
}

static void parse_ok(struct domain *d, const char *text)
{
	struct strbuf err = STRBUF_INIT;

	ck_assert_msg(parse(d, text, &err) == 0, "%s: %s", text, err.buf);
	strbuf_release(&err);
}

/* Every value of d (expr: a selection or NULL), joined by ','. */
static int list(struct domain *d, const char *expr, struct strbuf *out, struct strbuf *err)
{
	struct domain_iter it;
	const char *v;
	int n = 0;

	if (domain_iter_init(&it, d, expr, err) < 0)
		return -1;
	while ((v = domain_iter_next(&it)))
		strbuf_addf(out, "%s%s", n++ ? "," : "", v);
	domain_iter_release(&it);
	return n;
}

static const struct good_case {
	const char *json;
	const char *describe;
	uint64_t count;
	const char *values;  /* every value, or the first ones then "..." */
} good_cases[] = {
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}",
	  "dates 2024-01-01..2024-12-31", 366, "2024-01-01,2024-01-02,2024-01-03..." },
	{ "{\"dates\": {\"start\": \"2024-02-27\", \"end\": \"2024-03-02\"}}",
	  "dates 2024-02-27..2024-03-02", 5,
	  "2024-02-27,2024-02-28,2024-02-29,2024-03-01,2024-03-02" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"1d\"}}",
	  "dates 2024-01-01..2024-01-31", 31, "2024-01-01,2024-01-02..." },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"1d\", "
	  "\"format\": \"%Y-%m-%d\"}}", "dates 2024-01-01..2024-01-31", 31, "2024-01-01,2024-01-02..." },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"7d\"}}",
	  "dates 2024-01-01..2024-01-31 every 7d", 5,
	  "2024-01-01,2024-01-08,2024-01-15,2024-01-22,2024-01-29" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"2w\"}}",
	  "dates 2024-01-01..2024-01-31 every 2w", 3, "2024-01-01,2024-01-15,2024-01-29" },
	/* month steps keep the day of start, clamped to shorter months */
	{ "{\"dates\": {\"start\": \"2024-01-31\", \"end\": \"2024-06-30\", \"step\": \"1mo\"}}",
	  "dates 2024-01-31..2024-06-30 every 1mo", 6,
	  "2024-01-31,2024-02-29,2024-03-31,2024-04-30,2024-05-31,2024-06-30" },
	{ "{\"dates\": {\"start\": \"2023-11-30\", \"end\": \"2024-05-30\", \"step\": \"3mo\"}}",
	  "dates 2023-11-30..2024-05-30 every 3mo", 3, "2023-11-30,2024-02-29,2024-05-30" },
	{ "{\"dates\": {\"start\": \"2024-02-29\", \"end\": \"2028-03-01\", \"step\": \"1y\"}}",
	  "dates 2024-02-29..2028-03-01 every 1y", 5,
	  "2024-02-29,2025-02-28,2026-02-28,2027-02-28,2028-02-29" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-04-01\", \"step\": \"1mo\", "
	  "\"format\": \"%Y-%m\"}}",
	  "dates 2024-01..2024-04 every 1mo, format %Y-%m", 4, "2024-01,2024-02,2024-03,2024-04" },
	{ "{\"dates\": {\"start\": \"20241230\", \"end\": \"2025-01-02\", \"format\": \"%Y%m%d\"}}",
	  "dates 20241230..20250102, format %Y%m%d", 4, "20241230,20241231,20250101,20250102" },
	{ "{\"dates\": {\"start\": \"30.12.2024\", \"end\": \"01.01.2025\", "
	  "\"format\": \"%d.%m.%Y\"}}",
	  "dates 30.12.2024..01.01.2025, format %d.%m.%Y", 3, "30.12.2024,31.12.2024,01.01.2025" },
	{ "{\"dates\": {\"start\": \"2024-12-30\", \"end\": \"2025-01-01\", "
	  "\"format\": \"%Y-%j\"}}",
	  "dates 2024-365..2025-001, format %Y-%j", 3, "2024-365,2024-366,2025-001" },
	{ "{\"hours\": {\"start\": \"2024-01-01T22\", \"end\": \"2024-01-02T01\"}}",
	  "hours 2024-01-01T22..2024-01-02T01", 4,
	  "2024-01-01T22,2024-01-01T23,2024-01-02T00,2024-01-02T01" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00:00:00Z\", \"end\": \"2024-01-02T00\", "
	  "\"step\": \"6h\", \"format\": \"%Y%m%d%H\"}}",
	  "hours 2024010100..2024010200 every 6h, format %Y%m%d%H", 5,
	  "2024010100,2024010106,2024010112,2024010118,2024010200" },
	{ "{\"hours\": {\"start\": \"2024-01-01T05\", \"end\": \"2024-01-03T05\", \"step\": \"1d\"}}",
	  "hours 2024-01-01T05..2024-01-03T05 every 1d", 3,
	  "2024-01-01T05,2024-01-02T05,2024-01-03T05" },
	{ "{\"ints\": {\"start\": 0, \"end\": 99999}}", "ints 0..99999", 100000, "0,1,2..." },
	{ "{\"ints\": {\"start\": -3, \"end\": 7, \"step\": 5}}", "ints -3..7 every 5", 3, "-3,2,7" },
	{ "{\"ints\": {\"start\": 5, \"end\": 5}}", "ints 5..5", 1, "5" },
	{ "{\"values\": [\"north\", \"south\", \"east\"]}", "values north, south, east", 3,
	  "north,south,east" },
	{ "{\"values\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]}",
	  "values a, b, c, d, e and 2 more", 7, "a,b,c,d,e,f,g" },
	{ "{\"values\": [\"a..b\", \"x*y\"]}", "values a..b, x*y", 2, "a..b,x*y" },
};

START_TEST(test_good)
{
	const struct good_case *c = &good_cases[_i];
	struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT, v = STRBUF_INIT;
	const char *dots = strstr(c->values, "...");
	struct domain d;

	parse_ok(&d, c->json);
	domain_describe(&d, &sb);
	ck_assert_str_eq(sb.buf, c->describe);
	ck_assert_uint_eq(domain_count(&d), c->count);
	strbuf_reset(&sb);
	ck_assert_int_eq(list(&d, NULL, &sb, &err), (int)c->count);
	if (dots)
		ck_assert_msg(!strncmp(sb.buf, c->values, (size_t)(dots - c->values)),
			      "want %s got %.200s", c->values, sb.buf);
	else
		ck_assert_str_eq(sb.buf, c->values);
	/* index and value_at agree with the enumeration order */
	for (uint64_t i = 0; i < c->count && i < 400; i++) {
		ck_assert_int_eq(domain_value_at(&d, i, &v), 0);
		ck_assert_int_eq(domain_index(&d, v.buf), (int64_t)i);
		ck_assert_int_eq(domain_contains(&d, v.buf, &err), 1);
	}
	ck_assert_int_eq(domain_value_at(&d, c->count, &v), -1);
	domain_release(&d);
	strbuf_release(&err);
	strbuf_release(&sb);
	strbuf_release(&v);
}
END_TEST

static const struct bad_case {
	const char *json, *want;
} bad_cases[] = {
	{ "[]", "domains.d: expected a domain object {\"dates\" | \"hours\" | \"ints\" | "
	  "\"values\" | \"command\": ...}, got an array" },
	{ "{}", "domains.d: expected one of \"dates\", \"hours\", \"ints\", \"values\", \"command\"" },
	{ "{\"weeks\": {}}", "domains.d: expected one of" },
	{ "{\"source\": \"/x/{d}\"}", "domains.d: a source is a job (\"source\" and \"outputs\"), "
	  "not a domain" },
	{ "{\"values\": [\"a\"], \"ints\": {\"start\": 0, \"end\": 1}}",
	  "domains.d: a domain has one kind, got both 'ints' and 'values'" },
	{ "{\"dates\": []}", "domains.d.dates: expected an object {\"start\", \"end\"}, got an array" },
	{ "{\"dates\": {\"end\": \"2024-12-31\"}}", "domains.d.dates.start: required member is missing" },
	{ "{\"dates\": {\"start\": \"2024-01-01\"}}", "domains.d.dates.end: required member is missing" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-13-01\"}}",
	  "domains.d.dates.end: expected a date (2024-12-31, in format %Y-%m-%d, or today[-Nd]), "
	  "got '2024-13-01'" },
	{ "{\"dates\": {\"start\": \"2024-02-30\", \"end\": \"2024-03-01\"}}",
	  "domains.d.dates.start: expected a date (2024-12-31, in format %Y-%m-%d, or today[-Nd]), "
	  "got '2024-02-30'" },
	{ "{\"dates\": {\"start\": \"2024-1-1\", \"end\": \"2024-03-01\"}}",
	  "domains.d.dates.start: expected a date" },
	{ "{\"dates\": {\"start\": 20240101, \"end\": \"2024-03-01\"}}",
	  "domains.d.dates.start: expected a string, got a number" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"yesterday\"}}",
	  "domains.d.dates.end: expected a date" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"today-1x\"}}",
	  "domains.d.dates.end: expected a date" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"today-\"}}",
	  "domains.d.dates.end: expected a date" },
	{ "{\"dates\": {\"start\": \"2024-03-01\", \"end\": \"2024-01-01\"}}",
	  "domains.d.dates.end: end '2024-01-01' is before start '2024-03-01'" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"step\": \"1h\"}}",
	  "domains.d.dates.step: expected a step like 1d, 7d, 2w, 1mo or 1y, got '1h'" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"step\": \"0d\"}}",
	  "domains.d.dates.step: expected a step like" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"step\": \"d\"}}",
	  "domains.d.dates.step: expected a step like" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"format\": \"\"}}",
	  "domains.d.dates.format: expected a non-empty strftime format" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"format\": \"%Y/%m/%d\"}}",
	  "domains.d.dates.format: format '%Y/%m/%d' prints '2024/01/01', which contains '/'" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"format\": \"%Y-%m\"}}",
	  "domains.d.dates.format: format '%Y-%m' prints '2024-01' for two values one step apart" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-03-01\", \"format\": \"day\"}}",
	  "domains.d.dates.format: format 'day' cannot be read back ('day')" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00\", \"end\": \"2024-01-01T24\"}}",
	  "domains.d.hours.end: expected an hour (2024-12-31T23, in format %Y-%m-%dT%H, or now[-Nh]), "
	  "got '2024-01-01T24'" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00:30:00Z\", \"end\": \"2024-01-02T00\"}}",
	  "domains.d.hours.start: expected an hour" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00\", \"end\": \"now\", \"step\": \"1mo\"}}",
	  "domains.d.hours.step: expected a step like 1h, 6h or 1d, got '1mo'" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00\", \"end\": \"2024-01-02T00\", \"format\": \"%Y-%m-%d\"}}",
	  "domains.d.hours.format: format '%Y-%m-%d' prints '2024-01-01' for two values one step apart" },
	{ "{\"ints\": {\"start\": 0}}", "domains.d.ints.end: required member is missing" },
	{ "{\"ints\": {\"start\": 0.5, \"end\": 3}}", "domains.d.ints.start: expected an integer, got 0.5" },
	{ "{\"ints\": {\"start\": \"0\", \"end\": 3}}", "domains.d.ints.start: expected an integer, got a string" },
	{ "{\"ints\": {\"start\": 5, \"end\": 3}}", "domains.d.ints.end: end 3 is before start 5" },
	{ "{\"ints\": {\"start\": 0, \"end\": 3, \"step\": 0}}",
	  "domains.d.ints.step: expected a positive step, got 0" },
	{ "{\"values\": []}", "domains.d.values: expected a non-empty array of values, got an empty array" },
	{ "{\"values\": \"a\"}", "domains.d.values: expected a non-empty array of values, got a string" },
	{ "{\"values\": [\"a\", 1]}", "domains.d.values[1]: expected a string, got a number" },
	{ "{\"values\": [\"a\", \"b/c\"]}", "domains.d.values[1]: value 'b/c' contains '/'" },
	{ "{\"values\": [\"\"]}", "domains.d.values[0]: value '' is empty" },
	{ "{\"values\": [\"..\"]}", "domains.d.values[0]: value '..' is not a usable segment" },
	{ "{\"values\": [\"a\\tb\"]}", "domains.d.values[0]: value 'a\tb' contains a control character" },
	{ "{\"values\": [\"a\", \"b\", \"a\"]}", "domains.d.values[2]: value 'a' is listed twice" },
	{ "{\"command\": []}",
	  "domains.d.command: expected a non-empty array of strings (an argv), got an empty array" },
	{ "{\"command\": [\"\"]}", "domains.d.command[0]: empty program name" },
	{ "{\"command\": [\"x\", 2]}", "domains.d.command[1]: expected a string, got a number" },
	{ "{\"command\": [\"x\"], \"timeout_s\": 0}",
	  "domains.d.timeout_s: expected an integer from 1 to 86400, got 0" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct strbuf err = STRBUF_INIT;
	struct domain d;

	ck_assert_int_eq(parse(&d, c->json, &err), -1);
	ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)), "want prefix\n  %s\ngot\n  %s",
		      c->want, err.buf);
	domain_release(&d);
	strbuf_release(&err);
}
END_TEST

static const struct member_case {
	const char *json, *value;
	int want;
	const char *err;  /* the whole message when want == 0 */
} member_cases[] = {
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "2024-06-30", 1, NULL },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "2025-01-01", 0,
	  "date '2025-01-01' is outside domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "2023-12-31", 0,
	  "date '2023-12-31' is outside domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "2024-1-1", 0,
	  "'2024-1-1' is not a date of domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "2024-02-30", 0,
	  "'2024-02-30' is not a date of domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", " 2024-01-01", 0,
	  "' 2024-01-01' is not a date of domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}", "", 0,
	  "'' is not a date of domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"7d\"}}",
	  "2024-01-02", 0,
	  "date '2024-01-02' is not on the step of domain 'd' (dates 2024-01-01..2024-01-31 every 7d)" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-01-31\", \"step\": \"7d\"}}",
	  "2024-01-30", 0,
	  "date '2024-01-30' is outside domain 'd' (dates 2024-01-01..2024-01-31 every 7d)" },
	{ "{\"dates\": {\"start\": \"2024-01-31\", \"end\": \"2024-12-31\", \"step\": \"1mo\"}}",
	  "2024-02-29", 1, NULL },
	{ "{\"dates\": {\"start\": \"2024-01-31\", \"end\": \"2024-12-31\", \"step\": \"1mo\"}}",
	  "2024-02-28", 0, "date '2024-02-28' is not on the step of domain 'd' (dates " },
	{ "{\"dates\": {\"start\": \"2024-01-31\", \"end\": \"2024-12-31\", \"step\": \"2mo\"}}",
	  "2024-02-29", 0, "date '2024-02-29' is not on the step of domain 'd'" },
	{ "{\"dates\": {\"start\": \"2024-01-31\", \"end\": \"2024-12-15\", \"step\": \"1mo\"}}",
	  "2024-12-31", 0, "date '2024-12-31' is outside domain 'd'" },
	{ "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\", \"format\": \"%Y%m%d\"}}",
	  "2024-01-05", 0,
	  "'2024-01-05' is not a date of domain 'd' (dates 20240101..20241231, format %Y%m%d)" },
	{ "{\"hours\": {\"start\": \"2024-01-01T00\", \"end\": \"2024-01-01T23\"}}",
	  "2024-01-01T23", 1, NULL },
	{ "{\"hours\": {\"start\": \"2024-01-01T00\", \"end\": \"2024-01-01T23\"}}",
	  "2024-01-02T00", 0,
	  "hour '2024-01-02T00' is outside domain 'd' (hours 2024-01-01T00..2024-01-01T23)" },
	{ "{\"ints\": {\"start\": 0, \"end\": 99999}}", "99999", 1, NULL },
	{ "{\"ints\": {\"start\": 0, \"end\": 99999}}", "100000", 0,
	  "int '100000' is outside domain 'd' (ints 0..99999)" },
	{ "{\"ints\": {\"start\": 0, \"end\": 99999}}", "007", 0,
	  "'007' is not an integer of domain 'd' (ints 0..99999)" },
	{ "{\"ints\": {\"start\": -5, \"end\": 5}}", "-0", 0, "'-0' is not an integer" },
	{ "{\"ints\": {\"start\": -5, \"end\": 5}}", "-5", 1, NULL },
	{ "{\"ints\": {\"start\": 0, \"end\": 10, \"step\": 5}}", "4", 0,
	  "int '4' is not on the step of domain 'd' (ints 0..10 every 5)" },
	{ "{\"ints\": {\"start\": 0, \"end\": 10}}", "99999999999999999999", 0,
	  "'99999999999999999999' is not an integer" },
	{ "{\"values\": [\"north\", \"south\", \"east\"]}", "east", 1, NULL },
	{ "{\"values\": [\"north\", \"south\", \"east\"]}", "west", 0,
	  "'west' is not in domain 'd' (values north, south, east)" },
};

START_TEST(test_member)
{
	const struct member_case *c = &member_cases[_i];
	struct strbuf err = STRBUF_INIT;
	struct domain d;

	parse_ok(&d, c->json);
	ck_assert_int_eq(domain_contains(&d, c->value, &err), c->want);
	if (c->want)
		ck_assert_str_eq(err.buf, "");
	else
		ck_assert_msg(!strncmp(err.buf, c->err, strlen(c->err)),
			      "want prefix\n  %s\ngot\n  %s", c->err, err.buf);
	ck_assert_int_eq(domain_index(&d, c->value) >= 0, c->want);
	domain_release(&d);
	strbuf_release(&err);
}
END_TEST

static const char year[] = "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"2024-12-31\"}}";
static const char shard[] = "{\"ints\": {\"start\": 0, \"end\": 120, \"step\": 3}}";
static const char names[] = "{\"values\": [\"north\", \"south\", \"east\", \"a..b\", \"x*\"]}";

static const struct select_case {
	const char *json, *expr;
	int n;                /* values, or -1: an error */
	const char *want;     /* the values joined by ',', or the error's prefix */
} select_cases[] = {
	{ year, "2024-02-*", 29, "2024-02-01,2024-02-02," },
	{ year, "2024-01-0[1-7]", 7,
	  "2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-05,2024-01-06,2024-01-07" },
	{ year, "2024-1?-01", 3, "2024-10-01,2024-11-01,2024-12-01" },
	{ year, "2025-*", 0, "" },
	{ year, "*", 366, "2024-01-01," },
	{ year, "2024-03-30..2024-04-02", 4, "2024-03-30,2024-03-31,2024-04-01,2024-04-02" },
	{ year, "2024-12-30..", 2, "2024-12-30,2024-12-31" },
	{ year, "..2024-01-02", 2, "2024-01-01,2024-01-02" },
	{ year, "2024-05-05..2024-05-05", 1, "2024-05-05" },
	{ year, "2024-05-05", 1, "2024-05-05" },
	{ year, "2024-05-06..2024-05-05", -1,
	  "range '2024-05-06..2024-05-05' is reversed: '2024-05-06' comes after '2024-05-05' "
	  "in domain 'd' (dates 2024-01-01..2024-12-31)" },
	{ year, "2023-12-01..2024-01-02", -1,
	  "range '2023-12-01..2024-01-02': date '2023-12-01' is outside domain 'd' "
	  "(dates 2024-01-01..2024-12-31)" },
	{ year, "2024-01-01..2024-02-31", -1,
	  "range '2024-01-01..2024-02-31': '2024-02-31' is not a date of domain 'd'" },
	{ year, "2025-01-01", -1, "date '2025-01-01' is outside domain 'd'" },
	{ shard, "1*", 10, "12,15,18,102,105,108,111,114,117,120" },
	{ shard, "30..42", 5, "30,33,36,39,42" },
	{ shard, "31..42", -1, "range '31..42': int '31' is not on the step of domain 'd'" },
	{ names, "*th", 2, "north,south" },
	{ names, "south..east", 2, "south,east" },
	{ names, "east..north", -1, "range 'east..north' is reversed" },
	{ names, "a..b", 1, "a..b" },
	{ names, "x*", 1, "x*" },
	{ names, "north..a..b", 4, "north,south,east,a..b" },
	{ names, "west", -1, "'west' is not in domain 'd' (values north, south, east, a..b, x*)" },
};

START_TEST(test_select)
{
	const struct select_case *c = &select_cases[_i];
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct domain d;
	int n;

	parse_ok(&d, c->json);
	n = list(&d, c->expr, &out, &err);
	ck_assert_msg(n == c->n, "%s: want %d values, got %d (%s)", c->expr, c->n, n, err.buf);
	if (n >= 0)
		ck_assert_msg(!strncmp(out.buf, c->want, strlen(c->want)), "want %s got %.300s",
			      c->want, out.buf);
	else
		ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)),
			      "want prefix\n  %s\ngot\n  %s", c->want, err.buf);
	domain_release(&d);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

START_TEST(test_open_ended)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;

	ck_assert_int_eq(list(NULL, "anything.goes", &out, &err), 1);
	ck_assert_str_eq(out.buf, "anything.goes");
	ck_assert_int_eq(list(NULL, "2024-*", &out, &err), -1);
	ck_assert_str_eq(err.buf, "glob '2024-*' needs a domain to select from");
	strbuf_reset(&err);
	ck_assert_int_eq(list(NULL, "a..b", &out, &err), -1);
	ck_assert_str_eq(err.buf, "range 'a..b' needs a domain to select from");
	strbuf_reset(&err);
	ck_assert_int_eq(list(NULL, NULL, &out, &err), -1);
	ck_assert_str_eq(err.buf, "an open-ended variable cannot be enumerated");
	ck_assert_int_eq(domain_expr_kind("a*"), DOMAIN_EXPR_GLOB);
	ck_assert_int_eq(domain_expr_kind("a[bc]"), DOMAIN_EXPR_GLOB);
	ck_assert_int_eq(domain_expr_kind("a..b"), DOMAIN_EXPR_RANGE);
	ck_assert_int_eq(domain_expr_kind("a.b"), DOMAIN_EXPR_VALUE);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

/* A million values in constant memory; index and value_at without enumeration. */
START_TEST(test_million)
{
	struct domain d;
	struct domain_iter it;
	struct strbuf err = STRBUF_INIT, v = STRBUF_INIT;
	const char *s;
	size_t before, peak = 0;
	uint64_t n = 0;

	parse_ok(&d, "{\"ints\": {\"start\": 0, \"end\": 999999}}");
	ck_assert_uint_eq(domain_count(&d), 1000000);
	ck_assert_int_eq(domain_index(&d, "765432"), 765432);
	ck_assert_int_eq(domain_value_at(&d, 999999, &v), 0);
	ck_assert_str_eq(v.buf, "999999");
	before = mallinfo2().uordblks;
	ck_assert_int_eq(domain_iter_init(&it, &d, NULL, &err), 0);
	while ((s = domain_iter_next(&it))) {
		if (n % 1000 == 0) {
			size_t used = mallinfo2().uordblks;

			if (used > peak)
				peak = used;
		}
		n++;
	}
	ck_assert_uint_eq(n, 1000000);
	ck_assert_msg(peak < before + 4096, "iteration grew the heap from %zu to %zu bytes",
		      before, peak);
	domain_iter_release(&it);
	domain_release(&d);

	/* a hundred years of dates: arithmetic, not a list */
	parse_ok(&d, "{\"dates\": {\"start\": \"1970-01-01\", \"end\": \"4707-11-28\"}}");
	ck_assert_uint_eq(domain_count(&d), 1000000);
	ck_assert_int_eq(domain_index(&d, "4707-11-28"), 999999);
	ck_assert_int_eq(domain_value_at(&d, 19723, &v), 0);
	ck_assert_str_eq(v.buf, "2024-01-01");
	domain_release(&d);
	strbuf_release(&err);
	strbuf_release(&v);
}
END_TEST

static const struct now_case {
	const char *json, *describe;
	uint64_t count, next_day;  /* values now, and a day later after domain_refresh */
} now_cases[] = {
	{ "{\"dates\": {\"start\": \"2024-03-01\", \"end\": \"today\"}}",
	  "dates 2024-03-01..2024-03-03 (today)", 3, 4 },
	{ "{\"dates\": {\"start\": \"2024-03-01\", \"end\": \"today-1d\"}}",
	  "dates 2024-03-01..2024-03-02 (today-1d)", 2, 3 },
	{ "{\"dates\": {\"start\": \"today-1w\", \"end\": \"today+1d\"}}",
	  "dates 2024-02-25 (today-1w)..2024-03-04 (today+1d)", 9, 9 },
	{ "{\"dates\": {\"start\": \"2024-03-05\", \"end\": \"today\"}}",
	  "dates 2024-03-05..2024-03-03 (today)", 0, 0 },
	{ "{\"dates\": {\"start\": \"2024-03-01\", \"end\": \"now-4h\"}}",
	  "dates 2024-03-01..2024-03-02 (now-4h)", 2, 3 },
	{ "{\"hours\": {\"start\": \"2024-03-02T23\", \"end\": \"now\"}}",
	  "hours 2024-03-02T23..2024-03-03T03 (now)", 5, 29 },
	{ "{\"hours\": {\"start\": \"2024-03-02T23\", \"end\": \"now-2h\"}}",
	  "hours 2024-03-02T23..2024-03-03T01 (now-2h)", 3, 27 },
	{ "{\"hours\": {\"start\": \"today\", \"end\": \"now\"}}",
	  "hours 2024-03-03T00 (today)..2024-03-03T03 (now)", 4, 4 },
};

START_TEST(test_now)
{
	const struct now_case *c = &now_cases[_i];
	struct strbuf sb = STRBUF_INIT;
	struct domain d;

	setenv(CLOCK_NOW_ENV, NOW, 1);
	ck_assert_int_eq(now_s(), 1709434800);
	parse_ok(&d, c->json);
	domain_describe(&d, &sb);
	ck_assert_str_eq(sb.buf, c->describe);
	ck_assert_uint_eq(domain_count(&d), c->count);
	/* the clock moves on: refresh re-resolves */
	setenv(CLOCK_NOW_ENV, "2024-03-04T03:00:00Z", 1);
	ck_assert_uint_eq(domain_count(&d), c->count);
	ck_assert_int_eq(domain_refresh(&d, &sb), 0);
	ck_assert_uint_eq(domain_count(&d), c->next_day);
	domain_release(&d);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_now_env)
{
	struct strbuf err = STRBUF_INIT;
	struct domain d;
	long long t;

	ck_assert_int_eq(utc_parse("2024-03-03T03:00:00Z", &t), 0);
	ck_assert_int_eq(t, 1709434800);
	ck_assert_int_eq(utc_parse("2024-03-03", &t), 0);
	ck_assert_int_eq(t, 1709424000);
	ck_assert_int_eq(utc_parse("2024-02-30T00:00:00Z", &t), -1);
	ck_assert_int_eq(utc_parse("2024-03-03T03:00", &t), -1);
	unsetenv(CLOCK_NOW_ENV);
	ck_assert_int_eq(now_check(&err), 0);
	ck_assert(now_s() > 1709434800);
	setenv(CLOCK_NOW_ENV, "yesterday", 1);
	ck_assert_int_eq(now_check(&err), -1);
	ck_assert_str_eq(err.buf, "DATABUILD_NOW: expected a UTC time like 2024-03-03T03:00:00Z, "
			 "got 'yesterday'");
	strbuf_reset(&err);
	ck_assert_int_eq(parse(&d, "{\"dates\": {\"start\": \"2024-01-01\", \"end\": \"today\"}}",
			       &err), -1);
	ck_assert_str_eq(err.buf, "domains.d.dates: DATABUILD_NOW: expected a UTC time like "
			 "2024-03-03T03:00:00Z, got 'yesterday'");
	domain_release(&d);
	strbuf_release(&err);
}
END_TEST

static int parse_command(struct domain *d, const char *arg, const char *extra,
			 struct strbuf *err)
{
	char *script = fixture("list-values.sh");
	char *json = xstrfmt("{\"command\": [\"%s\", \"%s\"]%s}", script, arg, extra);
	int ret = parse(d, json, err);

	free(json);
	free(script);
	return ret;
}

START_TEST(test_command)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct domain d;

	ck_assert_int_eq(parse_command(&d, "ok", "", &err), 0);
	ck_assert_uint_eq(domain_count(&d), 0);  /* not run by parsing */
	domain_describe(&d, &out);
	ck_assert_contains(out.buf, "list-values.sh ok: not read yet");
	ck_assert_int_eq(domain_ready(&d, &err), 0);
	ck_assert_uint_eq(domain_count(&d), 4);
	strbuf_reset(&out);
	ck_assert_int_eq(list(&d, NULL, &out, &err), 4);
	ck_assert_str_eq(out.buf, "acme,globex,initech,umbrella");
	ck_assert_int_eq(domain_index(&d, "initech"), 2);
	ck_assert_int_eq(domain_contains(&d, "hooli", &err), 0);
	ck_assert_contains(err.buf, "'hooli' is not in domain 'd' (command ");
	ck_assert_contains(err.buf, "list-values.sh ok: 4 values)");
	strbuf_reset(&out);
	ck_assert_int_eq(list(&d, "globex..umbrella", &out, &err), 3);
	ck_assert_str_eq(out.buf, "globex,initech,umbrella");
	domain_release(&d);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

/* Cached until refreshed; read lazily by the first query that needs it. */
START_TEST(test_command_cache)
{
	struct strbuf err = STRBUF_INIT;
	char *dir = tmpdir_make();
	char *counter = xstrfmt("%s/calls", dir);
	char *script = fixture("list-values.sh");
	char *json = xstrfmt("{\"command\": [\"%s\", \"count\", \"%s\"]}", script, counter);
	struct domain d;

	ck_assert_int_eq(parse(&d, json, &err), 0);
	ck_assert_int_eq(domain_contains(&d, "call1", &err), 1);
	ck_assert_int_eq(domain_contains(&d, "call1", &err), 1);
	ck_assert_int_eq(domain_ready(&d, &err), 0);
	ck_assert_int_eq(domain_index(&d, "call1"), 0);
	ck_assert_int_eq(domain_refresh(&d, &err), 0);
	ck_assert_int_eq(domain_index(&d, "call1"), -1);
	ck_assert_int_eq(domain_index(&d, "call2"), 0);
	domain_release(&d);
	strbuf_release(&err);
	free(json);
	free(script);
	free(counter);
	tmpdir_remove(dir);
}
END_TEST

static const struct command_bad_case {
	const char *arg, *extra, *want;
} command_bad_cases[] = {
	{ "fail", "", "' exited with status 3:\n  cannot reach the customer database" },
	{ "slash", "", "list-values.sh': value 'bad/value' contains '/'" },
	{ "slow", ", \"timeout_s\": 1", "' timed out after 1 s" },
};

START_TEST(test_command_bad)
{
	const struct command_bad_case *c = &command_bad_cases[_i];
	struct strbuf err = STRBUF_INIT;
	struct domain d;

	ck_assert_int_eq(parse_command(&d, c->arg, c->extra, &err), 0);
	ck_assert_int_eq(domain_ready(&d, &err), -1);
	ck_assert_msg(!strncmp(err.buf, "domain 'd': ", 12), "%s", err.buf);
	ck_assert_contains(err.buf, c->want);
	ck_assert_uint_eq(domain_count(&d), 0);
	strbuf_reset(&err);
	ck_assert_int_eq(domain_contains(&d, "good", &err), -1);
	ck_assert_contains(err.buf, c->want);
	strbuf_reset(&err);
	ck_assert_int_eq(domain_iter_init(&(struct domain_iter){ 0 }, &d, NULL, &err), -1);
	ck_assert_contains(err.buf, c->want);
	domain_release(&d);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_command_missing)
{
	struct strbuf err = STRBUF_INIT;
	struct domain d;

	ck_assert_int_eq(parse(&d, "{\"command\": [\"/nonexistent/list\"]}", &err), 0);
	ck_assert_int_eq(domain_ready(&d, &err), -1);
	ck_assert_str_eq(err.buf, "domain 'd': command '/nonexistent/list' could not be started: "
			 "No such file or directory");
	domain_release(&d);
	strbuf_release(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("domain");
	TCase *tc = tcase_create("domain");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_loop_test(tc, test_member, 0, sizeof(member_cases) / sizeof(member_cases[0]));
	tcase_add_loop_test(tc, test_select, 0, sizeof(select_cases) / sizeof(select_cases[0]));
	tcase_add_test(tc, test_open_ended);
	tcase_add_test(tc, test_million);
	tcase_add_loop_test(tc, test_now, 0, sizeof(now_cases) / sizeof(now_cases[0]));
	tcase_add_test(tc, test_now_env);
	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_command_cache);
	tcase_add_loop_test(tc, test_command_bad, 0,
			    sizeof(command_bad_cases) / sizeof(command_bad_cases[0]));
	tcase_add_test(tc, test_command_missing);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
