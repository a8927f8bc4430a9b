/*
 * Planner unit tests: real graph files, real configure processes (the
 * fixture/configure script answering from a table), a real SQLite catalog
 * whose partitions are made live with synthetic manifests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "catalog/catalog.h"
#include "model/buildkey.h"
#include "core/hash.h"
#include "core/proc.h"
#include "store/store.h"
#include "core/strmap.h"
#include "planner/planner.h"

#define ck_assert_contains(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, \
		      "expected to find\n  %s\nin\n  %s", (needle), (hay))

/* ------------------------------------------------------------------------ */
/* fixture                                                                   */

struct fx {
	char *dir;
	char *jobs_spec;
	struct graph g;
	int graph_loaded;
	struct store store;
	struct catalog cat;
	int cat_open;
	struct strmap configs;  /* ref -> heap JSON text of its config */
	int generation;         /* content generation of published data */
};

static void write_file(const char *path, const char *content, mode_t mode)
{
	size_t len = strlen(content);
	int fd;

	ck_assert_int_eq(mkdir_parents(path, 0755), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (strbuf_read_file(&sb, path, 0) < 0 && errno != ENOENT)
		ck_abort_msg("read %s: %s", path, strerror(errno));
	return strbuf_detach(&sb, NULL);
}

static char *fixture(const char *name)
{
	const char *src = getenv("SOURCE_ROOT");

	return xstrfmt("%s/tests/planner/fixture/%s", src ? src : ".", name);
}

/* Splits s at any of seps into words (no empty words). */
static void split(struct strvec *out, const char *s, const char *seps)
{
	while (s && *s) {
		size_t n = strcspn(s, seps);

		if (n)
			strvec_push_nodup(out, xstrndup(s, n));
		s += n;
		s += strspn(s, seps);
	}
}

/*
 * jobs spec: "[lookup] LABEL=PATTERN[@VERSION] ..." (version default
 * 1.0.0). Each job gets its own exec script, exec-LABEL, in the fixture
 * dir. "lookup": the graph's lookup executable is fixture/lookup (the job
 * of a ref is its first segment).
 */
static void fx_write_graph(struct fx *f, const char *jobs_spec)
{
	struct strvec jobs = STRVEC_INIT;
	struct strbuf json = STRBUF_INIT, err = STRBUF_INIT;
	char *path = xstrfmt("%s/databuild.json", f->dir);

	if (jobs_spec != f->jobs_spec) {
		free(f->jobs_spec);
		f->jobs_spec = xstrdup(jobs_spec);
	}
	split(&jobs, jobs_spec, " ");
	strbuf_addstr(&json, "{\"name\": \"planner-test\", ");
	if (jobs.nr && !strcmp(jobs.v[0], "lookup")) {
		char *lookup = fixture("lookup");

		strbuf_addf(&json, "\"lookup\": [\"%s\", \"%s\"], ", lookup, f->dir);
		free(lookup);
	}
	strbuf_addstr(&json, "\"jobs\": [");
	for (size_t i = 0, n = 0; i < jobs.nr; i++) {
		const char *eq = strchr(jobs.v[i], '='), *at = strchr(jobs.v[i], '@');
		char *configure, *label, *pattern, *exec;

		if (!eq)
			continue;
		label = xstrndup(jobs.v[i], eq - jobs.v[i]);
		pattern = at ? xstrndup(eq + 1, at - eq - 1) : xstrdup(eq + 1);
		exec = xstrfmt("%s/exec-%s", f->dir, label);
		configure = fixture("configure");
		if (access(exec, F_OK) < 0)
			write_file(exec, "#!/bin/sh\nexit 0\n", 0755);
		strbuf_addf(&json, "%s{\"label\": \"%s\", \"outputs\": [\"%s\"], "
			    "\"configure\": [\"%s\", \"%s/table.tsv\", \"%s\"], "
			    "\"exec\": [\"./exec-%s\"], \"version\": \"%s\"}",
			    n++ ? ", " : "", label, pattern, configure, f->dir, label,
			    label, at ? at + 1 : "1.0.0");
		free(configure);
		free(label);
		free(pattern);
		free(exec);
	}
	strbuf_addstr(&json, "]}\n");
	write_file(path, json.buf, 0644);
	if (f->graph_loaded)
		graph_release(&f->g);
	ck_assert_msg(graph_load(&f->g, path, &err) == 0, "graph: %s", err.buf);
	f->graph_loaded = 1;
	strvec_clear(&jobs);
	strbuf_release(&json);
	strbuf_release(&err);
	free(path);
}

/*
 * table spec, one entry per line:
 *   OUT[,OUT...] <- [m:REF | q:REF]... [| ARG...] [& NAME=VALUE...]
 *   REF = ANSWER          (raw table answer: EXIT:N, RAW:TEXT)
 * A config's args default to "-o OUT" per output and "-i REF" per input.
 */
static void fx_write_table(struct fx *f, const char *spec)
{
	struct strvec lines = STRVEC_INIT;
	struct strbuf table = STRBUF_INIT;
	char *path = xstrfmt("%s/table.tsv", f->dir);

	split(&lines, spec, "\n");
	for (size_t l = 0; l < lines.nr; l++) {
		const char *line = lines.v[l];
		const char *arrow = strstr(line, " <-");
		struct strvec outs = STRVEC_INIT, words = STRVEC_INIT;
		struct strvec args = STRVEC_INIT, env = STRVEC_INIT;
		struct strbuf cfg = STRBUF_INIT;
		char *head;
		int mode = 0;

		if (arrow && arrow[3] && arrow[3] != ' ')
			arrow = NULL;
		if (!arrow) {
			const char *eq = strstr(line, " = ");

			ck_assert_msg(eq != NULL, "bad table line '%s'", line);
			strbuf_add(&table, line, eq - line);
			strbuf_addf(&table, "\t%s\n", eq + 3);
			continue;
		}
		head = xstrndup(line, arrow - line);
		split(&outs, head, ", ");
		split(&words, arrow + 3, " ");
		strbuf_addstr(&cfg, "{\"outputs\": [");
		for (size_t i = 0; i < outs.nr; i++) {
			strbuf_addf(&cfg, "%s\"%s\"", i ? ", " : "", outs.v[i]);
			strvec_push(&args, "-o");
			strvec_push(&args, outs.v[i]);
		}
		strbuf_addstr(&cfg, "], \"inputs\": [");
		for (size_t i = 0, n = 0; i < words.nr; i++) {
			const char *w = words.v[i];

			if (!strcmp(w, "|") || !strcmp(w, "&")) {
				mode = w[0];
				if (mode == '|')
					strvec_clear(&args);
				continue;
			}
			if (mode == '|') {
				strvec_push(&args, w);
			} else if (mode == '&') {
				strvec_push(&env, w);
			} else {
				ck_assert_msg(w[1] == ':', "bad input '%s'", w);
				strbuf_addf(&cfg, "%s{\"dep_type\": \"%s\", \"ref\": \"%s\"}",
					    n++ ? ", " : "",
					    w[0] == 'q' ? "query" : "materialize", w + 2);
				if (w[0] != 'q') {
					strvec_push(&args, "-i");
					strvec_push(&args, w + 2);
				}
			}
		}
		strbuf_addstr(&cfg, "], \"args\": [");
		for (size_t i = 0; i < args.nr; i++) {
			strbuf_addstr(&cfg, i ? ", " : "");
			strbuf_addch(&cfg, '"');
			strbuf_addquoted(&cfg, args.v[i]);
			strbuf_addch(&cfg, '"');
		}
		strbuf_addstr(&cfg, "], \"env\": {");
		for (size_t i = 0; i < env.nr; i++) {
			const char *e = strchr(env.v[i], '=');

			strbuf_addf(&cfg, "%s\"%.*s\": \"%s\"", i ? ", " : "",
				    (int)(e - env.v[i]), env.v[i], e + 1);
		}
		strbuf_addstr(&cfg, "}}");
		for (size_t i = 0; i < outs.nr; i++) {
			strbuf_addf(&table, "%s\t%s\n", outs.v[i], cfg.buf);
			free(strmap_put(&f->configs, outs.v[i], xstrdup(cfg.buf)));
		}
		free(head);
		strvec_clear(&outs);
		strvec_clear(&words);
		strvec_clear(&args);
		strvec_clear(&env);
		strbuf_release(&cfg);
	}
	write_file(path, table.buf, 0644);
	strvec_clear(&lines);
	strbuf_release(&table);
	free(path);
}

static void fx_init(struct fx *f, const char *jobs, const char *table)
{
	const char *base = getenv("TMPDIR");
	struct strbuf err = STRBUF_INIT;
	char *root;

	memset(f, 0, sizeof(*f));
	strmap_init(&f->configs);
	f->dir = xstrfmt("%s/databuild-planner.XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	fx_write_table(f, table);
	fx_write_graph(f, jobs);
	root = xstrfmt("%s/store", f->dir);
	ck_assert_msg(store_open(&f->store, root, &err) == 0, "store: %s", err.buf);
	ck_assert_msg(catalog_open(&f->cat, &f->store, NULL, &err) == 0, "catalog: %s", err.buf);
	f->cat_open = 1;
	free(root);
	strbuf_release(&err);
}

static void fx_release(struct fx *f)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&f->configs, &it, &k, &v);)
		free(v);
	strmap_clear(&f->configs);
	if (f->cat_open)
		catalog_close(&f->cat);
	store_release(&f->store);
	if (f->graph_loaded)
		graph_release(&f->g);
	remove_tree(f->dir);
	free(f->dir);
	free(f->jobs_spec);
}

static void fx_clear_calls(struct fx *f)
{
	char *path = xstrfmt("%s/calls.log", f->dir);

	unlink(path);
	free(path);
}

/* calls.log as "JOB REF...; JOB REF..." */
static char *fx_calls(struct fx *f)
{
	char *path = xstrfmt("%s/calls.log", f->dir);
	char *text = read_text(path);
	struct strbuf sb = STRBUF_INIT;
	struct strvec lines = STRVEC_INIT;

	split(&lines, text, "\n");
	for (size_t i = 0; i < lines.nr; i++)
		strbuf_addf(&sb, "%s%s", i ? "; " : "", lines.v[i]);
	strvec_clear(&lines);
	free(text);
	free(path);
	return strbuf_detach(&sb, NULL);
}

static void content_hash(const char *ref, int generation, char out[SHA256_HEX_SIZE])
{
	char *text = xstrfmt("content of %s, generation %d", ref, generation);

	sha256_hex(text, strlen(text), out);
	free(text);
}

/*
 * Writes ref's content (content_hash's text) as its published data file,
 * as the publisher leaves it: its size, and its identity into ident.
 */
static int64_t fx_write_data(struct fx *f, const char *ref, char ident[STORE_IDENT_MAX])
{
	char *text = xstrfmt("content of %s, generation %d", ref, f->generation);
	struct strbuf path = STRBUF_INIT;
	int64_t len = (int64_t)strlen(text);
	struct stat st;
	FILE *fp;

	store_data_path(&f->store, ref, &path);
	ck_assert_int_eq(mkdir_parents(path.buf, 0755), 0);
	unlink(path.buf);
	fp = fopen(path.buf, "w");
	ck_assert_msg(fp != NULL, "cannot write '%s'", path.buf);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path.buf, 0444), 0);
	ck_assert_int_eq(stat(path.buf, &st), 0);
	store_ident_format(&st, ident);
	strbuf_release(&path);
	free(text);
	return len;
}

/*
 * Publishes ref's config (from the table) as a synthetic run: every output
 * live with a content hash and the build key computed now from the
 * current hashes of its inputs (which must be live).
 */
static void fx_publish(struct fx *f, const char *ref)
{
	const char *text = strmap_get(&f->configs, ref);
	struct strbuf err = STRBUF_INIT, json = STRBUF_INIT;
	struct job_config_list list = JOB_CONFIG_LIST_INIT;
	struct run_record run;
	struct manifest m;
	struct keyer k;
	const struct job *job;
	const struct job_config *cfg;
	const char **hashes;
	char key[SHA256_HEX_SIZE];

	ck_assert_msg(text != NULL, "no config for '%s' in the table", ref);
	strbuf_addf(&json, "[%s]", text);
	ck_assert_msg(job_config_list_parse(&list, json.buf, json.len, &err) == 0, "%s", err.buf);
	cfg = &list.items[0];
	job = graph_lookup(&f->g, ref, &err);
	ck_assert_msg(job != NULL, "%s", err.buf);

	manifest_init(&m);
	hashes = xcalloc(cfg->inputs_nr + 1, sizeof(*hashes));
	for (size_t i = 0; i < cfg->inputs_nr; i++) {
		struct partition p;
		struct manifest_input *in;

		ck_assert_int_eq(catalog_get_partition(&f->cat, cfg->inputs[i].ref, &p, &err), 1);
		ck_assert_msg(p.status == PART_LIVE, "input '%s' not live", cfg->inputs[i].ref);
		in = manifest_add_input(&m, cfg->inputs[i].ref);
		in->type = cfg->inputs[i].type;
		memcpy(in->sha256, p.sha256, sizeof(in->sha256));
		in->run_id = p.run_id ? xstrdup(p.run_id) : NULL;
		hashes[i] = in->sha256;
		partition_release(&p);
	}
	keyer_init(&k);
	ck_assert_msg(keyer_compute(&k, job, cfg, hashes, key, &err) == 0, "%s", err.buf);
	keyer_release(&k);

	run_record_init(&run);
	run.job = xstrdup(job->label);
	run.config_json = xstrdup(text);
	run.host = xstrdup("test");
	run.start_us = now_us();
	strvec_copy(&run.outputs, &cfg->outputs);
	ck_assert_msg(catalog_begin_run(&f->cat, &run, &err) == 0, "%s", err.buf);

	m.run_id = xstrdup(run.run_id);
	m.job = xstrdup(job->label);
	m.version = xstrdup(job->version.text);
	memcpy(m.build_key, key, sizeof(m.build_key));
	m.start_time_us = run.start_us;
	m.end_time_us = now_us();
	for (size_t i = 0; i < cfg->outputs.nr; i++) {
		struct manifest_output *o = manifest_add_output(&m, cfg->outputs.v[i]);

		content_hash(cfg->outputs.v[i], f->generation, o->sha256);
		o->size = fx_write_data(f, cfg->outputs.v[i], o->ident);
	}
	job_config_copy(&m.config, cfg);
	ck_assert_msg(catalog_publish(&f->cat, &m, &err) == 0, "%s", err.buf);

	manifest_release(&m);
	run_record_release(&run);
	free(hashes);
	job_config_list_release(&list);
	strbuf_release(&err);
	strbuf_release(&json);
}

/*
 * mutations, separated by ';':
 *   exec JOB                 the job's exec script changes
 *   version JOB X.Y.Z        the job's version in the graph file changes
 *   taint REF / taintdown REF
 *   rebuild REF              republished with other bytes (key of now)
 *   same REF                 republished with the same bytes (key of now)
 *   fail REF                 a run of REF failed
 */
static void fx_mutate(struct fx *f, const char *spec)
{
	struct strvec steps = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;

	split(&steps, spec, ";");
	for (size_t i = 0; i < steps.nr; i++) {
		struct strvec w = STRVEC_INIT;

		split(&w, steps.v[i], " ");
		ck_assert_uint_ge(w.nr, 2);
		if (!strcmp(w.v[0], "exec")) {
			char *path = xstrfmt("%s/exec-%s", f->dir, w.v[1]);

			write_file(path, "#!/bin/sh\n# a changed job\nexit 0\n", 0755);
			free(path);
		} else if (!strcmp(w.v[0], "version")) {
			struct strbuf spec2 = STRBUF_INIT;
			struct strvec jobs = STRVEC_INIT;

			split(&jobs, f->jobs_spec, " ");
			for (size_t k = 0; k < jobs.nr; k++) {
				const char *at = strchr(jobs.v[k], '@');
				size_t n = at ? (size_t)(at - jobs.v[k]) : strlen(jobs.v[k]);

				strbuf_addf(&spec2, "%s%.*s", k ? " " : "", (int)n, jobs.v[k]);
				if (!strncmp(jobs.v[k], w.v[1], strlen(w.v[1])) &&
				    jobs.v[k][strlen(w.v[1])] == '=')
					strbuf_addf(&spec2, "@%s", w.v[2]);
				else if (at)
					strbuf_addstr(&spec2, at);
			}
			fx_write_graph(f, spec2.buf);
			strvec_clear(&jobs);
			strbuf_release(&spec2);
		} else if (!strcmp(w.v[0], "taint") || !strcmp(w.v[0], "taintdown")) {
			struct strvec refs = STRVEC_INIT;

			strvec_push(&refs, w.v[1]);
			ck_assert_msg(catalog_taint(&f->cat, &refs, w.v[0][5] == 'd', 0, NULL,
						    &err) == 0, "%s", err.buf);
			strvec_clear(&refs);
		} else if (!strcmp(w.v[0], "rebuild") || !strcmp(w.v[0], "same")) {
			int saved = f->generation;

			if (w.v[0][0] == 'r')
				f->generation = 1000 + (int)i;
			fx_publish(f, w.v[1]);
			f->generation = saved;
		} else if (!strcmp(w.v[0], "fail")) {
			ck_assert_msg(catalog_set_status(&f->cat, w.v[1], PART_FAILED, "boom",
							 &err) == 0, "%s", err.buf);
		} else {
			ck_abort_msg("bad mutation '%s'", steps.v[i]);
		}
		strvec_clear(&w);
	}
	strvec_clear(&steps);
	strbuf_release(&err);
}

/* "job(out,out)=reason; ..." */
static char *describe_nodes(const struct job_graph *plan)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < plan->nodes_nr; i++) {
		const struct graph_node *n = &plan->nodes[i];

		ck_assert_uint_eq(n->id, i);
		strbuf_addf(&sb, "%s%s(", i ? "; " : "", n->job);
		for (size_t k = 0; k < n->config.outputs.nr; k++)
			strbuf_addf(&sb, "%s%s", k ? "," : "", n->config.outputs.v[k]);
		strbuf_addf(&sb, ")=%s", n->reason);
	}
	return strbuf_detach(&sb, NULL);
}

static char *describe_edges(const struct job_graph *plan)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < plan->edges_nr; i++) {
		ck_assert_uint_lt(plan->edges[i].from, plan->edges[i].to);
		strbuf_addf(&sb, "%s%zu>%zu", i ? " " : "", plan->edges[i].from, plan->edges[i].to);
	}
	return strbuf_detach(&sb, NULL);
}

static char *describe_pruned(const struct job_graph *plan)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < plan->pruned_nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", plan->pruned[i].ref);
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------------------ */
/* table-driven cases                                                        */

struct case_ {
	const char *name;
	const char *jobs;
	const char *table;
	const char *request;
	const char *live;     /* published first, in order (upstream first) */
	const char *table2;   /* then the table becomes this */
	const char *mutate;   /* see fx_mutate */
	int presence;
	int force;
	const char *error;    /* expected error text; NULL: success */
	const char *nodes;
	const char *edges;
	const char *pruned;
	const char *calls;    /* NULL: not checked */
};

#define DIAMOND_JOBS "a=a/{d} b=b/{d} c=c/{d} d=d/{d}"
#define DIAMOND "d/1 <- m:b/1 m:c/1\nb/1 <- m:a/1\nc/1 <- m:a/1\na/1 <-\n"
#define CHAIN_JOBS "a=a/{d} b=b/{d} c=c/{d}"
#define CHAIN "c/1 <- m:b/1\nb/1 <- m:a/1\na/1 <-\n"

static const struct case_ cases[] = {
	{ .name = "single", .jobs = "a=a/{d}", .table = "a/1 <-\n", .request = "a/1",
	  .nodes = "a(a/1)=missing", .edges = "", .pruned = "", .calls = "a a/1" },
	{ .name = "diamond: shared upstream planned once, configure once per job per wave",
	  .jobs = DIAMOND_JOBS, .table = DIAMOND, .request = "d/1",
	  .nodes = "a(a/1)=missing; b(b/1)=missing; c(c/1)=missing; d(d/1)=missing",
	  .edges = "0>1 0>2 1>3 2>3", .pruned = "", .calls = "d d/1; b b/1; c c/1; a a/1" },
	{ .name = "batching: all refs of a job in a wave in one call",
	  .jobs = "a=a/{d} b=b/{d}",
	  .table = "b/1 <- m:a/1 m:a/2\nb/2 <- m:a/2 m:a/3\na/1 <-\na/2 <-\na/3 <-\n",
	  .request = "b/1 b/2",
	  .nodes = "a(a/1)=missing; a(a/2)=missing; a(a/3)=missing; b(b/1)=missing; "
		   "b(b/2)=missing",
	  .edges = "0>3 1>3 1>4 2>4", .pruned = "", .calls = "b b/1 b/2; a a/1 a/2 a/3" },
	{ .name = "duplicate requests and a requested upstream",
	  .jobs = CHAIN_JOBS, .table = CHAIN, .request = "c/1 a/1 c/1",
	  .nodes = "a(a/1)=missing; b(b/1)=missing; c(c/1)=missing", .edges = "0>1 1>2",
	  .calls = "a a/1; c c/1; b b/1" },
	{ .name = "multi-output config: one node, memoised, one edge",
	  .jobs = "m=m/{d} x=x/{d} y=y/{d}",
	  .table = "m/1,m/2 <-\nx/1 <- m:m/1 m:y/1\ny/1 <- m:m/2\n", .request = "x/1",
	  .nodes = "m(m/1,m/2)=missing; y(y/1)=missing; x(x/1)=missing",
	  .edges = "0>1 0>2 1>2", .calls = "x x/1; m m/1; y y/1" },
	{ .name = "an extra config nobody needs is not planned", .jobs = "a=a/{d}",
	  .table = "a/1 = RAW:[{\"outputs\":[\"a/1\"]},{\"outputs\":[\"a/9\"]}]\n",
	  .request = "a/1", .nodes = "a(a/1)=missing", .edges = "", .calls = "a a/1" },
	{ .name = "an extra config needed later is not configured again",
	  .jobs = "a=a/{d} c=c/{d} t=t/{d}",
	  .table = "t/1 <- m:a/1 m:c/1\nc/1 <- m:a/9\n"
		   "a/1 = RAW:[{\"outputs\":[\"a/1\"]},{\"outputs\":[\"a/9\"]}]\n",
	  .request = "t/1",
	  .nodes = "a(a/1)=missing; a(a/9)=missing; c(c/1)=missing; t(t/1)=missing",
	  .edges = "1>2 0>3 2>3", .calls = "t t/1; a a/1; c c/1" },
	{ .name = "identical config returned again merges",
	  .jobs = "m=m/{d} x=x/{d} y=y/{d}",
	  .table = "x/1 <- m:m/1 m:y/1\nm/1,m/2 <-\ny/1 <- m:m/3\n"
		   "m/3 = RAW:[{\"outputs\":[\"m/3\"]},{\"outputs\":[\"m/1\",\"m/2\"],"
		   "\"args\":[\"-o\",\"m/1\",\"-o\",\"m/2\"]}]\n",
	  .request = "x/1",
	  .nodes = "m(m/1,m/2)=missing; m(m/3)=missing; y(y/1)=missing; x(x/1)=missing",
	  .edges = "1>2 0>3 2>3", .calls = "x x/1; m m/1; y y/1; m m/3" },
	{ .name = "cycle", .jobs = "a=cyc/a/date={d} b=cyc/b/date={d}",
	  .table = "cyc/a/date=1 <- m:cyc/b/date=1\ncyc/b/date=1 <- m:cyc/a/date=1\n",
	  .request = "cyc/a/date=1",
	  .error = "cyc/a/date=1 \u2192 cyc/b/date=1 \u2192 cyc/a/date=1" },
	{ .name = "cycle of three below the request", .jobs = "a=a/{d} b=b/{d} c=c/{d} t=t/{d}",
	  .table = "t/1 <- m:a/1\na/1 <- m:b/1\nb/1 <- m:c/1\nc/1 <- m:a/1\n",
	  .request = "t/1", .error = "dependency cycle: a/1 \u2192 b/1 \u2192 c/1 \u2192 a/1" },
	{ .name = "self cycle: refused as a config reading its own output", .jobs = "a=a/{d}",
	  .table = "a/1 <- m:a/1\n", .request = "a/1",
	  .error = "[0].inputs[0].ref: 'a/1' is also an output of this config" },
	{ .name = "cycle through live partitions (keys)", .jobs = "a=a/{d} b=b/{d}",
	  .table = "a/1 <-\nb/1 <- m:a/1\n", .live = "a/1 b/1",
	  .table2 = "a/1 <- m:b/1\nb/1 <- m:a/1\n", .request = "b/1",
	  .error = "dependency cycle: b/1 \u2192 a/1 \u2192 b/1 (jobs: 'b', 'a')" },
	{ .name = "cycle through live partitions (presence): not explored",
	  .jobs = "a=a/{d} b=b/{d}", .table = "a/1 <-\nb/1 <- m:a/1\n", .live = "a/1 b/1",
	  .table2 = "a/1 <- m:b/1\nb/1 <- m:a/1\n", .request = "b/1", .presence = 1,
	  .nodes = "", .edges = "", .pruned = "", .calls = "" },
	{ .name = "overlap: configs of two jobs claim one ref", .jobs = "a=p/{d} b={k}/2",
	  .table = "p/1 = RAW:[{\"outputs\":[\"p/1\",\"p/2\"]}]\n"
		   "q/2 = RAW:[{\"outputs\":[\"q/2\",\"p/2\"]}]\n",
	  .request = "p/1 q/2",
	  .error = "overlap: configs of job 'a' and of job 'b' both produce 'p/2'" },
	{ .name = "overlap: a later config of the same job differs",
	  .jobs = "m=m/{d} x=x/{d} y=y/{d}",
	  .table = "x/1 <- m:m/1 m:y/1\nm/1,m/2 <-\ny/1 <- m:m/3\n"
		   "m/3 = RAW:[{\"outputs\":[\"m/3\",\"m/2\"]}]\n",
	  .request = "x/1", .error = "overlap: two different configs of job 'm' produce 'm/2'" },
	{ .name = "lookup executable: called once per wave", .jobs = "lookup " DIAMOND_JOBS,
	  .table = DIAMOND, .request = "d/1",
	  .nodes = "a(a/1)=missing; b(b/1)=missing; c(c/1)=missing; d(d/1)=missing",
	  .edges = "0>1 0>2 1>3 2>3",
	  .calls = "lookup d/1; d d/1; lookup b/1 c/1; b b/1; c c/1; lookup a/1; a a/1" },
	{ .name = "lookup executable: overlap between jobs", .jobs = "lookup a=a/{d} b=b/{d}",
	  .table = "a/1 = RAW:[{\"outputs\":[\"a/1\",\"b/1\"]}]\nb/1 <-\n",
	  .request = "a/1 b/1",
	  .error = "overlap: configs of job 'a' and of job 'b' both produce 'b/1'" },
	{ .name = "missing job", .jobs = "a=a/{d}", .table = "a/1 <- m:nojob/1\n",
	  .request = "a/1", .error = "no job produces 'nojob/1'" },
	{ .name = "configure exits non-zero", .jobs = "a=a/{d}", .table = "a/1 = EXIT:3\n",
	  .request = "a/1", .error = "job 'a': configure for 'a/1' exited with status 3" },
	{ .name = "configure prints malformed JSON", .jobs = "a=a/{d}",
	  .table = "a/1 = RAW:[{\"outputs\": \n", .request = "a/1",
	  .error = "job 'a': configure for 'a/1' printed an invalid answer" },
	{ .name = "configure omits a ref", .jobs = "a=a/{d}", .table = "a/1 <-\n",
	  .request = "a/1 a/2", .error = "no config produces 'a/2'" },
	{ .name = "query input live", .jobs = "s=s/{d} d=d/{d}",
	  .table = "s/1 <-\nd/1 <- q:s/1\n", .request = "d/1", .live = "s/1",
	  .nodes = "d(d/1)=missing", .edges = "", .pruned = "s/1", .calls = "d d/1" },
	{ .name = "query input missing", .jobs = "s=s/{d} d=d/{d}",
	  .table = "s/1 <-\nd/1 <- q:s/1\n", .request = "d/1",
	  .error = "job 'd' needs 's/1' (query), which is not live" },
	{ .name = "query input failed", .jobs = "s=s/{d} d=d/{d}",
	  .table = "s/1 <-\nd/1 <- q:s/1\n", .request = "d/1", .live = "s/1",
	  .mutate = "fail s/1", .error = "job 'd' needs 's/1' (query), which is not live" },
	{ .name = "pruning after a build (keys)", .jobs = DIAMOND_JOBS, .table = DIAMOND,
	  .request = "d/1", .live = "a/1 b/1 c/1 d/1", .nodes = "", .edges = "", .pruned = "",
	  .calls = "d d/1; b b/1; c c/1; a a/1" },
	{ .name = "pruning after a build (presence): nothing configured", .jobs = DIAMOND_JOBS,
	  .table = DIAMOND, .request = "d/1", .live = "a/1 b/1 c/1 d/1", .presence = 1,
	  .nodes = "", .edges = "", .pruned = "", .calls = "" },
	{ .name = "partial build: live upstream pruned (presence)", .jobs = DIAMOND_JOBS,
	  .table = DIAMOND, .request = "d/1", .live = "a/1 b/1", .presence = 1,
	  .nodes = "c(c/1)=missing; d(d/1)=missing", .edges = "0>1", .pruned = "a/1 b/1",
	  .calls = "d d/1; c c/1" },
	{ .name = "partial build: live upstream pruned (keys)", .jobs = DIAMOND_JOBS,
	  .table = DIAMOND, .request = "d/1", .live = "a/1 b/1",
	  .nodes = "c(c/1)=missing; d(d/1)=missing", .edges = "0>1", .pruned = "a/1 b/1",
	  .calls = "d d/1; b b/1; c c/1; a a/1" },
	{ .name = "staleness after changing an exec script", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "exec b",
	  .nodes = "b(b/1)=stale: build key changed (exec 'exec-b' changed?); "
		   "c(c/1)=upstream",
	  .edges = "0>1", .pruned = "a/1" },
	{ .name = "exec change ignored by presence", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "exec b", .presence = 1,
	  .nodes = "", .edges = "", .pruned = "", .calls = "" },
	{ .name = "major version bump invalidates", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "version a 2.0.0",
	  .nodes = "a(a/1)=stale: job 'a' major version changed (1.0.0 \u2192 2.0.0); "
		   "b(b/1)=upstream; c(c/1)=upstream",
	  .edges = "0>1 1>2", .pruned = "" },
	{ .name = "minor version bump does not", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "version a 1.1.0; version b 1.0.7",
	  .nodes = "", .edges = "", .pruned = "" },
	{ .name = "early cutoff: rebuilt upstream with the same bytes", .jobs = CHAIN_JOBS,
	  .table = CHAIN, .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "same a/1",
	  .nodes = "", .edges = "", .pruned = "" },
	{ .name = "rebuilt upstream with other bytes", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "rebuild a/1",
	  /* the content hashes of a/1 before and after its rebuild */
	  .nodes = "b(b/1)=stale: input 'a/1' changed (sha256 2555f1300996\u2026 \u2192 "
		   "e458c2ebd737\u2026); c(c/1)=upstream", .edges = "0>1",
	  .pruned = "a/1" },
	{ .name = "tainted upstream: downstream planned as upstream (early cutoff)",
	  .jobs = CHAIN_JOBS, .table = CHAIN, .request = "c/1", .live = "a/1 b/1 c/1",
	  .mutate = "taint a/1",
	  .nodes = "a(a/1)=stale: tainted; b(b/1)=upstream; c(c/1)=upstream",
	  .edges = "0>1 1>2", .pruned = "" },
	{ .name = "tainted with downstream", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "taintdown a/1",
	  .nodes = "a(a/1)=stale: tainted; b(b/1)=stale: upstream tainted; "
		   "c(c/1)=stale: upstream tainted",
	  .edges = "0>1 1>2", .pruned = "" },
	{ .name = "failed partition is rebuilt", .jobs = CHAIN_JOBS, .table = CHAIN,
	  .request = "c/1", .live = "a/1 b/1 c/1", .mutate = "fail b/1",
	  .nodes = "b(b/1)=missing: last run failed; c(c/1)=upstream", .edges = "0>1",
	  .pruned = "a/1" },
	{ .name = "force (keys): requested planned, fresh upstream pruned", .jobs = CHAIN_JOBS,
	  .table = CHAIN, .request = "c/1", .live = "a/1 b/1 c/1", .force = 1,
	  .nodes = "c(c/1)=forced", .edges = "", .pruned = "b/1" },
	{ .name = "force (presence)", .jobs = CHAIN_JOBS, .table = CHAIN, .request = "c/1",
	  .live = "a/1 b/1 c/1", .force = 1, .presence = 1, .nodes = "c(c/1)=forced",
	  .edges = "", .pruned = "b/1", .calls = "c c/1" },
	{ .name = "config args and env enter the key", .jobs = "a=a/{d} b=b/{d}",
	  .table = "b/1 <- m:a/1 & GREETING=hi\na/1 <-\n", .request = "b/1",
	  .live = "a/1 b/1", .nodes = "", .edges = "", .pruned = "" },
	{ .name = "invalid requested ref", .jobs = "a=a/{d}", .table = "a/1 <-\n",
	  .request = "a//1", .error = "invalid ref 'a//1'" },
};

static void run_case(const struct case_ *c)
{
	struct fx f;
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct planner_stats stats = { 0 };
	struct strvec refs = STRVEC_INIT, live = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT;
	struct job_graph plan;
	int rc;

	fx_init(&f, c->jobs, c->table);
	split(&live, c->live, " ");
	for (size_t i = 0; i < live.nr; i++)
		fx_publish(&f, live.v[i]);
	if (c->table2)
		fx_write_table(&f, c->table2);
	if (c->mutate)
		fx_mutate(&f, c->mutate);
	fx_clear_calls(&f);

	split(&refs, c->request, " ");
	opts.freshness = c->presence ? FRESH_PRESENCE : FRESH_KEYS;
	opts.force = c->force;
	rc = planner_plan(&f.g, &f.cat, &refs, &opts, &plan, &stats, &err);
	if (c->error) {
		ck_assert_msg(rc == -1, "%s: expected error '%s'", c->name, c->error);
		ck_assert_contains(err.buf, c->error);
	} else {
		char *nodes, *edges, *pruned;

		ck_assert_msg(rc == 0, "%s: %s", c->name, err.buf);
		nodes = describe_nodes(&plan);
		edges = describe_edges(&plan);
		pruned = describe_pruned(&plan);
		ck_assert_msg(!strcmp(nodes, c->nodes), "%s: nodes\n  got:  %s\n  want: %s",
			      c->name, nodes, c->nodes);
		if (c->edges)
			ck_assert_msg(!strcmp(edges, c->edges), "%s: edges got '%s' want '%s'",
				      c->name, edges, c->edges);
		if (c->pruned)
			ck_assert_msg(!strcmp(pruned, c->pruned), "%s: pruned got '%s' want '%s'",
				      c->name, pruned, c->pruned);
		ck_assert_uint_eq(plan.outputs.nr, refs.nr - (strstr(c->name, "duplicate") ? 1 : 0));
		free(nodes);
		free(edges);
		free(pruned);
		job_graph_release(&plan);
	}
	if (c->calls) {
		char *calls = fx_calls(&f);

		ck_assert_msg(!strcmp(calls, c->calls), "%s: configure calls\n  got:  %s\n  want: %s",
			      c->name, calls, c->calls);
		free(calls);
	}
	strvec_clear(&refs);
	strvec_clear(&live);
	strbuf_release(&err);
	fx_release(&f);
}

START_TEST(test_cases)
{
	run_case(&cases[_i]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* generated graphs                                                          */

/* f/1 reads s/0 ... s/999; configure of s is called once with all 1,000. */
START_TEST(test_fan_in)
{
	struct strbuf table = STRBUF_INIT, err = STRBUF_INIT;
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct planner_stats stats = { 0 };
	struct strvec refs = STRVEC_INIT;
	struct job_graph plan;
	struct fx f;
	char *calls;

	strbuf_addstr(&table, "f/1 <-");
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&table, " m:s/%d", i);
	strbuf_addch(&table, '\n');
	for (int i = 0; i < 1000; i++)
		strbuf_addf(&table, "s/%d <-\n", i);
	fx_init(&f, "f=f/{d} s=s/{d}", table.buf);
	for (int i = 0; i < 500; i++) {
		char *ref = xstrfmt("s/%d", i * 2);

		fx_publish(&f, ref);
		free(ref);
	}
	fx_clear_calls(&f);
	strvec_push(&refs, "f/1");
	opts.freshness = FRESH_PRESENCE;
	ck_assert_msg(planner_plan(&f.g, &f.cat, &refs, &opts, &plan, &stats, &err) == 0, "%s",
		      err.buf);
	ck_assert_uint_eq(plan.nodes_nr, 501);
	ck_assert_uint_eq(plan.edges_nr, 500);
	ck_assert_uint_eq(plan.pruned_nr, 500);
	ck_assert_str_eq(plan.nodes[500].job, "f");
	ck_assert_uint_eq(plan.nodes[500].config.inputs_nr, 1000);
	for (size_t i = 0; i < plan.edges_nr; i++)
		ck_assert_uint_eq(plan.edges[i].to, 500);
	ck_assert_uint_eq(stats.configure_calls, 2);
	ck_assert_uint_eq(stats.refs_resolved, 501);
	{
		struct strbuf direct = STRBUF_INIT, tree = STRBUF_INIT;
		cJSON *j = job_graph_to_json(&plan);

		ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_JSON, NULL, &direct, &err), 0);
		json_print(j, &tree);
		strbuf_addch(&tree, '\n');
		cJSON_Delete(j);
		ck_assert_msg(!strcmp(direct.buf, tree.buf), "json differs from job_graph_to_json");
		strbuf_release(&direct);
		strbuf_release(&tree);
	}
	ck_assert_uint_eq(stats.pruned, 500);
	calls = fx_calls(&f);
	ck_assert_msg(!strncmp(calls, "f f/1; s s/1 s/3 s/5 ", 21), "%.60s", calls);
	{
		size_t words = 0;

		for (const char *s = strstr(calls, "; s "); (s = strstr(s + 1, " s/"));)
			words++;
		ck_assert_uint_eq(words, 500);
	}
	free(calls);
	job_graph_release(&plan);

	/* keys mode configures the live ones too, still in one call */
	fx_clear_calls(&f);
	opts.freshness = FRESH_KEYS;
	ck_assert_msg(planner_plan(&f.g, &f.cat, &refs, &opts, &plan, &stats, &err) == 0, "%s",
		      err.buf);
	ck_assert_uint_eq(plan.nodes_nr, 501);
	ck_assert_uint_eq(stats.configure_calls, 2);
	ck_assert_uint_eq(stats.refs_resolved, 1001);
	job_graph_release(&plan);

	strvec_clear(&refs);
	strbuf_release(&table);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

/* Refs beyond the argv budget are split over several configure calls. */
START_TEST(test_arg_budget)
{
	struct strbuf table = STRBUF_INIT, err = STRBUF_INIT;
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct planner_stats stats = { 0 };
	struct strvec refs = STRVEC_INIT;
	struct job_graph plan;
	struct fx f;

	for (int i = 0; i < 100; i++) {
		strbuf_addf(&table, "s/%d <-\n", i);
		strvec_pushf(&refs, "s/%d", i);
	}
	/* s/0's config also produces s/99: memoised, not asked again */
	strbuf_addstr(&table, "s/0,s/99 <-\n");
	fx_init(&f, "s=s/{d}", table.buf);
	opts.arg_max = 10 * (5 + sizeof(char *));
	ck_assert_msg(planner_plan(&f.g, &f.cat, &refs, &opts, &plan, &stats, &err) == 0, "%s",
		      err.buf);
	ck_assert_uint_eq(plan.nodes_nr, 99);
	ck_assert_uint_eq(stats.configure_calls, 10);
	ck_assert_uint_eq(plan.nodes[0].config.outputs.nr, 2);
	job_graph_release(&plan);
	strvec_clear(&refs);
	strbuf_release(&table);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

/* A long chain: no recursion depth limit, one configure per wave. */
START_TEST(test_long_chain)
{
	struct strbuf table = STRBUF_INIT, err = STRBUF_INIT;
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct planner_stats stats = { 0 };
	struct strvec refs = STRVEC_INIT;
	struct job_graph plan;
	struct fx f;
	const int n = 3000;

	/* the first configure answers the whole chain at once */
	strbuf_addstr(&table, "c/0 = RAW:[");
	for (int i = 0; i < n; i++) {
		strbuf_addf(&table, "%s{\"outputs\":[\"c/%d\"]", i ? "," : "", i);
		if (i + 1 < n)
			strbuf_addf(&table, ",\"inputs\":[{\"dep_type\":\"materialize\","
				    "\"ref\":\"c/%d\"}]", i + 1);
		strbuf_addch(&table, '}');
	}
	strbuf_addstr(&table, "]\n");
	fx_init(&f, "c=c/{d}", table.buf);
	strvec_push(&refs, "c/0");
	ck_assert_msg(planner_plan(&f.g, NULL, &refs, &opts, &plan, &stats, &err) == 0, "%s",
		      err.buf);
	ck_assert_uint_eq(plan.nodes_nr, (size_t)n);
	ck_assert_uint_eq(plan.edges_nr, (size_t)n - 1);
	ck_assert_str_eq(plan.nodes[0].config.outputs.v[0], "c/2999");
	ck_assert_str_eq(plan.nodes[n - 1].config.outputs.v[0], "c/0");
	ck_assert_uint_eq(stats.configure_calls, 1);
	job_graph_release(&plan);
	strvec_clear(&refs);
	strbuf_release(&table);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

/* ignore_catalog plans everything, and a query input is left to the script. */
START_TEST(test_ignore_catalog)
{
	struct strbuf err = STRBUF_INIT;
	struct planner_opts opts = PLANNER_OPTS_INIT;
	struct strvec refs = STRVEC_INIT;
	struct job_graph plan;
	struct fx f;
	char *nodes;

	fx_init(&f, "s=s/{d} d=d/{d} e=e/{d}", "s/1 <-\ne/1 <-\nd/1 <- q:s/1 m:e/1\n");
	fx_publish(&f, "s/1");
	fx_publish(&f, "e/1");
	fx_publish(&f, "d/1");
	strvec_push(&refs, "d/1");
	opts.ignore_catalog = 1;
	ck_assert_msg(planner_plan(&f.g, &f.cat, &refs, &opts, &plan, NULL, &err) == 0, "%s",
		      err.buf);
	nodes = describe_nodes(&plan);
	ck_assert_str_eq(nodes, "e(e/1)=missing; d(d/1)=missing");
	ck_assert_uint_eq(plan.pruned_nr, 1);
	ck_assert_str_eq(plan.pruned[0].ref, "s/1");
	free(nodes);
	job_graph_release(&plan);
	strvec_clear(&refs);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* renderers                                                                 */

static void sample_plan(struct job_graph *plan)
{
	struct job_config c = JOB_CONFIG_INIT;

	job_graph_init(plan);
	strvec_push(&plan->outputs, "out/q\"uote");
	strvec_push(&plan->outputs, "done/1");
	strvec_push(&c.outputs, "mid/a b");
	job_config_add_input(&c, DEP_MATERIALIZE, "live/<x>&#");
	strvec_push(&c.args, "it's \"quoted\" $HOME");
	strvec_push(&c.args, "controls \\ \b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 / <>");
	strvec_push(&c.env, "GREETING=hello world");
	job_graph_add_node(plan, "mid", &c, "missing");
	job_config_release(&c);
	strvec_push(&c.outputs, "out/q\"uote");
	job_config_add_input(&c, DEP_MATERIALIZE, "mid/a b");
	job_config_add_input(&c, DEP_QUERY, "live/<x>&#");
	job_graph_add_node(plan, "out", &c, "stale: build key changed (exec 'x' changed?)");
	job_config_release(&c);
	job_graph_add_edge(plan, 0, 1);
	job_graph_add_pruned(plan, "live/<x>&#", "src");
}

struct render_case {
	const char *format;
	const char *contains[6];
};

static const struct render_case render_cases[] = {
	{ "json", { "\"nodes\":[{\"id\":0,\"job\":\"mid\"", "\"edges\":[{\"from\":0,\"to\":1}]",
		    "\"pruned\":[{\"ref\":\"live/<x>&#\",\"job\":\"src\"}]" } },
	{ "mermaid", { "flowchart LR\n", "n0[\"mid<br/>mid/a b\"]",
		       "n1[\"out<br/>out/q#quot;uote\"]:::stale\n", "p0[(\"live/#lt;x#gt;#amp;#35;\")]:::pruned",
		       "  n0 --> n1\n", "  p0 -.-> n0\n" } },
	{ "dot", { "digraph \"planner-test\" {", "n1 [label=\"out\\nout/q\\\"uote\"",
		   "p0 [label=\"live/<x>&#\", shape=cylinder", "  n0 -> n1;\n",
		   "  p0 -> n0 [style=dashed" } },
	{ "text", { "2 jobs to run for 2 requested partitions (1 up to date, 1 live input pruned)",
		    "  [0] mid: missing\n        -> mid/a b\n",
		    "  [1] out: stale: build key changed (exec 'x' changed?) (after 0)\n",
		    "pruned (live inputs, nothing to run):\n  live/<x>&# (src)\n",
		    "up to date (requested, nothing to run):\n  done/1\n" } },
};

START_TEST(test_render)
{
	const struct render_case *rc = &render_cases[_i];
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct job_graph plan;
	struct fx f;

	fx_init(&f, "mid=mid/{d} out=out/{d}", "");
	sample_plan(&plan);
	ck_assert_int_ge(plan_format_parse(rc->format), 0);
	ck_assert_msg(plan_render(&f.g, &plan, plan_format_parse(rc->format), NULL, &out,
				  &err) == 0, "%s", err.buf);
	for (size_t i = 0; i < 6 && rc->contains[i]; i++)
		ck_assert_contains(out.buf, rc->contains[i]);
	if (!strcmp(rc->format, "json")) {
		struct job_graph back;
		struct strbuf tree = STRBUF_INIT;
		cJSON *j = job_graph_to_json(&plan);

		json_print(j, &tree);
		strbuf_addch(&tree, '\n');
		cJSON_Delete(j);
		ck_assert_str_eq(out.buf, tree.buf);
		strbuf_release(&tree);

		ck_assert_msg(job_graph_parse(&back, out.buf, out.len, &err) == 0, "%s", err.buf);
		ck_assert_uint_eq(back.nodes_nr, 2);
		ck_assert_str_eq(back.nodes[0].config.args.v[0], "it's \"quoted\" $HOME");
		job_graph_release(&back);
	}
	job_graph_release(&plan);
	strbuf_release(&out);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

START_TEST(test_render_errors)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	struct job_graph plan;
	struct fx f;

	fx_init(&f, "mid=mid/{d} out=out/{d}", "");
	sample_plan(&plan);
	ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_BASH, NULL, &out, &err), -1);
	ck_assert_contains(err.buf, "format 'bash' needs an absolute data directory");
	strbuf_reset(&err);
	ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_NINJA, "/data/a|b", &out, &err), -1);
	ck_assert_contains(err.buf, "ninja has no escape for '|'");
	strbuf_reset(&err);
	free(f.g.name);
	f.g.name = xstrdup("evil\ntouch /tmp/pwned");
	ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_BASH, "/data\nx", &out, &err), 0);
	ck_assert_ptr_null(strstr(out.buf, "\ntouch"));
	ck_assert_contains(out.buf, "'evil?touch /tmp/pwned'");
	ck_assert_contains(out.buf, "(default DATA_DIR: /data?x)");
	ck_assert_contains(out.buf, "data_dir=${1:-'/data\nx'}");
	strbuf_reset(&out);
	ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_NINJA, "/data\nx", &out, &err), -1);
	ck_assert_contains(err.buf, "cannot write a path with a newline in a ninja file");
	strbuf_reset(&err);
	free(plan.nodes[0].job);
	plan.nodes[0].job = xstrdup("gone");
	ck_assert_int_eq(plan_render(&f.g, &plan, PLAN_BASH, "/data", &out, &err), -1);
	ck_assert_contains(err.buf, "plan node 0: job 'gone' is not in the graph");
	ck_assert_int_eq(plan_format_parse("yaml"), -1);
	ck_assert_int_eq(freshness_parse("keys"), FRESH_KEYS);
	ck_assert_int_eq(freshness_parse("presence"), FRESH_PRESENCE);
	ck_assert_int_eq(freshness_parse("mtime"), -1);
	ck_assert_str_eq(freshness_name(FRESH_PRESENCE), "presence");
	job_graph_release(&plan);
	strbuf_release(&out);
	strbuf_release(&err);
	fx_release(&f);
}
END_TEST

static Suite *planner_suite(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("plan");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_cases, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_fan_in);
	tcase_add_test(tc, test_arg_budget);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_ignore_catalog);
	suite_add_tcase(s, tc);
	tc = tcase_create("render");
	tcase_add_loop_test(tc, test_render, 0, sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_test(tc, test_render_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(planner_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
