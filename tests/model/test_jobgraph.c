#include "model/jobgraph.h"
#include "testutil.h"

#define CFG(o) "{\"outputs\":[\"" o "\"],\"inputs\":[],\"args\":[],\"env\":{}}"

/* What job_graph_to_json prints for this graph (and what we feed in). */
static const char base[] =
	"{\"outputs\":[\"s/d=1\"],"
	"\"nodes\":[{\"id\":0,\"job\":\"ingest\",\"config\":" CFG("r/d=1") ",\"reason\":\"missing\"},"
	"{\"id\":1,\"job\":\"summary\",\"config\":{\"outputs\":[\"s/d=1\"],\"inputs\":["
	"{\"dep_type\":\"materialize\",\"ref\":\"r/d=1\"},{\"dep_type\":\"query\",\"ref\":\"dim/x\"}],"
	"\"args\":[],\"env\":{}},\"reason\":null}],"
	"\"edges\":[{\"from\":0,\"to\":1}],"
	"\"pruned\":[{\"ref\":\"dim/x\",\"job\":null},{\"ref\":\"r/d=0\",\"job\":\"ingest\"}]}";

static const struct bad_case {
	const char *from, *to, *want;
} bad_cases[] = {
	{ "{\"outputs\"", "[\"outputs\"", "line 1, column" },
	{ "\"outputs\":[\"s/d=1\"],\"nodes\"", "\"nodes\"", "outputs: required member is missing" },
	{ "\"outputs\":[\"s/d=1\"]", "\"outputs\":[\"s/d=1/\"]", "outputs[0]: invalid ref 's/d=1/'" },
	{ "\"nodes\":[", "\"nodez\":[", "nodes: required member is missing" },
	{ "\"nodes\":[", "\"nodes\":\"x\",\"n\":[", "nodes: expected an array of nodes, got a string" },
	{ "\"nodes\":[{", "\"nodes\":[3,{", "nodes[0]: expected a node object, got a number" },
	{ "{\"id\":1,", "{\"id\":3,",
	  "nodes[1].id: expected 1 (node ids are their index), got 3" },
	{ "{\"id\":0,", "{", "nodes[0].id: required member is missing" },
	{ "\"job\":\"ingest\"", "\"job\":\"\"", "nodes[0].job: expected a job label, got an empty string" },
	{ "\"job\":\"summary\"", "\"job\":7", "nodes[1].job: expected a string, got a number" },
	{ "\"reason\":\"missing\"", "\"reason\":1",
	  "nodes[0].reason: expected a string or null, got a number" },
	{ "\"config\":{\"outputs\":[\"s/d=1\"]", "\"cfg\":{\"outputs\":[\"s/d=1\"]",
	  "nodes[1].config: required member is missing" },
	{ "{\"dep_type\":\"query\",\"ref\":\"dim/x\"}", "{\"dep_type\":\"QUERY\",\"ref\":\"dim/x\"}",
	  "nodes[1].config.inputs[1].dep_type: expected \"materialize\" or \"query\", got 'QUERY'" },
	{ "\"edges\":[{", "\"edges\":[[],{", "edges[0]: expected an object {\"from\", \"to\"}, got an array" },
	{ "{\"from\":0,\"to\":1}", "{\"from\":0,\"to\":2}", "edges[0].to: no node 2 (the graph has 2)" },
	{ "{\"from\":0,\"to\":1}", "{\"from\":-1,\"to\":1}", "edges[0].from: no node -1 (the graph has 2)" },
	{ "{\"from\":0,\"to\":1}", "{\"from\":1,\"to\":0}",
	  "edges[0]: edge 1 -> 0 does not follow the topological order of nodes" },
	{ "{\"from\":0,\"to\":1}", "{\"from\":1,\"to\":1}", "edges[0]: edge 1 -> 1 does not follow" },
	{ "{\"from\":0,\"to\":1}", "{\"to\":1}", "edges[0].from: required member is missing" },
	{ "\"edges\":[", "\"edges\":\"x\",\"e\":[", "edges: expected an array of edges, got a string" },
	{ "{\"ref\":\"dim/x\",\"job\":null}", "{\"ref\":\"..\",\"job\":null}",
	  "pruned[0].ref: invalid ref '..'" },
	{ "{\"ref\":\"dim/x\",\"job\":null}", "{\"job\":null}", "pruned[0].ref: required member is missing" },
	{ "\"job\":\"ingest\"}]}", "\"job\":[]}]}", "pruned[1].job: expected a string or null, got an array" },
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
	struct job_graph g;

	ck_assert_int_eq(job_graph_parse(&g, text, strlen(text), &err), -1);
	ck_assert_msg(!strncmp(err.buf, c->want, strlen(c->want)),
		      "want prefix\n  %s\ngot\n  %s", c->want, err.buf);
	job_graph_release(&g);
	strbuf_release(&err);
	free(text);
}
END_TEST

static void encode(const struct job_graph *g, struct strbuf *out)
{
	cJSON *j = job_graph_to_json(g);

	json_print(j, out);
	cJSON_Delete(j);
}

START_TEST(test_round_trip)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
	struct job_graph g;

	ck_assert_msg(job_graph_parse(&g, base, strlen(base), &err) == 0, "%s", err.buf);
	ck_assert_int_eq(g.nodes_nr, 2);
	ck_assert_str_eq(g.nodes[1].job, "summary");
	ck_assert_ptr_null(g.nodes[1].reason);
	ck_assert_int_eq(g.nodes[1].config.inputs_nr, 2);
	ck_assert_int_eq(g.edges_nr, 1);
	ck_assert_int_eq(g.pruned_nr, 2);
	ck_assert_ptr_null(g.pruned[0].job);
	encode(&g, &out);
	ck_assert_str_eq(out.buf, base);
	job_graph_release(&g);

	/* optional members default to empty */
	strbuf_reset(&out);
	{
		const char *t = "{\"outputs\":[],\"nodes\":[],\"extra\":1}";

		ck_assert_int_eq(job_graph_parse(&g, t, strlen(t), &err), 0);
		encode(&g, &out);
		ck_assert_str_eq(out.buf, "{\"outputs\":[],\"nodes\":[],\"edges\":[],\"pruned\":[]}");
		job_graph_release(&g);
	}
	strbuf_release(&err);
	strbuf_release(&out);
}
END_TEST

START_TEST(test_built)
{
	struct strbuf err = STRBUF_INIT, out = STRBUF_INIT, out2 = STRBUF_INIT;
	struct job_config c = JOB_CONFIG_INIT;
	struct job_graph g, g2;
	struct graph_node *n;

	job_graph_init(&g);
	strvec_push(&g.outputs, "b");
	strvec_push(&c.outputs, "a");
	n = job_graph_add_node(&g, "ja", &c, "missing");
	ck_assert_int_eq(n->id, 0);
	strvec_clear(&c.outputs);
	strvec_push(&c.outputs, "b");
	job_config_add_input(&c, DEP_MATERIALIZE, "a");
	n = job_graph_add_node(&g, "jb", &c, "stale: build key changed");
	ck_assert_int_eq(n->id, 1);
	ck_assert(job_config_equal(&n->config, &c));
	job_graph_add_edge(&g, 0, 1);
	job_graph_add_pruned(&g, "z", NULL);
	encode(&g, &out);
	ck_assert_int_eq(job_graph_parse(&g2, out.buf, out.len, &err), 0);
	encode(&g2, &out2);
	ck_assert_str_eq(out2.buf, out.buf);
	ck_assert_str_eq(g2.nodes[1].reason, "stale: build key changed");
	job_graph_release(&g);
	job_graph_release(&g2);
	job_config_release(&c);
	strbuf_release(&err);
	strbuf_release(&out);
	strbuf_release(&out2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jobgraph");
	TCase *tc = tcase_create("jobgraph");

	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_built);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
