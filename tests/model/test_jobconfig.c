#include "model/jobconfig.h"
#include "testutil.h"

#define OK "{\"outputs\": [\"a/x=1\"]}"

static const struct bad_case {
	const char *json;
	const char *want;  /* the whole error message */
} bad_cases[] = {
	{ "{}", "(root): expected an array of job configs, got an object" },
	{ "[1]", "[0]: expected a job config object, got a number" },
	{ "[" OK ", null]", "[1]: expected a job config object, got null" },
	{ "[{}]", "[0].outputs: required member is missing" },
	{ "[{\"outputs\": []}]",
	  "[0].outputs: expected a non-empty array of refs, got an empty array" },
	{ "[{\"outputs\": \"a\"}]",
	  "[0].outputs: expected a non-empty array of refs, got a string" },
	{ "[{\"outputs\": [1]}]", "[0].outputs[0]: expected a ref string, got a number" },
	{ "[{\"outputs\": [\"a//b\"]}]",
	  "[0].outputs[0]: invalid ref 'a//b': empty segment at byte 2" },
	{ "[{\"outputs\": [\"/a\"]}]", "[0].outputs[0]: invalid ref '/a'" },
	{ "[{\"outputs\": [\"a/..\"]}]", "[0].outputs[0]: invalid ref 'a/..'" },
	{ "[{\"outputs\": [\"a\\u0001\"]}]", "[0].outputs[0]: invalid ref" },
	{ "[{\"outputs\": [\"a\", \"b\", \"a\"]}]", "[0].outputs[2]: duplicate output 'a'" },
	{ "[{\"outputs\": [\"a\"], \"outputs\": [\"b\"]}]", "[0].outputs: duplicate member" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": {}}]",
	  "[0].inputs: expected an array of inputs, got an object" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [\"b\"]}]",
	  "[0].inputs[0]: expected an object {\"dep_type\", \"ref\"}, got a string" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"ref\": \"b\"}]}]",
	  "[0].inputs[0].dep_type: required member is missing" },
	{ "[" OK ", " OK ", {\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": \"build\", "
	  "\"ref\": \"b\"}]}]",
	  "[2].inputs[0].dep_type: expected \"materialize\" or \"query\", got 'build'" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": 1, \"ref\": \"b\"}]}]",
	  "[0].inputs[0].dep_type: expected a string, got a number" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": \"query\"}]}]",
	  "[0].inputs[0].ref: required member is missing" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": \"query\", \"ref\": \"b/\"}]}]",
	  "[0].inputs[0].ref: invalid ref 'b/': trailing '/'" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": \"query\", \"ref\": \"a\"}]}]",
	  "[0].inputs[0].ref: 'a' is also an output of this config" },
	{ "[{\"outputs\": [\"a\"], \"inputs\": [{\"dep_type\": \"query\", \"ref\": \"b\"}, "
	  "{\"dep_type\": \"materialize\", \"ref\": \"b\"}]}]",
	  "[0].inputs[1].ref: duplicate input 'b'" },
	{ "[{\"outputs\": [\"a\"], \"args\": \"x\"}]",
	  "[0].args: expected an array of strings, got a string" },
	{ "[{\"outputs\": [\"a\"], \"args\": [\"x\", 2]}]",
	  "[0].args[1]: expected a string, got a number" },
	{ "[{\"outputs\": [\"a\"], \"env\": []}]",
	  "[0].env: expected an object of strings, got an array" },
	{ "[{\"outputs\": [\"a\"], \"env\": {\"N\": 1}}]",
	  "[0].env.N: expected a string, got a number" },
	{ "[{\"outputs\": [\"a\"], \"env\": {\"A=B\": \"x\"}}]",
	  "[0].env[\"A=B\"]: variable name contains '='" },
	{ "[{\"outputs\": [\"a\"], \"env\": {\"\": \"x\"}}]", "[0].env: empty variable name" },
	{ "[{\"outputs\": [\"a\"], \"env\": {\"N\": \"x\", \"N\": \"y\"}}]",
	  "[0].env.N: duplicate variable" },
	{ "[{\"outputs\": [\"a\"]}", "line 1, column 20: unexpected end of input (expected ',' or ']')" },
	{ "", "line 1, column 1: expected a JSON value, got end of input" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct job_config_list l = JOB_CONFIG_LIST_INIT;
	struct strbuf err = STRBUF_INIT;

	ck_assert_int_eq(job_config_list_parse(&l, c->json, strlen(c->json), &err), -1);
	ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)),
		      "want prefix\n  %s\ngot\n  %s", c->want, err.buf);
	job_config_list_release(&l);
	strbuf_release(&err);
}
END_TEST

/* Accepted input -> the exact encoder output. */
static const struct good_case {
	const char *json;
	const char *encoded;
} good_cases[] = {
	{ "[]", "[]" },
	{ "[{\"outputs\": [\"a/x=1\"]}]",
	  "[{\"outputs\":[\"a/x=1\"],\"inputs\":[],\"args\":[],\"env\":{}}]" },
	{ " [ {\"env\": {\"B\": \"2\", \"A\": \"x=y\"}, \"unknown\": {\"deep\": [1]},\n"
	  "    \"args\": [\"--date\", \"2024-01-01\", \"\"],\n"
	  "    \"inputs\": [{\"ref\": \"r/d=1\", \"dep_type\": \"query\", \"extra\": 1},\n"
	  "               {\"dep_type\": \"materialize\", \"ref\": \"r/d=0\"}],\n"
	  "    \"outputs\": [\"s/d=1\", \"s/d=2\"]},\n"
	  "  {\"outputs\": [\"caf\xc3\xa9/q\\\"\"]} ]",
	  "[{\"outputs\":[\"s/d=1\",\"s/d=2\"],\"inputs\":[{\"dep_type\":\"query\",\"ref\":\"r/d=1\"},"
	  "{\"dep_type\":\"materialize\",\"ref\":\"r/d=0\"}],\"args\":[\"--date\",\"2024-01-01\",\"\"],"
	  "\"env\":{\"B\":\"2\",\"A\":\"x=y\"}},"
	  "{\"outputs\":[\"caf\xc3\xa9/q\\\"\"],\"inputs\":[],\"args\":[],\"env\":{}}]" },
};

START_TEST(test_good)
{
	const struct good_case *c = &good_cases[_i];
	struct job_config_list l = JOB_CONFIG_LIST_INIT, l2 = JOB_CONFIG_LIST_INIT;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT, out2 = STRBUF_INIT;
	cJSON *j;

	ck_assert_msg(job_config_list_parse(&l, c->json, strlen(c->json), &err) == 0,
		      "%s", err.buf);
	j = job_config_list_to_json(&l);
	json_print(j, &out);
	cJSON_Delete(j);
	ck_assert_str_eq(out.buf, c->encoded);

	/* encode(decode(encode output)) is byte-identical; decode(encode(x)) == x */
	ck_assert_msg(job_config_list_parse(&l2, out.buf, out.len, &err) == 0, "%s", err.buf);
	j = job_config_list_to_json(&l2);
	json_print(j, &out2);
	cJSON_Delete(j);
	ck_assert_str_eq(out2.buf, out.buf);
	ck_assert_int_eq(l.nr, l2.nr);
	for (size_t i = 0; i < l.nr; i++)
		ck_assert(job_config_equal(&l.items[i], &l2.items[i]));

	job_config_list_release(&l);
	job_config_list_release(&l2);
	strbuf_release(&err);
	strbuf_release(&out);
	strbuf_release(&out2);
}
END_TEST

/*
 * job_config_list_parse decodes the common shape of an answer without a
 * cJSON tree and leaves everything else to the full decoder: both must
 * give the same configs, or the same error.
 */
#define IN(t, r) "{\"dep_type\": \"" t "\", \"ref\": \"" r "\"}"
static const char *const same_cases[] = {
	"[]",
	" [\n] \n",
	"[{\"outputs\":[\"a/1\"],\"inputs\":[" IN("materialize", "b/1") "," IN("query", "b/2")
	"],\"args\":[\"a/1\"]}]",
	"[{\"args\": [], \"env\": {}, \"inputs\": [], \"outputs\": [\"a/1\", \"a/2\"]},\n"
	" {\"outputs\": [\"a/3\"], \"env\": {\"B\": \"2\", \"A\": \"x=y\", \"C\": \"\"}}]",
	"[{\"outputs\": [\"a/1\"], \"inputs\": [{\"ref\": \"b/1\", \"dep_type\": \"query\"}]}]",
	"[{\"outputs\": [\"caf\xc3\xa9/1\"], \"args\": [\"\xe2\x82\xac\", \"\"]}]",
	/* more than 8 refs: duplicates are found by sorting */
	"[{\"outputs\": [\"a/1\"], \"inputs\": [" IN("query", "b/1") "," IN("query", "b/2") ","
	IN("query", "b/3") "," IN("query", "b/4") "," IN("query", "b/5") "," IN("query", "b/6") ","
	IN("query", "b/7") "," IN("query", "b/8") "," IN("query", "b/9") "]}]",
	/* what only the full decoder takes: escapes, unknown members */
	"[{\"outputs\": [\"a/\\u0078\"], \"args\": [\"\\n\"]}]",
	"[{\"outputs\": [\"a/1\"], \"note\": [1, true, null]}]",
	"[{\"outputs\": [\"a/1\"], \"inputs\": [{\"dep_type\": \"query\", \"ref\": \"b\", "
	"\"why\": 1}]}]",
	/* faults: the full decoder's message */
	"[{\"outputs\": [\"a/1\"], \"inputs\": [" IN("query", "b/1") "," IN("query", "b/2") ","
	IN("query", "b/3") "," IN("query", "b/4") "," IN("query", "b/5") "," IN("query", "b/6") ","
	IN("query", "b/7") "," IN("query", "b/8") "," IN("query", "b/3") "]}]",
	"[{\"outputs\": [\"a/1\", \"a/2\", \"a/3\", \"a/4\", \"a/5\", \"a/6\", \"a/7\", "
	"\"a/8\", \"a/9\"], \"inputs\": [" IN("materialize", "a/9") "]}]",
	"[{\"outputs\": [\"a/1\"], \"env\": {\"A\": \"1\", \"A\": \"2\"}}]",
	"[{\"outputs\": [\"a/1\"], \"env\": {\"=\": \"1\"}}]",
	"[{\"outputs\": [\"a/1\"], \"inputs\": [" IN("build", "b/1") "]}]",
	"[{\"outputs\": [\"a/1\"], \"inputs\": [{\"dep_type\": \"query\", \"dep_type\": "
	"\"query\", \"ref\": \"b\"}]}]",
	"[{\"outputs\": [\"a/1\"]}] x",
	"[{\"outputs\": [\"a/1\"]},]",
	"[{\"outputs\": [\"a/1\"], \"args\": [\"\x01\"]}]",
	"[{\"outputs\": [\"a/1\"], \"args\": [\"\xc3\"]}]",
	"[{\"outputs\": [\"a/1\"], \"args\": [\"x\"], \"args\": []}]",
	"[{\"outputs\": [\"a/1\"]}, {\"outputs\": [\"a/1/\"]}]",
};

/* job_config_list_parse and the full decoder on text (len bytes) agree. */
static void check_agree(const char *text, size_t len)
{
	struct job_config_list fast = JOB_CONFIG_LIST_INIT, full = JOB_CONFIG_LIST_INIT;
	struct strbuf fast_err = STRBUF_INIT, full_err = STRBUF_INIT;
	struct jpath root = JPATH_ROOT;
	cJSON *j = json_parse(text, len, &full_err);
	int fast_ret = job_config_list_parse(&fast, text, len, &fast_err);
	int full_ret = j ? job_config_list_from_json(&full, j, &root, &full_err) : -1;

	ck_assert_msg(fast_ret == full_ret, "%.*s", (int)len, text);
	ck_assert_str_eq(fast_err.buf, full_err.buf);
	ck_assert_uint_eq(fast.nr, full.nr);
	for (size_t i = 0; i < fast.nr; i++)
		ck_assert(job_config_equal(&fast.items[i], &full.items[i]));
	cJSON_Delete(j);
	job_config_list_release(&fast);
	job_config_list_release(&full);
	strbuf_release(&fast_err);
	strbuf_release(&full_err);
}

START_TEST(test_fast_path_agrees)
{
	check_agree(same_cases[_i], strlen(same_cases[_i]));
}
END_TEST

/* Every byte of a few accepted answers replaced by JSON's punctuation and others. */
START_TEST(test_fast_path_mutations)
{
	static const char subst[] = "\"\\,:[]{} \n=/xq0\x01\xc3\x80";
	const char *seed = same_cases[_i];
	size_t len = strlen(seed);
	char *text = xstrdup(seed);

	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < sizeof(subst) - 1; k++) {
			text[i] = subst[k];
			check_agree(text, len);
		}
		text[i] = seed[i];
		check_agree(text, i);  /* cut short */
	}
	free(text);
}
END_TEST

START_TEST(test_env_and_fields)
{
	const char *text = "[{\"outputs\": [\"o\"], \"env\": {\"Z\": \"\", \"A\": \"1=2\"},"
			   " \"inputs\": [{\"dep_type\": \"query\", \"ref\": \"i\"}]}]";
	struct job_config_list l = JOB_CONFIG_LIST_INIT;
	struct strbuf err = STRBUF_INIT;
	struct job_config copy;

	ck_assert_int_eq(job_config_list_parse(&l, text, strlen(text), &err), 0);
	ck_assert_int_eq(l.nr, 1);
	ck_assert_int_eq(l.items[0].env.nr, 2);
	ck_assert_str_eq(l.items[0].env.v[0], "Z=");
	ck_assert_str_eq(l.items[0].env.v[1], "A=1=2");
	ck_assert_int_eq(l.items[0].inputs_nr, 1);
	ck_assert_int_eq(l.items[0].inputs[0].type, DEP_QUERY);
	ck_assert_str_eq(l.items[0].inputs[0].ref, "i");

	job_config_copy(&copy, &l.items[0]);
	ck_assert(job_config_equal(&copy, &l.items[0]));
	strvec_push(&copy.args, "x");
	ck_assert(!job_config_equal(&copy, &l.items[0]));
	job_config_release(&copy);
	job_config_copy(&copy, &l.items[0]);
	copy.inputs[0].type = DEP_MATERIALIZE;
	ck_assert(!job_config_equal(&copy, &l.items[0]));
	job_config_release(&copy);

	ck_assert_str_eq(dep_type_name(DEP_QUERY), "query");
	ck_assert_str_eq(dep_type_name(DEP_MATERIALIZE), "materialize");
	ck_assert_int_eq(dep_type_parse("query"), DEP_QUERY);
	ck_assert_int_eq(dep_type_parse("Query"), -1);
	job_config_list_release(&l);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_built_in_code)
{
	struct job_config c = JOB_CONFIG_INIT, d;
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct jpath root = JPATH_ROOT;
	cJSON *j;

	strvec_push(&c.outputs, "p/date=2024-01-01");
	job_config_add_input(&c, DEP_MATERIALIZE, "r/date=2024-01-01");
	job_config_add_input(&c, DEP_QUERY, "dim/x");
	strvec_push(&c.args, "run");
	strvec_push(&c.env, "TZ=UTC");
	j = job_config_to_json(&c);
	ck_assert_int_eq(job_config_from_json(&d, j, &root, &err), 0);
	ck_assert(job_config_equal(&c, &d));
	json_print(j, &out);
	ck_assert_str_eq(out.buf, "{\"outputs\":[\"p/date=2024-01-01\"],\"inputs\":["
			 "{\"dep_type\":\"materialize\",\"ref\":\"r/date=2024-01-01\"},"
			 "{\"dep_type\":\"query\",\"ref\":\"dim/x\"}],\"args\":[\"run\"],"
			 "\"env\":{\"TZ\":\"UTC\"}}");
	cJSON_Delete(j);
	job_config_release(&c);
	job_config_release(&d);
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jobconfig");
	TCase *tc = tcase_create("jobconfig");

	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_loop_test(tc, test_good, 0, sizeof(good_cases) / sizeof(good_cases[0]));
	tcase_add_loop_test(tc, test_fast_path_agrees, 0, sizeof(same_cases) / sizeof(same_cases[0]));
	tcase_add_loop_test(tc, test_fast_path_mutations, 2, 7);  /* the accepted shapes */
	tcase_add_test(tc, test_env_and_fields);
	tcase_add_test(tc, test_built_in_code);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
