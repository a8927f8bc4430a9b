#include "model/buildkey.h"
#include "testutil.h"

#define H_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char *dir;

static void setup(void)
{
	dir = tmpdir_make();
	write_file(dir, "jobs/x.sh", "#!/bin/sh\necho v1\n", 0755);
	write_file(dir, "jobs/conf", "#!/bin/sh\nexit 0\n", 0755);
	write_file(dir, "data/lookup.csv", "a,b\n", 0644);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	dir = NULL;
}

/* Loads a one-job graph whose exec is `exec` (JSON array text) at version. */
static void load(struct graph *g, const char *exec, const char *version)
{
	struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
	char *path = xstrfmt("%s/databuild.json", dir);

	strbuf_addf(&text, "{\"name\": \"k\", \"jobs\": [{\"label\": \"x\", \"outputs\": [\"o/{d}\"],"
		    " \"configure\": [\"jobs/conf\"], \"exec\": %s, \"version\": \"%s\"}]}",
		    exec, version);
	ck_assert_msg(graph_load_text(g, path, text.buf, text.len, &err) == 0, "%s", err.buf);
	strbuf_release(&text);
	strbuf_release(&err);
	free(path);
}

static void base_config(struct job_config *c)
{
	job_config_init(c);
	strvec_push(&c->outputs, "o/1");
	job_config_add_input(c, DEP_MATERIALIZE, "in/b");
	job_config_add_input(c, DEP_QUERY, "in/a");
	strvec_push(&c->args, "--day");
	strvec_push(&c->args, "1");
	strvec_push(&c->env, "TZ=UTC");
}

static void key(const char *exec, const char *version, const struct job_config *c,
		const char *const *hashes, char out[SHA256_HEX_SIZE])
{
	struct strbuf err = STRBUF_INIT;
	struct keyer k;
	struct graph g;

	load(&g, exec, version);
	keyer_init(&k);
	ck_assert_msg(keyer_compute(&k, &g.jobs[0], c, hashes, out, &err) == 0, "%s", err.buf);
	ck_assert_int_eq(strlen(out), 64);
	keyer_release(&k);
	graph_release(&g);
	strbuf_release(&err);
}

enum change {
	SAME, SCRIPT, MINOR, PATCH, PRE, MAJOR, INPUT_HASH, INPUT_ORDER, INPUT_REF, ARGS, ARG_SPLIT,
	ENV, EXEC_ARGV, DATA_FILE, OUTPUTS,
};

static const struct change_case {
	enum change change;
	int same;  /* key must stay the same */
	const char *why;
} change_cases[] = {
	{ SAME, 1, "nothing changed" },
	{ SCRIPT, 0, "the script named in exec changed" },
	{ MINOR, 1, "minor version bump" },
	{ PATCH, 1, "patch version bump" },
	{ PRE, 1, "pre-release tag" },
	{ MAJOR, 0, "major version bump" },
	{ INPUT_HASH, 0, "an input's content hash changed" },
	{ INPUT_ORDER, 1, "inputs listed in another order" },
	{ INPUT_REF, 0, "an input ref changed" },
	{ ARGS, 0, "args changed" },
	{ ARG_SPLIT, 0, "args split differently" },
	{ ENV, 0, "env changed" },
	{ EXEC_ARGV, 0, "exec argv changed" },
	{ DATA_FILE, 0, "a file named in exec argv changed" },
	{ OUTPUTS, 1, "outputs are not part of the key" },
};

START_TEST(test_changes)
{
	const struct change_case *cc = &change_cases[_i];
	const char *exec = "[\"sh\", \"jobs/x.sh\", \"data/lookup.csv\"]";
	const char *hashes[] = { H_A, H_B };
	const char *hashes2[] = { H_A, H_A };
	const char *const *h = hashes;
	const char *version = "1.2.3";
	char k1[SHA256_HEX_SIZE], k2[SHA256_HEX_SIZE];
	struct job_config c;

	base_config(&c);
	key(exec, version, &c, hashes, k1);
	switch (cc->change) {
	case SAME: break;
	case SCRIPT: write_file(dir, "jobs/x.sh", "#!/bin/sh\necho v2\n", 0755); break;
	case MINOR: version = "1.3.0"; break;
	case PATCH: version = "1.2.4"; break;
	case PRE: version = "1.2.3-rc.1+b7"; break;
	case MAJOR: version = "2.2.3"; break;
	case INPUT_HASH: h = hashes2; break;
	case INPUT_ORDER: {
		struct data_dep t = c.inputs[0];

		c.inputs[0] = c.inputs[1];
		c.inputs[1] = t;
		hashes[0] = H_B;
		hashes[1] = H_A;
		break;
	}
	case INPUT_REF:
		free(c.inputs[0].ref);
		c.inputs[0].ref = xstrdup("in/c");
		break;
	case ARGS:
		free((char *)c.args.v[1]);
		c.args.v[1] = xstrdup("2");
		break;
	case ARG_SPLIT:
		strvec_clear(&c.args);
		strvec_push(&c.args, "--day1");
		break;
	case ENV: strvec_push(&c.env, "LANG=C"); break;
	case EXEC_ARGV: exec = "[\"sh\", \"jobs/x.sh\", \"data/lookup.csv\", \"-v\"]"; break;
	case DATA_FILE: write_file(dir, "data/lookup.csv", "a,c\n", 0644); break;
	case OUTPUTS: strvec_push(&c.outputs, "o/2"); break;
	}
	key(exec, version, &c, h, k2);
	if (cc->same)
		ck_assert_msg(!strcmp(k1, k2), "%s: key changed", cc->why);
	else
		ck_assert_msg(strcmp(k1, k2), "%s: key did not change", cc->why);
	job_config_release(&c);
}
END_TEST

START_TEST(test_cache_and_errors)
{
	struct strbuf err = STRBUF_INIT;
	char k1[SHA256_HEX_SIZE], k2[SHA256_HEX_SIZE];
	struct job_config c;
	struct keyer k;
	struct graph g;

	base_config(&c);
	load(&g, "[\"jobs/x.sh\"]", "1.0.0");
	keyer_init(&k);
	ck_assert_int_eq(keyer_compute(&k, &g.jobs[0], &c, NULL, k1, &err), 0);
	/* one keyer hashes an executable once: a change within its life is not seen */
	write_file(dir, "jobs/x.sh", "#!/bin/sh\necho v3\n", 0755);
	ck_assert_int_eq(keyer_compute(&k, &g.jobs[0], &c, NULL, k2, &err), 0);
	ck_assert_str_eq(k1, k2);
	keyer_release(&k);

	keyer_init(&k);
	ck_assert_int_eq(keyer_compute(&k, &g.jobs[0], &c, NULL, k2, &err), 0);
	ck_assert_str_ne(k1, k2);
	/* an executable that disappeared after loading is an error naming it */
	keyer_release(&k);
	keyer_init(&k);
	ck_assert_int_eq(chmod(g.jobs[0].exec.v[0], 0), 0);
	ck_assert_int_eq(unlink(g.jobs[0].exec.v[0]), 0);
	ck_assert_int_eq(keyer_compute(&k, &g.jobs[0], &c, NULL, k2, &err), -1);
	ck_assert_contains(err.buf, "jobs/x.sh");
	ck_assert_contains(err.buf, "job 'x' exec");
	keyer_release(&k);
	graph_release(&g);
	job_config_release(&c);
	strbuf_release(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buildkey");
	TCase *tc = tcase_create("buildkey");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_changes, 0, sizeof(change_cases) / sizeof(change_cases[0]));
	tcase_add_test(tc, test_cache_and_errors);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
