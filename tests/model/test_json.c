#include "core/json.h"
#include "testutil.h"

/* json_parse: syntax errors carry line and column. */
static const struct syntax_case {
	const char *text;
	const char *want;
} syntax_cases[] = {
	{ "", "line 1, column 1: expected a JSON value, got end of input" },
	{ "  \n\t ", "line 2, column 3: expected a JSON value, got end of input" },
	{ "[1, 2", "line 1, column 6: unexpected end of input (expected ',' or ']')" },
	{ "[\"abc", "line 1, column 2: unterminated string" },
	{ "{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':' after the member name, got '2'" },
	{ "[1, 2,]", "line 1, column 7: expected a value after ',', got ']'" },
	{ "{\"a\": 1,}", "line 1, column 9: expected a member after ',', got '}'" },
	{ "{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}', got '\"'" },
	{ "{a: 1}", "line 1, column 2: expected a member name in double quotes, got 'a'" },
	{ "[\"a\\x\"]", "line 1, column 4: invalid escape in a string" },
	{ "[\"\\u12G4\"]", "line 1, column 7: expected 4 hex digits after \\u, got 'G'" },
	{ "[\"a\tb\"]", "line 1, column 4: control character 0x09 in a string (escape it)" },
	{ "[\"a\\u0000\"]", "line 1, column 4: \\u0000 in a string is not supported" },
	{ "[\"\\u00e9\\n\"]", NULL },
	{ "[1.]", "line 1, column 4: expected a digit, got ']'" },
	{ "[-]", "line 1, column 3: expected a digit, got ']'" },
	{ "[1e]", "line 1, column 4: expected a digit, got ']'" },
	{ "{", "line 1, column 2: unexpected end of input (expected a member name in double quotes)" },
	{ "{\"a\":", "line 1, column 6: unexpected end of input (expected a value)" },
	{ "[1] x", "line 1, column 5: unexpected text after the JSON value" },
	{ "[1]\n\n  {}", "line 3, column 3: unexpected text after the JSON value" },
	{ "{\"a\": tru}", "line 1, column 7: invalid literal (expected 'true')" },
	{ "[nul]", "line 1, column 2: invalid literal (expected 'null')" },
	{ "[\"\xc3\xa9\xc3\xa9\", @]", "line 1, column 8: expected a value, got '@'" },
	{ "[\x7f]", "line 1, column 2: expected a value, got byte 0x7f" },
};

START_TEST(test_syntax)
{
	const struct syntax_case *c = &syntax_cases[_i];
	struct strbuf err = STRBUF_INIT;
	cJSON *j = json_parse(c->text, strlen(c->text), &err);

	if (!c->want) {
		ck_assert_msg(j != NULL, "%s", err.buf);
		cJSON_Delete(j);
	} else {
		ck_assert_ptr_null(j);
		ck_assert_str_eq(err.buf, c->want);
	}
	strbuf_release(&err);
}
END_TEST

START_TEST(test_deep)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;

	for (int i = 0; i < 1001; i++)
		strbuf_addch(&text, '[');
	for (int i = 0; i < 1001; i++)
		strbuf_addch(&text, ']');
	ck_assert_ptr_null(json_parse(text.buf, text.len, &err));
	ck_assert_str_eq(err.buf, "line 1, column 1001: nested deeper than 1000 levels");
	strbuf_release(&text);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_parse_ok)
{
	struct strbuf err = STRBUF_INIT;
	/* not NUL-terminated: the length is authoritative */
	const char text[] = { ' ', '[', '1', ']', '\n', 'X' };
	cJSON *j = json_parse(text, 5, &err);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(err.buf, "");
	ck_assert_int_eq(cJSON_GetArraySize(j), 1);
	cJSON_Delete(j);
	strbuf_release(&err);
}
END_TEST

/* json_parse_object: a syntax error, a root of the wrong type, an object. */
static const struct parse_object_case {
	const char *text;
	const char *want;  /* error, or NULL for success */
} parse_object_cases[] = {
	{ "{\"a\": 1}", NULL },
	{ "[]", "(root): expected a thing {\"a\"}, got an array" },
	{ "\"x\"", "(root): expected a thing {\"a\"}, got a string" },
	{ "{", "line 1, column 2: unexpected end of input (expected a member name in "
	  "double quotes)" },
};

START_TEST(test_parse_object)
{
	const struct parse_object_case *c = &parse_object_cases[_i];
	struct strbuf err = STRBUF_INIT;
	cJSON *root = (cJSON *)1;
	int r = json_parse_object(c->text, strlen(c->text), "a thing {\"a\"}", &root, &err);

	if (c->want) {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_null(root);
		ck_assert_str_eq(err.buf, c->want);
	} else {
		ck_assert_msg(r == 0, "unexpected error: %s", err.buf);
		ck_assert(cJSON_IsObject(root));
	}
	cJSON_Delete(root);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_jpath)
{
	struct jpath root = JPATH_ROOT;
	struct jpath a = { &root, NULL, 2 };
	struct jpath b = { &a, "inputs", 0 };
	struct jpath c = { &b, NULL, 0 };
	struct jpath d = { &c, "dep_type", 0 };
	struct jpath k = { &root, "daily.summary", 0 };
	struct jpath k2 = { &k, NULL, 1 };
	struct jpath top = { &root, "jobs", 0 };
	struct strbuf sb = STRBUF_INIT;

	jpath_format(&root, &sb);
	ck_assert_str_eq(sb.buf, "(root)");
	strbuf_reset(&sb);
	jpath_format(&d, &sb);
	ck_assert_str_eq(sb.buf, "[2].inputs[0].dep_type");
	strbuf_reset(&sb);
	jpath_format(&k2, &sb);
	ck_assert_str_eq(sb.buf, "[\"daily.summary\"][1]");
	strbuf_reset(&sb);
	jpath_format(&top, &sb);
	ck_assert_str_eq(sb.buf, "jobs");
	strbuf_reset(&sb);
	ck_assert_int_eq(json_fail(&sb, &d, "expected %s", "x"), -1);
	ck_assert_str_eq(sb.buf, "[2].inputs[0].dep_type: expected x");
	strbuf_release(&sb);
}
END_TEST

/* Typed getters on member "v" of an object. */
enum getter { G_STRING, G_STRING_OPT, G_NULLABLE, G_STRVEC, G_INT64, G_ARRAY, G_ARRAY_OPT,
	      G_OBJECT };

static const struct getter_case {
	enum getter g;
	const char *json;
	const char *want;  /* error, or NULL for success */
} getter_cases[] = {
	{ G_STRING, "{\"v\": \"x\"}", NULL },
	{ G_STRING, "{}", "v: required member is missing" },
	{ G_STRING, "{\"v\": 1}", "v: expected a string, got a number" },
	{ G_STRING, "{\"v\": null}", "v: expected a string, got null" },
	{ G_STRING, "{\"v\": \"a\", \"v\": \"b\"}", "v: duplicate member" },
	{ G_STRING, "[]", "(root): expected an object, got an array" },
	{ G_STRING_OPT, "{}", NULL },
	{ G_STRING_OPT, "{\"v\": true}", "v: expected a string, got a boolean" },
	{ G_NULLABLE, "{\"v\": null}", NULL },
	{ G_NULLABLE, "{\"v\": {}}", "v: expected a string or null, got an object" },
	{ G_STRVEC, "{\"v\": [\"a\", \"b\"]}", NULL },
	{ G_STRVEC, "{\"v\": \"a\"}", "v: expected an array of strings, got a string" },
	{ G_STRVEC, "{\"v\": [\"a\", 2]}", "v[1]: expected a string, got a number" },
	{ G_STRVEC, "{}", "v: required member is missing" },
	{ G_INT64, "{\"v\": 1700000000123456}", NULL },
	{ G_INT64, "{\"v\": -5}", NULL },
	{ G_INT64, "{\"v\": 1.5}", "v: expected an integer, got 1.5" },
	{ G_INT64, "{\"v\": 1e300}", "v: expected an integer, got 1e+300" },
	{ G_INT64, "{\"v\": \"1\"}", "v: expected an integer, got a string" },
	/* G_ARRAY: required, non-empty, of "xs"; G_ARRAY_OPT: optional, may be empty */
	{ G_ARRAY, "{\"v\": [1, 2]}", NULL },
	{ G_ARRAY, "{\"v\": []}", "v: expected a non-empty array of xs, got an empty array" },
	{ G_ARRAY, "{\"v\": {}}", "v: expected a non-empty array of xs, got an object" },
	{ G_ARRAY, "{}", "v: required member is missing" },
	{ G_ARRAY_OPT, "{}", NULL },
	{ G_ARRAY_OPT, "{\"v\": []}", NULL },
	{ G_ARRAY_OPT, "{\"v\": 3}", "v: expected an array of xs, got a number" },
	/* G_OBJECT: json_check_object on the root */
	{ G_OBJECT, "{}", NULL },
	{ G_OBJECT, "[1]", "(root): expected an x object, got an array" },
};

START_TEST(test_getters)
{
	const struct getter_case *c = &getter_cases[_i];
	struct jpath root = JPATH_ROOT;
	struct strbuf err = STRBUF_INIT;
	struct strvec sv = STRVEC_INIT;
	cJSON *j = json_parse(c->json, strlen(c->json), &err);
	const char *s = NULL;
	const cJSON *a = NULL;
	int64_t n = 0;
	int r = -1;

	ck_assert_ptr_nonnull(j);
	switch (c->g) {
	case G_STRING: r = json_get_string(j, &root, "v", 1, &s, &err); break;
	case G_STRING_OPT: r = json_get_string(j, &root, "v", 0, &s, &err); break;
	case G_NULLABLE: r = json_get_nullable_string(j, &root, "v", &s, &err); break;
	case G_STRVEC: r = json_get_strvec(j, &root, "v", 1, &sv, &err); break;
	case G_INT64: r = json_get_int64(j, &root, "v", 1, &n, &err); break;
	case G_ARRAY:
		r = json_get_array(j, &root, "v", JSON_REQUIRED | JSON_NONEMPTY, "xs", &a, &err);
		break;
	case G_ARRAY_OPT: r = json_get_array(j, &root, "v", 0, "xs", &a, &err); break;
	case G_OBJECT: r = json_check_object(j, &root, "an x object", &err); break;
	}
	if (c->want) {
		ck_assert_int_eq(r, -1);
		ck_assert_str_eq(err.buf, c->want);
	} else {
		ck_assert_msg(r == 0, "unexpected error: %s", err.buf);
		if (c->g == G_STRING)
			ck_assert_str_eq(s, "x");
		if (c->g == G_STRVEC)
			ck_assert_int_eq(sv.nr, 2);
		if (c->g == G_INT64)
			ck_assert(n == 1700000000123456LL || n == -5);
		if (c->g == G_ARRAY || c->g == G_ARRAY_OPT)
			ck_assert(a ? cJSON_IsArray(a) : !strcmp(c->json, "{}"));
	}
	strvec_clear(&sv);
	cJSON_Delete(j);
	strbuf_release(&err);
}
END_TEST

START_TEST(test_print)
{
	struct strbuf out = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "list");

	cJSON_AddItemToArray(a, cJSON_CreateString("q\"\n\x01\xc3\xa9"));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1.5));
	json_add_int64(o, "big", 1732397549123456LL);
	json_add_int64(o, "neg", -3);
	cJSON_AddItemToObject(o, "empty", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "none", cJSON_CreateArray());
	json_add_string_or_null(o, "n", NULL);
	cJSON_AddTrueToObject(o, "t");

	json_print(o, &out);
	ck_assert_str_eq(out.buf, "{\"list\":[\"q\\\"\\n\\u0001\xc3\xa9\",1.5],"
			 "\"big\":1732397549123456,\"neg\":-3,\"empty\":{},\"none\":[],"
			 "\"n\":null,\"t\":true}");
	strbuf_reset(&out);
	json_print_pretty(o, &out);
	ck_assert_str_eq(out.buf,
			 "{\n"
			 "  \"list\": [\n"
			 "    \"q\\\"\\n\\u0001\xc3\xa9\",\n"
			 "    1.5\n"
			 "  ],\n"
			 "  \"big\": 1732397549123456,\n"
			 "  \"neg\": -3,\n"
			 "  \"empty\": {},\n"
			 "  \"none\": [],\n"
			 "  \"n\": null,\n"
			 "  \"t\": true\n"
			 "}");
	/* what we print parses back to the same text */
	{
		struct strbuf err = STRBUF_INIT, again = STRBUF_INIT;
		cJSON *j = json_parse(out.buf, out.len, &err);

		ck_assert_ptr_nonnull(j);
		json_print_pretty(j, &again);
		ck_assert_str_eq(again.buf, out.buf);
		cJSON_Delete(j);
		strbuf_release(&err);
		strbuf_release(&again);
	}
	cJSON_Delete(o);
	strbuf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_loop_test(tc, test_syntax, 0, sizeof(syntax_cases) / sizeof(syntax_cases[0]));
	tcase_add_test(tc, test_deep);
	tcase_add_test(tc, test_parse_ok);
	tcase_add_loop_test(tc, test_parse_object, 0,
			    sizeof(parse_object_cases) / sizeof(parse_object_cases[0]));
	tcase_add_test(tc, test_jpath);
	tcase_add_loop_test(tc, test_getters, 0, sizeof(getter_cases) / sizeof(getter_cases[0]));
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
