#include "model/manifest.h"
#include "testutil.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* What manifest_to_json prints for the base manifest (and what we feed in). */
static const char base[] =
	"{\"run_id\":\"42\",\"job\":\"daily_summary\",\"version\":\"1.2.0\","
	"\"build_key\":\"" H1 "\",\"start_time\":1732397549123456,"
	"\"end_time\":1732397550000000,"
	"\"outputs\":[{\"ref\":\"s/d=1\",\"sha256\":\"" H2 "\",\"size\":123}],"
	"\"inputs\":[{\"ref\":\"r/d=1\",\"dep_type\":\"materialize\",\"sha256\":\"" H1 "\","
	"\"run_id\":\"41\"},{\"ref\":\"dim/x\",\"dep_type\":\"query\",\"sha256\":\"\","
	"\"run_id\":null}],"
	"\"config\":{\"outputs\":[\"s/d=1\"],\"inputs\":[{\"dep_type\":\"materialize\","
	"\"ref\":\"r/d=1\"},{\"dep_type\":\"query\",\"ref\":\"dim/x\"}],\"args\":[\"x\"],"
	"\"env\":{\"A\":\"b\"}},\"log\":\"/s/logs/42.log\",\"host\":null}";

/* base with its first occurrence of `from` replaced by `to` must fail with want. */
static const struct bad_case {
	const char *from, *to, *want;
} bad_cases[] = {
	{ "{\"run_id\":\"42\",", "[", "line 1, column" },
	{ "\"run_id\":\"42\",", "", "run_id: required member is missing" },
	{ "\"run_id\":\"42\"", "\"run_id\":42", "run_id: expected a string, got a number" },
	{ "\"run_id\":\"42\"", "\"run_id\":\"\"", "run_id: expected a non-empty string" },
	{ "\"job\":\"daily_summary\",", "", "job: required member is missing" },
	{ "\"version\":\"1.2.0\"", "\"version\":1", "version: expected a string or null, got a number" },
	{ "\"build_key\":\"" H1 "\"", "\"build_key\":\"abc\"",
	  "build_key: expected 64 lowercase hex digits, got 'abc'" },
	{ "\"build_key\":\"0123", "\"build_key\":\"A123",
	  "build_key: expected 64 lowercase hex digits" },
	{ "\"start_time\":1732397549123456,", "", "start_time: required member is missing" },
	{ "\"start_time\":1732397549123456", "\"start_time\":1.5",
	  "start_time: expected an integer, got 1.5" },
	{ "\"end_time\":1732397550000000", "\"end_time\":1",
	  "end_time: end time 1 is before start time 1732397549123456" },
	{ "\"outputs\":[{\"ref\":\"s/d=1\",\"sha256\":\"" H2 "\",\"size\":123}]", "\"outputs\":[]",
	  "outputs: expected a non-empty array of outputs, got an empty array" },
	{ "{\"ref\":\"s/d=1\",\"sha256\"", "{\"ref\":\"s//d\",\"sha256\"",
	  "outputs[0].ref: invalid ref 's//d'" },
	{ "\"sha256\":\"" H2 "\"", "\"sha256\":\"\"",
	  "outputs[0].sha256: expected 64 lowercase hex digits, got ''" },
	{ "\"size\":123", "\"size\":-1", "outputs[0].size: expected a size >= 0, got -1" },
	{ "\"size\":123", "\"size\":\"1\"", "outputs[0].size: expected an integer, got a string" },
	{ "\"outputs\":[{", "\"outputs\":[1,{", "outputs[0]: expected an object" },
	{ "\"dep_type\":\"query\",\"sha256\"", "\"dep_type\":\"q\",\"sha256\"",
	  "inputs[1].dep_type: expected \"materialize\" or \"query\", got 'q'" },
	{ "\"sha256\":\"\",", "\"sha256\":\"xyz\",",
	  "inputs[1].sha256: expected \"\" or 64 lowercase hex digits, got 'xyz'" },
	{ "\"run_id\":\"41\"", "\"run_id\":[]", "inputs[0].run_id: expected a string or null, got an array" },
	{ "\"inputs\":[{\"ref\":\"r/d=1\"", "\"inputs\":[{\"ref\":\"r/d=1/\"",
	  "inputs[0].ref: invalid ref 'r/d=1/'" },
	{ "\"config\":{\"outputs\":[\"s/d=1\"]", "\"config\":{\"outputs\":[]",
	  "config.outputs: expected a non-empty array of refs, got an empty array" },
	{ "{\"dep_type\":\"query\",\"ref\":\"dim/x\"}", "{\"dep_type\":\"query\",\"ref\":\"s/d=1\"}",
	  "config.inputs[1].ref: 's/d=1' is also an output of this config" },
	{ ",\"config\":{", ",\"configx\":{", "config: required member is missing" },
	{ "\"log\":\"/s/logs/42.log\"", "\"log\":false", "log: expected a string or null, got a boolean" },
	{ "\"host\":null", "\"host\":null,\"host\":\"a\"", "host: duplicate member" },
};

static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	struct strbuf sb = STRBUF_INIT;

	ck_assert_msg(at != NULL, "case does not apply: %s", from);
	strbuf_add(&sb, text, at - text);
	strbuf_addstr(&sb, to);
	strbuf_addstr(&sb, at + strlen(from));
	return strbuf_detach(&sb, NULL);
}

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	char *text = replaced(base, c->from, c->to);
	struct strbuf err = STRBUF_INIT;
	struct manifest m;

	ck_assert_int_eq(manifest_parse(&m, text, strlen(text), &err), -1);
	ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)),
		      "want prefix\n  %s\ngot\n  %s", c->want, err.buf);
	manifest_release(&m);
	strbuf_release(&err);
	free(text);
}
END_TEST

static void encode(const struct manifest *m, struct strbuf *out)
{
	cJSON *j = manifest_to_json(m);

	json_print(j, out);
	cJSON_Delete(j);
}

START_TEST(test_round_trip)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct manifest m, m2;

	ck_assert_msg(manifest_parse(&m, base, strlen(base), &err) == 0, "%s", err.buf);
	ck_assert_str_eq(m.run_id, "42");
	ck_assert_str_eq(m.job, "daily_summary");
	ck_assert_str_eq(m.version, "1.2.0");
	ck_assert_str_eq(m.build_key, H1);
	ck_assert(m.start_time_us == 1732397549123456LL);
	ck_assert_int_eq(m.outputs_nr, 1);
	ck_assert(m.outputs[0].size == 123);
	ck_assert_int_eq(m.inputs_nr, 2);
	ck_assert_int_eq(m.inputs[1].type, DEP_QUERY);
	ck_assert_ptr_null(m.inputs[1].run_id);
	ck_assert_str_eq(m.inputs[1].sha256, "");
	ck_assert_ptr_null(m.host);
	ck_assert_str_eq(m.log_path, "/s/logs/42.log");
	encode(&m, &out);
	ck_assert_str_eq(out.buf, base);

	ck_assert_int_eq(manifest_parse(&m2, out.buf, out.len, &err), 0);
	ck_assert(job_config_equal(&m.config, &m2.config));
	manifest_release(&m);
	manifest_release(&m2);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

START_TEST(test_built)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT, out2 = STRBUF_INIT;
	struct manifest m, m2;
	struct manifest_output *o;
	struct manifest_input *in;

	manifest_init(&m);
	m.run_id = xstrdup("7");
	m.job = xstrdup("j");
	memcpy(m.build_key, H2, sizeof(H2));
	m.start_time_us = 1000000000000000LL;
	m.end_time_us = 1000000000000001LL;
	o = manifest_add_output(&m, "a/b");
	ck_assert(o->size == -1);
	memcpy(o->sha256, H1, sizeof(H1));
	o->size = 0;
	in = manifest_add_input(&m, "c/d");
	ck_assert_int_eq(in->type, DEP_MATERIALIZE);
	strvec_push(&m.config.outputs, "a/b");
	encode(&m, &out);
	ck_assert_contains(out.buf, "\"start_time\":1000000000000000,");
	ck_assert_contains(out.buf, "\"version\":null");
	ck_assert_int_eq(manifest_parse(&m2, out.buf, out.len, &err), 0);
	encode(&m2, &out2);
	ck_assert_str_eq(out2.buf, out.buf);
	manifest_release(&m);
	manifest_release(&m2);
	strbuf_release(&err);
	strbuf_release(&out);
	strbuf_release(&out2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("manifest");

	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_built);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
