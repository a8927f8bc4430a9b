#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/address.h"
#include "service/query.h"

/* query_limit: text -> limit, or an error containing want_err. */
static const struct limit_case {
	const char *text;
	size_t want;
	const char *want_err;
} limit_cases[] = {
	{ NULL, QUERY_LIMIT_DEFAULT, NULL },
	{ "1", 1, NULL },
	{ "10000", 10000, NULL },
	{ "0", 0, "parameter 'limit': expected an integer from 1 to 10000, got '0'" },
	{ "10001", 0, "got '10001'" },
	{ "-5", 0, "got '-5'" },
	{ "", 0, "got ''" },
	{ "12abc", 0, "got '12abc'" },
	{ "99999999999999999999999", 0, "parameter 'limit'" },
};

START_TEST(test_limit)
{
	const struct limit_case *c = &limit_cases[_i];
	struct strbuf err = STRBUF_INIT;
	size_t got = 0;
	int rc = query_limit(c->text, &got, &err);

	if (c->want_err) {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(strstr(err.buf, c->want_err), "'%s' lacks '%s'", err.buf, c->want_err);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(got, c->want);
	}
	strbuf_release(&err);
}
END_TEST

static const struct seq_case {
	const char *text;
	int64_t want;
	int ok;
} seq_cases[] = {
	{ NULL, 0, 1 }, { "0", 0, 1 }, { "42", 42, 1 }, { "-1", 0, 0 }, { "1e3", 0, 0 },
	{ "", 0, 0 }, { "1234567890123456789", 0, 0 },
};

START_TEST(test_seq)
{
	const struct seq_case *c = &seq_cases[_i];
	struct strbuf err = STRBUF_INIT;
	int64_t got = -1;
	int rc = query_seq("after", c->text, &got, &err);

	ck_assert_int_eq(rc, c->ok ? 0 : -1);
	if (c->ok)
		ck_assert_int_eq(got, c->want);
	else
		ck_assert_msg(strstr(err.buf, "parameter 'after'"), "%s", err.buf);
	strbuf_release(&err);
}
END_TEST

static const struct dataset_case {
	const char *ref, *want;
} dataset_cases[] = {
	{ "reviews/date=2024-01-01", "reviews" },
	{ "summaries/category=comedy/date=2024-01-01", "summaries" },
	{ "a/b/x=1", "a/b" },
	{ "raw/d1", "raw" },
	{ "a/b/c", "a/b" },
	{ "top", "top" },
	{ "x=1/y=2", "x=1" },
};

START_TEST(test_dataset)
{
	const struct dataset_case *c = &dataset_cases[_i];
	size_t n = dataset_len(c->ref);

	ck_assert_uint_eq(n, strlen(c->want));
	ck_assert_int_eq(strncmp(c->ref, c->want, n), 0);
}
END_TEST

static const struct path_case {
	const char *path;
	int unsafe;
} path_cases[] = {
	{ "/", 0 }, { "/api/datasets", 0 }, { "/api/partitions/a/date=1", 0 },
	{ "/../../etc/passwd", 1 }, { "/api/../x", 1 }, { "/api/./x", 1 }, { "/api//x", 1 },
	{ "/api/x/..", 1 }, { "/api/..x", 0 },
};

START_TEST(test_path)
{
	ck_assert_int_eq(path_unsafe(path_cases[_i].path), path_cases[_i].unsafe);
}
END_TEST

static const struct range_case {
	const char *text;
	int64_t size;
	int rc;
	int64_t from, to;
} range_cases[] = {
	{ "bytes=0-9", 100, 1, 0, 9 },
	{ "bytes=10-", 100, 1, 10, 99 },
	{ "bytes=-10", 100, 1, 90, 99 },
	{ "bytes=-500", 100, 1, 0, 99 },
	{ "bytes=50-500", 100, 1, 50, 99 },
	{ "bytes=100-", 100, 0, 0, 0 },
	{ "bytes=-0", 100, 0, 0, 0 },
	{ "bytes=5-2", 100, -1, 0, 0 },
	{ "bytes=0-1,5-6", 100, -1, 0, 0 },
	{ "items=0-1", 100, -1, 0, 0 },
	{ "bytes=a-b", 100, -1, 0, 0 },
	{ "bytes=-", 100, -1, 0, 0 },
};

START_TEST(test_range)
{
	const struct range_case *c = &range_cases[_i];
	int64_t from = -1, to = -1;
	int rc = range_parse(c->text, c->size, &from, &to);

	ck_assert_int_eq(rc, c->rc);
	if (rc == 1) {
		ck_assert_int_eq(from, c->from);
		ck_assert_int_eq(to, c->to);
	}
}
END_TEST

static const struct body_case {
	const char *body;
	int with_downstream;
	const char *want;       /* the refs joined by ' ', then " ds=N"; or the error */
	int ok;
} body_cases[] = {
	{ "{\"refs\": [\"a/x=1\", \"b/x=2\", \"a/x=1\"]}", 0, "a/x=1 b/x=2", 1 },
	{ "{\"refs\": [\"a/x=1\"], \"downstream\": true}", 1, "a/x=1 ds=1", 1 },
	{ "{\"refs\": [\"a/x=1\"]}", 1, "a/x=1 ds=0", 1 },
	{ "", 0, "request body: expected a JSON object", 0 },
	{ "[1]", 0, "(root): expected an object", 0 },
	{ "{\"refs\": []}", 0, "refs: expected a non-empty array", 0 },
	{ "{\"refs\": [3]}", 0, "refs[0]: expected a ref, got a number", 0 },
	{ "{\"refs\": [\"a/../b\"]}", 0, "refs[0]: invalid ref 'a/../b'", 0 },
	{ "{\"refs\": [\"a\"], \"downstream\": 1}", 1, "downstream: expected true or false", 0 },
	{ "{\"refs\": [\"a\"], \"downstream\": true}", 0, "downstream: not accepted here", 0 },
	{ "{\"refs\": [\"a\"", 0, "line 1", 0 },
};

START_TEST(test_body)
{
	const struct body_case *c = &body_cases[_i];
	struct strvec refs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
	int ds = -1;
	int rc = body_refs(c->body, strlen(c->body), &refs, c->with_downstream ? &ds : NULL,
			   &err);

	if (!c->ok) {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(strstr(err.buf, c->want), "'%s' lacks '%s'", err.buf, c->want);
	} else {
		ck_assert_msg(rc == 0, "%s", err.buf);
		for (size_t i = 0; i < refs.nr; i++)
			strbuf_addf(&got, "%s%s", i ? " " : "", refs.v[i]);
		if (c->with_downstream)
			strbuf_addf(&got, " ds=%d", ds);
		ck_assert_str_eq(got.buf, c->want);
	}
	strvec_clear(&refs);
	strbuf_release(&err);
	strbuf_release(&got);
}
END_TEST

static const struct addr_case {
	const char *text;
	int ok, loopback;
	const char *host;
	unsigned port;
} addr_cases[] = {
	{ "127.0.0.1:8707", 1, 1, "127.0.0.1", 8707 },
	{ "127.1.2.3:0", 1, 1, "127.1.2.3", 0 },
	{ "0.0.0.0:80", 1, 0, "0.0.0.0", 80 },
	{ "[::1]:8707", 1, 1, "[::1]", 8707 },
	{ "[::]:8707", 1, 0, "[::]", 8707 },
	{ "localhost:8707", 0, 0, NULL, 0 },
	{ "127.0.0.1", 0, 0, NULL, 0 },
	{ "127.0.0.1:65536", 0, 0, NULL, 0 },
	{ "127.0.0.1:-1", 0, 0, NULL, 0 },
	{ ":8707", 0, 0, NULL, 0 },
	{ "::1:8707", 0, 0, NULL, 0 },
};

START_TEST(test_addr)
{
	const struct addr_case *c = &addr_cases[_i];
	struct listen_addr a;
	struct strbuf err = STRBUF_INIT;
	int rc = listen_addr_parse(c->text, &a, &err);

	ck_assert_msg((rc == 0) == c->ok, "%s: %s", c->text, err.buf);
	if (c->ok) {
		ck_assert_int_eq(a.loopback, c->loopback);
		ck_assert_str_eq(a.host, c->host);
		ck_assert_uint_eq(a.port, c->port);
	} else {
		ck_assert_msg(strstr(err.buf, "listen address '"), "%s", err.buf);
	}
	strbuf_release(&err);
}
END_TEST

#define N(a) (sizeof(a) / sizeof((a)[0]))

static Suite *query_suite(void)
{
	Suite *s = suite_create("service-query");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_limit, 0, N(limit_cases));
	tcase_add_loop_test(tc, test_seq, 0, N(seq_cases));
	tcase_add_loop_test(tc, test_dataset, 0, N(dataset_cases));
	tcase_add_loop_test(tc, test_path, 0, N(path_cases));
	tcase_add_loop_test(tc, test_range, 0, N(range_cases));
	tcase_add_loop_test(tc, test_body, 0, N(body_cases));
	tcase_add_loop_test(tc, test_addr, 0, N(addr_cases));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(query_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
