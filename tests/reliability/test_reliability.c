/*
 * Hostile input fed to the real decoders: JSON text that is not UTF-8 or
 * nests too deep, configs, manifests and graph files whose refs or
 * patterns try to leave the store. Each must be refused with the expected
 * message (and never crash: the sanitizer build runs this too).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"
#include "model/jobconfig.h"
#include "core/json.h"
#include "model/manifest.h"
#include "model/ref.h"

enum decoder { JSON, CONFIGS, MANIFEST, GRAPH, REF };

static const struct hostile_case {
	const char *name;
	enum decoder decoder;
	const char *text;   /* NULL: built by make_text() */
	const char *want;   /* NULL: must decode; else a substring of the error */
} cases[] = {
	/* UTF-8 in JSON strings (RFC 8259 text is UTF-8) */
	{ "utf8 ok", JSON, "[\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xc2\x85\"]", NULL },
	{ "utf8 lone continuation", JSON, "[\"a\x80\"]", "line 1, column 4: invalid UTF-8 (byte 0x80) in a string" },
	{ "utf8 0xff", JSON, "[\"\xff\"]", "invalid UTF-8 (byte 0xff) in a string" },
	{ "utf8 overlong '/'", JSON, "[\"\xc0\xaf\"]", "invalid UTF-8 (byte 0xc0)" },
	{ "utf8 overlong 3 bytes", JSON, "[\"\xe0\x80\xaf\"]", "invalid UTF-8 (byte 0xe0)" },
	{ "utf8 surrogate", JSON, "[\"\xed\xa0\x80\"]", "invalid UTF-8 (byte 0xed)" },
	{ "utf8 above U+10FFFF", JSON, "[\"\xf4\x90\x80\x80\"]", "invalid UTF-8 (byte 0xf4)" },
	{ "utf8 truncated at end", JSON, "[\"\xe2\x82\"]", "invalid UTF-8 (byte 0xe2)" },
	{ "utf8 truncated at input end", JSON, "[\"\xe2", "invalid UTF-8 (byte 0xe2)" },
	{ "utf8 in a member name", JSON, "{\"\xfe\": 1}", "invalid UTF-8 (byte 0xfe)" },
	{ "lone surrogate escape", JSON, "[\"\\ud800\"]", "line 1" },
	{ "NUL escape", JSON, "[\"a\\u0000\"]", "\\u0000 in a string is not supported" },
	{ "raw NUL byte", JSON, NULL, "control character 0x00" },
	{ "deep nesting", JSON, NULL, "nested deeper than 1000 levels" },
	{ "deep objects", JSON, NULL, "nested deeper than 1000 levels" },
	/* configure answers whose refs escape */
	{ "config output ..", CONFIGS, "[{\"outputs\":[\"a/b\",\"../x\"]}]", "[0].outputs[1]: invalid ref '../x'" },
	{ "config output absolute", CONFIGS, "[{\"outputs\":[\"/etc/passwd\"]}]", "[0].outputs[0]: invalid ref '/etc/passwd'" },
	{ "config output a/../b", CONFIGS, "[{\"outputs\":[\"a/../b\"]}]", "[0].outputs[0]: invalid ref 'a/../b'" },
	{ "config output reserved", CONFIGS, "[{\"outputs\":[\".databuild/x\"]}]", "[0].outputs[0]: invalid ref '.databuild/x'" },
	{ "config output control", CONFIGS, "[{\"outputs\":[\"a/\\u001b[2J\"]}]", "[0].outputs[0]: invalid ref 'a/\\x1b[2J'" },
	{ "config input ..", CONFIGS, "[{\"outputs\":[\"a/b\"],\"inputs\":[{\"dep_type\":\"query\",\"ref\":\"a/..\"}]}]",
	  "[0].inputs[0].ref: invalid ref 'a/..'" },
	{ "config arg not utf8", CONFIGS, "[{\"outputs\":[\"a/b\"],\"args\":[\"\xc0\xaf\"]}]", "invalid UTF-8" },
	{ "config env not utf8", CONFIGS, "[{\"outputs\":[\"a/b\"],\"env\":{\"A\":\"\xff\"}}]", "invalid UTF-8" },
	{ "config %2e%2e is a name", CONFIGS, "[{\"outputs\":[\"a/%2e%2e\"]}]", NULL },
	/* manifests (read back from the catalog) */
	{ "manifest output ..", MANIFEST, NULL, "outputs[0].ref: invalid ref '../x'" },
	/* graph files */
	{ "pattern ..", GRAPH, "{\"name\":\"g\",\"jobs\":[{\"label\":\"a\",\"outputs\":[\"../{d}\"],"
	  "\"configure\":[\"/bin/true\"],\"exec\":[\"/bin/true\"]}]}", "jobs[0].outputs[0]" },
	{ "pattern absolute", GRAPH, "{\"name\":\"g\",\"jobs\":[{\"label\":\"a\",\"outputs\":[\"/x/{d}\"],"
	  "\"configure\":[\"/bin/true\"],\"exec\":[\"/bin/true\"]}]}", "jobs[0].outputs[0]" },
	{ "pattern {d}/..", GRAPH, "{\"name\":\"g\",\"jobs\":[{\"label\":\"a\",\"outputs\":[\"{d}/..\"],"
	  "\"configure\":[\"/bin/true\"],\"exec\":[\"/bin/true\"]}]}", "jobs[0].outputs[0]" },
	{ "graph not utf8", GRAPH, "{\"name\":\"g\xff\",\"jobs\":[]}", "invalid UTF-8" },
	/* refs */
	{ "ref ..", REF, "..", "segment '..'" },
	{ "ref overlong utf8 dot", REF, "a/\xc0\xae\xc0\xae", "invalid UTF-8" },
	{ "ref %2e%2e", REF, "a/%2e%2e", NULL },
	{ "ref fullwidth dots", REF, "a/\xef\xbc\x8e\xef\xbc\x8e", NULL },
};

static char *make_text(const struct hostile_case *c, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;

	if (c->text) {
		*len = strlen(c->text);
		return xstrdup(c->text);
	}
	if (!strcmp(c->name, "raw NUL byte")) {
		strbuf_add(&sb, "[\"a\0b\"]", 7);
	} else if (!strcmp(c->name, "deep nesting")) {
		for (int i = 0; i < 100000; i++)
			strbuf_addch(&sb, '[');
	} else if (!strcmp(c->name, "deep objects")) {
		for (int i = 0; i < 100000; i++)
			strbuf_addstr(&sb, "{\"a\":");
	} else if (!strcmp(c->name, "manifest output ..")) {
		strbuf_addstr(&sb, "{\"run_id\":\"4\",\"job\":\"j\",\"version\":\"1.0.0\",\"build_key\":\"");
		for (int i = 0; i < 64; i++)
			strbuf_addch(&sb, '0');
		strbuf_addstr(&sb, "\",\"start_time\":1,\"end_time\":2,\"outputs\":[{\"ref\":\"../x\",\"sha256\":\"");
		for (int i = 0; i < 64; i++)
			strbuf_addch(&sb, '0');
		strbuf_addstr(&sb, "\",\"size\":3}],\"inputs\":[],\"config\":{\"outputs\":[\"../x\"]},"
			      "\"log\":\"/x.log\",\"host\":\"h\"}");
	}
	*len = sb.len;
	return strbuf_detach(&sb, NULL);
}

START_TEST(test_hostile)
{
	const struct hostile_case *c = &cases[_i];
	struct strbuf err = STRBUF_INIT;
	size_t len;
	char *text = make_text(c, &len);
	int r = -1;

	switch (c->decoder) {
	case JSON: {
		cJSON *j = json_parse(text, len, &err);

		r = j ? 0 : -1;
		cJSON_Delete(j);
		break;
	}
	case CONFIGS: {
		struct job_config_list l = JOB_CONFIG_LIST_INIT;

		r = job_config_list_parse(&l, text, len, &err);
		job_config_list_release(&l);
		break;
	}
	case MANIFEST: {
		struct manifest m;

		manifest_init(&m);
		r = manifest_parse(&m, text, len, &err);
		manifest_release(&m);
		break;
	}
	case GRAPH: {
		struct graph g;

		memset(&g, 0, sizeof(g));
		r = graph_load_text(&g, "/nonexistent/databuild.json", text, len, &err);
		if (!r)
			graph_release(&g);
		break;
	}
	case REF:
		r = ref_validate(text, &err);
		break;
	}
	if (!c->want) {
		ck_assert_msg(r == 0, "%s: refused: %s", c->name, err.buf);
	} else {
		ck_assert_msg(r < 0, "%s: accepted", c->name);
		ck_assert_msg(strstr(err.buf, c->want), "%s: error '%s' lacks '%s'", c->name,
			      err.buf, c->want);
		ck_assert_msg(err.len < 2048, "%s: a %zu-byte error", c->name, err.len);
	}
	free(text);
	strbuf_release(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reliability");
	TCase *tc = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_hostile, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
